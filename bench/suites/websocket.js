/**
 * Suite `websocket`: WebSockets to the backend's echo route, direct, through
 * tidegate (a static revision at the backend) and through nginx (when
 * installed). The load client is bench/lib/ws-load.js, its own process on
 * the load generator's CPU. Each target must first echo exactly
 * (ws-check.js); a lost, corrupted or cut message under load is a
 * correctness failure too, since a relay that drops messages must not
 * produce a number.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ForeignLoad, Sampler, measure } from '../lib/proc-stats.js';
import { fmt, markdownTable } from '../lib/report.js';
import { median } from '../lib/stats.js';
import { startBackend, startNginx, startTidegate } from '../lib/targets.js';
import { WS_PATH, WS_CHECK_BIG_BYTES, checkWsEcho } from '../lib/ws-check.js';
import { runWsLoad } from '../lib/ws-load-run.js';

const MSG_BYTES = 32;
/** Without DURATION, run.js gives this suite 30 s runs: 1000 sockets take a second or two to open alone. */
export const DEFAULT_DURATION_SEC = 30;

const SCENARIOS = {
  'ws-steady-1000': { name: 'ws-steady-1000', mode: 'steady', sockets: 1000, what: (n) => `${n} WebSockets, each sending one ${MSG_BYTES}-byte binary message a second (spread over the second), echoed: the cost of holding many quiet sockets` },
  'ws-echo-100': { name: 'ws-echo-100', mode: 'echo', sockets: 100, what: (n) => `${n} WebSockets, each with one ${MSG_BYTES}-byte message in flight, the next sent when its echo arrives: relay throughput` },
};

/** CONNS=N sets every scenario's socket count (ws-echo-100 → ws-echo-N). */
function withSockets(scenario) {
  const n = Number(process.env.CONNS);
  return Number.isInteger(n) && n > 0 ? { ...scenario, sockets: n, name: scenario.name.replace(/\d+$/, String(n)) } : scenario;
}

function loadFor(target, scenario, settings, durationSec) {
  return { url: `ws://127.0.0.1:${target.port}${WS_PATH}`, host: target.host, sockets: scenario.sockets, mode: scenario.mode, durationSec, bytes: MSG_BYTES, cpus: settings.loadCpus };
}

/** One measured run, with the target's RSS once every socket is open and its CPU while messages flow. */
async function measureOnce(target, scenario, settings) {
  const sampler = new Sampler(target.roots);
  const foreign = settings.serverCpus !== undefined ? new ForeignLoad(settings.serverCpus, target.serverRoots) : null;
  let atOpen = null;
  let atDone = null;
  let result;
  let usage;
  try {
    result = await runWsLoad(loadFor(target, scenario, settings, settings.durationSec), {
      onOpen: () => (atOpen = measure(target.roots)),
      onDone: () => (atDone = measure(target.roots)),
    });
  } finally {
    usage = sampler.stop();
  }
  const cpuSeconds = atOpen && atDone ? atDone.cpuSeconds - atOpen.cpuSeconds : NaN;
  return {
    ...result,
    rssIdleBytes: usage.rssStartBytes,
    rssOpenBytes: atOpen?.rssBytes ?? NaN,
    rssPeakBytes: usage.rssPeakBytes,
    cpuUsPerMsg: result.messages > 0 ? (cpuSeconds * 1e6) / result.messages : NaN,
    foreignPct: foreign ? foreign.stop() : NaN,
  };
}

/** What went wrong in a run, or null: every message sent must come back, every socket open and close cleanly. */
function runProblem(r) {
  if (r.errors === 0) return null;
  const parts = ['connectErrors', 'socketErrors', 'unexpectedCloses', 'badEchoes', 'lost', 'closeProblems'].filter((k) => r[k] > 0).map((k) => `${k} ${r[k]}`);
  return `${r.errors} errors (${parts.join(', ')}; first: ${r.firstError})`;
}

/** Every scenario × rep × target, targets rotated per rep, each after a warm-up of the same load. */
async function runAll({ scenarios, targets, settings, log, correctness }) {
  const runs = [];
  const live = targets.filter((t) => !t.skipped);
  for (const scenario of scenarios) {
    for (let rep = 0; rep < settings.reps; rep++) {
      for (const target of live.map((_, i) => live[(i + rep) % live.length])) {
        if (settings.warmupSec > 0) await runWsLoad(loadFor(target, scenario, settings, settings.warmupSec)).catch(() => undefined);
        await sleep(500);
        try {
          const r = await measureOnce(target, scenario, settings);
          runs.push({ scenario: scenario.name, target: target.name, rep, ...r });
          const problem = runProblem(r);
          if (problem) correctness.push(`${scenario.name} ${target.name} rep ${rep + 1}: ${problem}`);
          log(
            `  ${scenario.name} ${target.name} rep ${rep + 1}: ${fmt(r.msgPerSec)} msg/s, RTT p50 ${fmt(r.p50Ms, 2)} ms, p99 ${fmt(r.p99Ms, 2)} ms, errors ${r.errors}, RSS open ${fmt(r.rssOpenBytes / 2 ** 20, 1)} MiB, client cpu ${fmt(r.clientCpuPct, 0)} %, other load on server cpu ${fmt(r.foreignPct, 0)} %`,
          );
        } catch (err) {
          runs.push({ scenario: scenario.name, target: target.name, rep, failed: err.message });
          correctness.push(`${scenario.name} ${target.name} rep ${rep + 1}: ${err.message}`);
          log(`  ${scenario.name} ${target.name} rep ${rep + 1}: FAILED ${err.message}`);
        }
      }
    }
  }
  return runs;
}

/**
 * Medians over reps per (scenario, target); errors summed, maxima the
 * largest; ratios to direct's msg/s. Memory per socket is (RSS all open −
 * the target's RSS when fresh) ÷ sockets, for steady scenarios only: the
 * heap a run grew stays with the process, so a later scenario would be
 * charged for an earlier one's sockets.
 */
function summarise(runs, targets, scenarios) {
  const groups = new Map();
  for (const r of runs) {
    if (r.failed) continue;
    const key = `${r.scenario}\u0000${r.target}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows = [...groups.values()].map((list) => {
    const m = (f) => median(list.map(f));
    const rssFreshMiB = targets.find((t) => t.name === list[0].target).rssFreshBytes / 2 ** 20;
    const rssOpenMiB = m((r) => r.rssOpenBytes) / 2 ** 20;
    const sockets = list[0].opened;
    const steady = scenarios.find((s) => s.name === list[0].scenario).mode === 'steady';
    return {
      scenario: list[0].scenario,
      target: list[0].target,
      reps: list.length,
      sockets,
      msgPerSec: m((r) => r.msgPerSec),
      p50Ms: m((r) => r.p50Ms ?? NaN),
      p99Ms: m((r) => r.p99Ms ?? NaN),
      maxMs: Math.max(...list.map((r) => r.maxMs ?? NaN)),
      errors: list.reduce((n, r) => n + r.errors, 0),
      rssFreshMiB,
      rssOpenMiB,
      rssPeakMiB: Math.max(...list.map((r) => r.rssPeakBytes)) / 2 ** 20,
      kibPerSocket: steady && sockets > 0 ? ((rssOpenMiB - rssFreshMiB) * 1024) / sockets : NaN,
      cpuUsPerMsg: m((r) => r.cpuUsPerMsg),
      clientCpuPct: m((r) => r.clientCpuPct),
      foreignPct: m((r) => r.foreignPct),
      allMsgPerSec: list.map((r) => r.msgPerSec),
    };
  });
  for (const row of rows) {
    const direct = rows.find((r) => r.scenario === row.scenario && r.target === 'direct');
    row.ratioDirect = direct ? row.msgPerSec / direct.msgPerSec : NaN;
    row.p99RatioDirect = direct ? row.p99Ms / direct.p99Ms : NaN;
  }
  return rows;
}

function table(rows) {
  const header = ['scenario', 'target', 'msg/s', '× direct', 'RTT p50 ms', 'RTT p99 ms', 'max ms', 'errors', 'RSS fresh → all open → peak MiB', 'KiB per socket', 'CPU µs/msg', 'client cpu %', 'other load on server cpu %'];
  return markdownTable(
    header,
    rows.map((r) => [
      r.scenario,
      r.target,
      fmt(r.msgPerSec),
      fmt(r.ratioDirect, 2),
      fmt(r.p50Ms, 2),
      fmt(r.p99Ms, 2),
      fmt(r.maxMs, 1),
      String(r.errors),
      `${fmt(r.rssFreshMiB, 1)} → ${fmt(r.rssOpenMiB, 1)} → ${fmt(r.rssPeakMiB, 1)}`,
      fmt(r.kibPerSocket, 1),
      fmt(r.cpuUsPerMsg, 1),
      fmt(r.clientCpuPct, 0),
      fmt(r.foreignPct, 0),
    ]),
    2,
  );
}

/** A line per scenario and proxy: its ratio to direct, its latencies beside direct's, its memory per socket. */
function lines(rows, scenarios) {
  const out = [];
  for (const s of scenarios) {
    const direct = rows.find((r) => r.scenario === s.name && r.target === 'direct');
    for (const row of rows.filter((r) => r.scenario === s.name && r.target !== 'direct')) {
      const vsDirect = direct ? ` (direct ${fmt(direct.p50Ms, 2)} / ${fmt(direct.p99Ms, 2)} ms)` : '';
      out.push(
        `${s.name}: ${row.target} ${fmt(row.msgPerSec)} msg/s = ${fmt(row.ratioDirect, 2)} × direct; RTT p50 / p99 ${fmt(row.p50Ms, 2)} / ${fmt(row.p99Ms, 2)} ms${vsDirect}; RSS with ${row.sockets} sockets open ${fmt(row.rssOpenMiB, 1)} MiB${Number.isFinite(row.kibPerSocket) ? ` (${fmt(row.kibPerSocket, 1)} KiB per socket)` : ''}; ${row.errors} errors`,
      );
    }
  }
  return out;
}

export async function run({ settings, dir, log }) {
  const only = (process.env.SCENARIOS ?? '').split(/[\s,]+/).filter(Boolean);
  const scenarios = Object.values(SCENARIOS)
    .filter((s) => only.length === 0 || only.includes(s.name))
    .map(withSockets);
  const correctness = [];
  const targets = [];
  try {
    const backend = await startBackend({ cpus: settings.serverCpus, dir });
    targets.push(backend);
    const starters = [
      () => startTidegate({ cpus: settings.serverCpus, dir, endpoints: [`127.0.0.1:${backend.port}`] }),
      () => startNginx({ cpus: settings.serverCpus, dir, backendPort: backend.port, connections: 1024 }),
    ];
    for (const start of starters) {
      try {
        targets.push(await start());
      } catch (err) {
        correctness.push(`websocket: a target did not start: ${err.message}`);
      }
    }
    for (const t of targets) {
      if (t.skipped) {
        log(`${t.name}: skipped — ${t.skipped}`);
        continue;
      }
      t.serverRoots = [...new Set([...t.roots, ...backend.roots])];
      const problems = await checkWsEcho(t);
      if (problems.length === 0) {
        t.rssFreshBytes = measure(t.roots).rssBytes;
        log(`${t.name}: correctness check passed (text, binary and ${WS_CHECK_BIG_BYTES / 1024} KiB messages echoed exactly, close 1000 answered)`);
        continue;
      }
      for (const p of problems) correctness.push(`${t.name}: ${p}`);
      t.skipped = `correctness check failed: ${problems.join('; ')}`;
      log(`${t.name}: NOT measured — ${t.skipped}`);
    }
    if (backend.skipped) throw new Error('the backend itself failed the WebSocket correctness check');
    const runs = await runAll({ scenarios, targets, settings, log, correctness });
    const rows = summarise(runs, targets, scenarios);
    const verdictLines = lines(rows, scenarios);
    const skipped = targets.filter((t) => t.skipped).map((t) => ({ name: t.name, reason: t.skipped }));
    const markdown = [
      '## Suite `websocket`',
      '',
      'Targets: `direct` (the uWS backend, echoing on any path), `tidegate` (`tidegate serve`, one static revision at the backend, Host bench.example.com), `nginx` (1 worker, `location /ws` with `Upgrade`/`Connection: upgrade`) when installed. Load: bench/lib/ws-load.js (the `ws` package), its own process on the load generator CPU; RTT in µs into an hdr histogram, every echo checked. msg/s counts the messages sent in the measured seconds that came back. RSS "fresh" is the target\'s after its correctness check, before any load; "all open" is read once every socket is open; "KiB per socket" is (all open − fresh) ÷ sockets, for the steady scenario only (a process keeps the heap an earlier scenario grew). CPU µs/msg is the target\'s CPU time (not the backend\'s, for a proxy) while messages flow, per message. "client cpu" near 100 % means the load client, not the target, set the pace.',
      '',
      ...scenarios.map((s) => `- \`${s.name}\`: ${s.what(s.sockets)}`),
      '',
      table(rows),
      '',
      ...verdictLines.map((l) => `- ${l}`),
      ...(skipped.length ? ['', ...skipped.map((s) => `- ${s.name} not measured: ${s.reason}`)] : []),
      ...(correctness.length ? ['', '**Correctness failures:**', ...correctness.map((c) => `- ${c}`)] : []),
      '',
    ].join('\n');
    const data = { scenarios: scenarios.map(({ what, ...s }) => ({ ...s, what: what(s.sockets) })), rows, runs, correctness, skipped };
    return { suite: 'websocket', markdown, lines: verdictLines, verdicts: [], correctness, data };
  } finally {
    for (const t of targets.reverse()) if (t.stop) await t.stop();
  }
}
