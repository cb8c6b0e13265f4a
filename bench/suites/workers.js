/**
 * Suite `workers`: `tidegate serve --workers 1|2` beside nginx with
 * `worker_processes 1|2`, small GETs, in one run. Goals (issue 13):
 * tidegate ≥ 0.9 × nginx at the same number of loops, and 2 loops ≥ 1.6 × 1
 * loop when the machine has the cores for it. Every server process may use
 * the same CPUs (workers-layout.js), so a second loop has somewhere to run.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoopSpread } from '../lib/loop-spread.js';
import { measure } from '../lib/proc-stats.js';
import { fmt, markdownTable } from '../lib/report.js';
import { median } from '../lib/stats.js';
import { startNginx, startTidegate } from '../lib/targets.js';
import { workersLayout } from '../lib/workers-layout.js';
import { runThroughputSuite } from './throughput.js';

const SCENARIO_NAMES = ['get-100c', 'get-1000c'];
/** The measured servers besides direct: kind and event loops (processes serving the port). */
const SERVERS = [
  { name: 'tidegate-1', kind: 'tidegate', loops: 1 },
  { name: 'tidegate-2', kind: 'tidegate', loops: 2 },
  { name: 'nginx-1', kind: 'nginx', loops: 1 },
  { name: 'nginx-2', kind: 'nginx', loops: 2 },
];
/** At or above this share of a 2-loop server's connections in one process, they did not spread. */
const LOPSIDED = 0.9;

export async function run(ctx) {
  const { settings, dir, log } = ctx;
  const layout = workersLayout({
    pinned: settings.layout === 'pinned',
    loadCpus: settings.loadCpus,
    serverCpusAsked: process.env.SERVER_CPUS,
    cpuCount: os.cpus().length,
  });
  log(`layout of this suite: ${layout.text}`);
  const cpus = layout.serverCpus;
  const starters = SERVERS.map((s) => (backend) => (s.kind === 'tidegate' ? startTidegateLoops(s, cpus, dir, backend) : startNginxWorkers(s, cpus, dir, backend)));
  const out = await runThroughputSuite(
    { ...ctx, settings: { ...settings, serverCpus: cpus } },
    {
      suite: 'workers',
      note: [
        'Targets: `direct` (the uWS backend), `tidegate-1` / `tidegate-2` (`tidegate serve --workers 1|2`, one static revision at the backend: 1 or 2 processes on one data port with SO_REUSEPORT), `nginx-1` / `nginx-2` (`worker_processes 1|2`, upstream keepalive, one shared listening socket).',
        `CPUs: ${layout.text}. All targets get the same CPUs, so 1 and 2 loops compare at the same CPU budget.`,
        'RSS and CPU µs/req are summed over each target\'s whole process tree (tidegate-2: the main process and its second loop; nginx: the master and its workers), the backend not included.',
        layout.shared ? '"other load on server cpu": the share of those CPUs used by processes this bench did not start (the load generator runs there too and is not counted as other load).' : '',
      ]
        .filter(Boolean)
        .join('\n'),
      scenarioNames: SCENARIO_NAMES,
      starters,
      goals: goalsFor(layout),
      // Sharing CPUs with the load generator: its CPU (and this harness's, autocannon's) is ours, not the machine's noise.
      ownRoots: layout.shared && cpus !== undefined ? [process.pid] : [],
    },
  );
  const rows = loopRows(out.data.rows, out.data.runs, out.data.scenarios);
  const spread = spreadLines(rows);
  return {
    ...out,
    layout: layout.text,
    lines: [...out.lines, ...spread],
    markdown: [out.markdown, '### Side by side', '', loopsNote(), '', loopsTable(rows), '', ...spread.map((l) => `- ${l}`), ''].join('\n'),
    data: { ...out.data, layout, loops: rows },
  };
}

function goalsFor(layout) {
  // Fair once the backend and each loop can have a CPU of their own, away from the load generator.
  const tight = layout.shared || layout.serverCpuCount < 3;
  const scaling = tight
    ? `target ≥ 1.6 × tidegate-1 — not a fair test on this layout: the 2 loops, the backend and the load generator share ${layout.serverCpuCount} CPUs (docs/benchmarks.md, "Several event loops")`
    : 'target ≥ 1.6 × tidegate-1';
  // With CONNS set both scenarios become one (get-<CONNS>c): one set of goals for it.
  const conns = Number(process.env.CONNS);
  const scenarios = Number.isInteger(conns) && conns > 0 ? SCENARIO_NAMES.slice(0, 1) : SCENARIO_NAMES;
  return scenarios.flatMap((scenario) => [
    { scenario, target: 'tidegate-1', base: 'nginx-1', min: 0.9, label: 'target ≥ 0.9 × nginx-1' },
    { scenario, target: 'tidegate-2', base: 'nginx-2', min: 0.9, label: 'target ≥ 0.9 × nginx-2' },
    { scenario, target: 'tidegate-2', base: 'tidegate-1', min: 1.6, label: scaling },
  ]);
}

/** Lets the measuring loop watch how the target's processes share connections and CPU. */
function watched(target) {
  if (!target.skipped) target.watch = () => new LoopSpread(target.roots, target.port);
  return target;
}

async function startTidegateLoops(server, cpus, dir, backend) {
  const t = await startTidegate({ cpus, dir, endpoints: [`127.0.0.1:${backend.port}`], name: server.name, args: ['--workers', String(server.loops)] });
  // The other loops listen shortly after the main one answers: measure only once every loop is a process.
  for (let waited = 0; measure(t.roots).pids < server.loops; waited += 100) {
    if (waited >= 10_000) {
      await t.stop();
      throw new Error(`${server.name}: ${measure(t.roots).pids} process(es) after 10 s, expected ${server.loops}`);
    }
    await sleep(100);
  }
  return watched(t);
}

async function startNginxWorkers(server, cpus, dir, backend) {
  return watched(await startNginx({ cpus, dir, backendPort: backend.port, connections: 1024, workers: server.loops, name: server.name }));
}

/** The run whose req/s is the median of its (scenario, target, tool): its process spread stands for the row. */
function medianRun(runs) {
  const m = median(runs.map((r) => r.reqPerSec));
  return runs.reduce((best, r) => (Math.abs(r.reqPerSec - m) < Math.abs(best.reqPerSec - m) ? r : best));
}

/** The summarised rows in table order, with the two ratios and each target's process spread. */
function loopRows(rows, runs, scenarios) {
  const find = (scenario, target, tool) => rows.find((r) => r.scenario === scenario && r.target === target && r.tool === tool);
  const out = [];
  for (const { name: scenario } of scenarios) {
    for (const tool of [...new Set(rows.filter((r) => r.scenario === scenario).map((r) => r.tool))]) {
      for (const target of ['direct', ...SERVERS.map((s) => s.name)]) {
        const row = find(scenario, target, tool);
        if (!row) continue;
        const server = SERVERS.find((s) => s.name === target);
        const ratio = (other) => (other ? row.reqPerSec / other.reqPerSec : NaN);
        const mine = runs.filter((r) => !r.failed && r.scenario === scenario && r.target === target && r.tool === tool);
        out.push({
          ...row,
          loops: server?.loops,
          vsNginx: server ? ratio(find(scenario, `nginx-${server.loops}`, tool)) : NaN,
          vsOneLoop: server ? ratio(find(scenario, `${server.kind}-1`, tool)) : NaN,
          processes: mine.length ? (medianRun(mine).watched ?? []) : [],
        });
      }
    }
  }
  return out;
}

function loopsNote() {
  return [
    '`× nginx`: ÷ nginx with as many workers (tidegate-1 ÷ nginx-1, tidegate-2 ÷ nginx-2); `× 1 loop`: ÷ the same server with one (tidegate-2 ÷ tidegate-1, nginx-2 ÷ nginx-1).',
    'Per process, in pid order (tidegate\'s main process first, nginx\'s master first): the client connections it held on the data port while the load ran, and its share of the target\'s CPU time; from the run with the median req/s.',
  ].join(' ');
}

function loopsTable(rows) {
  const header = ['scenario', 'tool', 'target', 'req/s', '× nginx', '× 1 loop', 'p50 ms', 'p99 ms', 'CPU µs/req', 'RSS peak MiB', 'processes', 'connections per process', 'CPU % per process'];
  return markdownTable(
    header,
    rows.map((r) => [
      r.scenario,
      r.tool,
      r.target,
      fmt(r.reqPerSec),
      fmt(r.vsNginx, 2),
      fmt(r.vsOneLoop, 2),
      fmt(r.p50Ms, 2),
      fmt(r.p99Ms, 2),
      fmt(r.cpuUsPerReq, 1),
      fmt(r.rssPeakMiB, 1),
      r.processes.length ? String(r.processes.length) : '–',
      r.processes.length ? r.processes.map((p) => p.conns).join(' · ') : '–',
      r.processes.length ? r.processes.map((p) => fmt(p.cpuShare * 100, 0)).join(' · ') : '–',
    ]),
    3,
  );
}

/** For each 2-loop server: whether the client connections reached both loops. */
function spreadLines(rows) {
  const lines = [];
  for (const r of rows) {
    if (r.loops !== 2 || r.processes.length === 0) continue;
    const serving = r.processes.filter((p) => p.conns > 0);
    const total = serving.reduce((n, p) => n + p.conns, 0);
    const top = Math.max(0, ...serving.map((p) => p.conns));
    const verdict = total === 0 ? 'no connections seen' : top / total >= LOPSIDED ? `NOT spread: one process held ${fmt((top / total) * 100, 0)} %` : 'spread over both loops';
    lines.push(`${r.scenario}: ${r.target} (${r.tool}) connections ${serving.map((p) => p.conns).join(' / ') || 0} over ${serving.length} of ${r.processes.length} processes, CPU ${r.processes.map((p) => `${fmt(p.cpuShare * 100, 0)} %`).join(' / ')}: ${verdict}`);
  }
  return lines;
}
