/**
 * Shared shape of the throughput suites (proxy, sidecar): start the backend
 * and the targets on the server CPUs, check each answers correctly, run the
 * matrix, and turn it into a table and one verdict line per scenario.
 */
import { POST_BYTES, checkTarget } from '../lib/check.js';
import { runMatrix, summarise } from '../lib/matrix.js';
import { ratioVerdict, throughputTable, fmt } from '../lib/report.js';
import { startBackend } from '../lib/targets.js';

export const SCENARIOS = {
  'get-100c': { name: 'get-100c', what: 'GET /, 100-byte body, 100 connections', connections: 100 },
  'get-1000c': { name: 'get-1000c', what: 'GET /, 100-byte body, 1000 connections', connections: 1000 },
  'post64k-100c': { name: 'post64k-100c', what: `POST ${POST_BYTES / 1024} KiB, answer = byte count, 100 connections`, method: 'POST', bodyBytes: POST_BYTES, connections: 100 },
  'slow-1000c': { name: 'slow-1000c', what: 'GET /?sleep=200 (backend waits 200 ms), 1000 connections', path: '/?sleep=200', connections: 1000 },
};

function withConns(scenario) {
  const conns = Number(process.env.CONNS);
  return Number.isInteger(conns) && conns > 0 ? { ...scenario, connections: conns, name: scenario.name.replace(/\d+c$/, `${conns}c`) } : scenario;
}

/**
 * `starters`: [(backend) => Promise<target>] for the targets besides direct;
 * `goals`: [{ scenario, target, min, label, base? }]; `compare`: extra ratio columns for the verdict lines;
 * `ownRoots`: more process trees whose CPU on the server CPUs is not "other load" (the load generator's, when it shares them).
 */
export async function runThroughputSuite(ctx, { suite, scenarioNames, starters, goals = [], note = '', ownRoots = [] }) {
  const { settings, dir, log } = ctx;
  const only = (process.env.SCENARIOS ?? '').split(/[\s,]+/).filter(Boolean);
  const picked = scenarioNames.filter((n) => only.length === 0 || only.includes(n)).map((n) => withConns(SCENARIOS[n]));
  // With CONNS set, get-100c and get-1000c become the same scenario: keep one.
  const scenarios = picked.filter((s, i) => picked.findIndex((o) => o.name === s.name) === i);
  const goalsNow = goals.map((g) => ({ ...g, scenario: withConns(SCENARIOS[g.scenario]).name })).filter((g) => scenarios.some((s) => s.name === g.scenario));
  const targets = [];
  const correctness = [];
  try {
    const backend = await startBackend({ cpus: settings.serverCpus, dir });
    targets.push(backend);
    for (const start of starters) {
      try {
        targets.push(await start(backend));
      } catch (err) {
        correctness.push(`${suite}: a target did not start: ${err.message}`);
      }
    }
    for (const t of targets) if (!t.skipped) t.serverRoots = [...new Set([...t.roots, ...backend.roots, ...ownRoots])];
    for (const t of targets) {
      if (t.skipped) {
        log(`${t.name}: skipped — ${t.skipped}`);
        continue;
      }
      const problems = await checkTarget(t);
      if (problems.length > 0) {
        for (const p of problems) correctness.push(`${t.name}: ${p}`);
        t.skipped = `correctness check failed: ${problems.join('; ')}`;
        log(`${t.name}: NOT measured — ${t.skipped}`);
      } else log(`${t.name}: correctness check passed (GET body is the backend's, POST ${POST_BYTES} B counted, ?sleep honoured)`);
    }
    if (targets[0].skipped) throw new Error('the backend itself failed its correctness check');
    const runs = await runMatrix({ scenarios, targets, settings, log });
    const rows = summarise(runs);
    const verdicts = goalsNow.map((g) => ratioVerdict(rows, g));
    const lines = [...verdicts.map((v) => v.line), ...infoLines(rows, scenarios, targets, goalsNow)];
    const skipped = targets.filter((t) => t.skipped).map((t) => `- ${t.name} not measured: ${t.skipped}`);
    const markdown = [
      `## Suite \`${suite}\``,
      '',
      note,
      '',
      ...scenarios.map((s) => `- \`${s.name}\`: ${s.what}`),
      '',
      throughputTable(rows),
      '',
      'Verdicts:',
      '',
      ...lines.map((l) => `- ${l}`),
      ...(skipped.length ? ['', ...skipped] : []),
      ...(correctness.length ? ['', '**Correctness failures:**', ...correctness.map((c) => `- ${c}`)] : []),
      '',
    ].join('\n');
    return { suite, markdown, lines, verdicts, correctness, data: { scenarios, rows, runs, verdicts, correctness, skipped: targets.filter((t) => t.skipped).map((t) => ({ name: t.name, reason: t.skipped })) } };
  } finally {
    for (const t of targets.reverse()) if (t.stop) await t.stop();
  }
}

/** A line per scenario and proxied target without a goal: ratios, and RSS under load. */
function infoLines(rows, scenarios, targets, goals) {
  const lines = [];
  for (const s of scenarios) {
    for (const t of targets) {
      if (t.name === 'direct' || t.skipped || goals.some((g) => g.scenario === s.name && g.target === t.name)) continue;
      const row = rows.find((r) => r.scenario === s.name && r.target === t.name && r.tool === 'wrk') ?? rows.find((r) => r.scenario === s.name && r.target === t.name);
      if (!row) continue;
      const others = targets
        .filter((o) => o.name !== t.name && o.name !== 'direct' && !o.skipped)
        .map((o) => rows.find((r) => r.scenario === s.name && r.target === o.name && r.tool === row.tool))
        .filter(Boolean)
        .map((o) => `${fmt(row.reqPerSec / o.reqPerSec, 2)} × ${o.target}`);
      lines.push(`${s.name}: ${t.name} ${fmt(row.reqPerSec)} req/s = ${fmt(row.ratioDirect, 2)} × direct${others.length ? ', ' + others.join(', ') : ''} (${row.tool}); RSS peak ${fmt(row.rssPeakMiB, 1)} MiB`);
    }
  }
  return lines;
}
