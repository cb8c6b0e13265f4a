/**
 * The measurement loop shared by the throughput suites: for each scenario,
 * each repetition and each target (the order rotated per repetition so no
 * target always runs first), a warm-up, then each tool in turn, with the
 * target's process tree sampled for RSS and CPU during the run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runAutocannon } from './autocannon.js';
import { hasWrk, runWrk } from './wrk.js';
import { ForeignLoad, Sampler } from './proc-stats.js';
import { median } from './stats.js';

export function tools() {
  const asked = (process.env.TOOLS ?? 'wrk autocannon').split(/[\s,]+/).filter(Boolean);
  return asked.filter((t) => t !== 'wrk' || hasWrk());
}

function loadFor(target, scenario, settings, durationSec) {
  return {
    url: `http://127.0.0.1:${target.port}`,
    host: target.host,
    method: scenario.method ?? 'GET',
    path: scenario.path ?? '/',
    bodyBytes: scenario.bodyBytes ?? 0,
    connections: scenario.connections,
    durationSec,
    cpus: settings.loadCpus,
  };
}

async function runTool(tool, load) {
  return tool === 'wrk' ? runWrk(load) : runAutocannon(load);
}

/**
 * One measured run of `tool` against `target`, with the target's resource
 * use; a target's optional `watch()` starts one more observer whose stop()
 * result is kept as the run's `watched`.
 */
export async function measureOnce(tool, target, scenario, settings) {
  const sampler = new Sampler(target.roots);
  const watcher = target.watch?.();
  // Everything under test on the server CPUs (proxy and backend); the rest of their use is someone else's.
  const foreign = settings.serverCpus !== undefined ? new ForeignLoad(settings.serverCpus, target.serverRoots ?? target.roots) : null;
  let result;
  try {
    result = await runTool(tool, loadFor(target, scenario, settings, settings.durationSec));
  } catch (err) {
    sampler.stop();
    watcher?.stop();
    throw err;
  }
  const usage = sampler.stop();
  const watched = watcher?.stop();
  const foreignPct = foreign ? foreign.stop() : NaN;
  return { ...result, ...usage, foreignPct, cpuUsPerReq: result.requests > 0 ? (usage.cpuSeconds * 1e6) / result.requests : NaN, ...(watched ? { watched } : {}) };
}

/**
 * Runs every scenario × rep × target × tool; returns raw runs
 * [{ scenario, target, tool, rep, ...result }]. `log` gets a line per run.
 */
export async function runMatrix({ scenarios, targets, settings, log }) {
  const runs = [];
  const live = targets.filter((t) => !t.skipped);
  const toolList = tools();
  for (const scenario of scenarios) {
    for (let rep = 0; rep < settings.reps; rep++) {
      const order = live.map((_, i) => live[(i + rep) % live.length]);
      for (const target of order) {
        if (settings.warmupSec > 0) {
          await runTool(toolList[0], loadFor(target, scenario, settings, settings.warmupSec)).catch(() => undefined);
        }
        const toolOrder = rep % 2 === 0 ? toolList : [...toolList].reverse();
        for (const tool of toolOrder) {
          await sleep(500);
          try {
            const r = await measureOnce(tool, target, scenario, settings);
            runs.push({ scenario: scenario.name, target: target.name, tool, rep, ...r });
            log(
              `  ${scenario.name} ${target.name} ${tool} rep ${rep + 1}: ${Math.round(r.reqPerSec)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, errors ${r.errors}, non-2xx ${r.non2xx}, other load on server cpu ${Number.isFinite(r.foreignPct) ? r.foreignPct.toFixed(0) + ' %' : '–'}`,
            );
          } catch (err) {
            runs.push({ scenario: scenario.name, target: target.name, tool, rep, failed: err.message });
            log(`  ${scenario.name} ${target.name} ${tool} rep ${rep + 1}: FAILED ${err.message}`);
          }
        }
      }
    }
  }
  return runs;
}

/** Medians over reps per (scenario, target, tool), with ratios to `direct` and `nginx` measured by the same tool. */
export function summarise(runs) {
  const groups = new Map();
  for (const r of runs) {
    if (r.failed) continue;
    const key = `${r.scenario}\u0000${r.target}\u0000${r.tool}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const rows = [];
  for (const list of groups.values()) {
    const m = (f) => median(list.map(f));
    const first = list[0];
    rows.push({
      scenario: first.scenario,
      target: first.target,
      tool: first.tool,
      reps: list.length,
      reqPerSec: m((r) => r.reqPerSec),
      p50Ms: m((r) => r.p50Ms),
      p99Ms: m((r) => r.p99Ms),
      errors: list.reduce((n, r) => n + r.errors, 0),
      non2xx: list.reduce((n, r) => n + r.non2xx, 0),
      rssStartMiB: m((r) => r.rssStartBytes) / 2 ** 20,
      rssPeakMiB: Math.max(...list.map((r) => r.rssPeakBytes)) / 2 ** 20,
      cpuUsPerReq: m((r) => r.cpuUsPerReq),
      foreignPct: m((r) => r.foreignPct),
      allReqPerSec: list.map((r) => r.reqPerSec),
    });
  }
  const find = (s, t, tool) => rows.find((r) => r.scenario === s && r.target === t && r.tool === tool);
  for (const row of rows) {
    const direct = find(row.scenario, 'direct', row.tool);
    const nginx = find(row.scenario, 'nginx', row.tool);
    row.ratioDirect = direct ? row.reqPerSec / direct.reqPerSec : NaN;
    row.ratioNginx = nginx ? row.reqPerSec / nginx.reqPerSec : NaN;
  }
  return rows;
}
