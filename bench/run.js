#!/usr/bin/env node
/**
 * tidegate's benchmark: `node bench/run.js [proxy|sidecar|warm|cold|burst|access-log|websocket|workers|tls ...]`
 * (default: proxy sidecar). Needs `npm run build` first (`npm run bench`
 * does both). Settings from the environment:
 *   DURATION (s, default 10; websocket 30) · REPS (default 1) · WARMUP (s, default 2)
 *   CONNS (override every scenario's connection count) · TOOLS ("wrk autocannon")
 *   LAYOUT (pinned | shared; default pinned) · LOADGEN_CPUS (0) · SERVER_CPUS (1)
 *   COLD_STARTS (default 20) · BURST_REQUESTS (default 10000)
 *   SCENARIOS (e.g. "get-100c slow-1000c": only these) · RESULTS_DIR (default bench/results)
 *   BASELINE (another build's dist/, measured beside) · NODE_ARGS (node flags for this build's serve only)
 * Prints each table and verdict, writes bench/results/<stamp>-<suite>.{md,json}.
 * Exit 1 when a correctness check failed; a missed performance target is
 * reported as FAIL but does not change the exit code.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasTaskset, installCleanup, stopAll } from './lib/procs.js';
import { hasWrk } from './lib/wrk.js';
import { writeResults } from './lib/report.js';
import { NGINX, ROOT } from './lib/targets.js';

const SUITES = {
  proxy: () => import('./suites/proxy.js'),
  sidecar: () => import('./suites/sidecar.js'),
  cold: () => import('./suites/cold.js'),
  burst: () => import('./suites/burst.js'),
  warm: () => import('./suites/warm.js'),
  'access-log': () => import('./suites/access-log.js'),
  websocket: () => import('./suites/websocket.js'),
  workers: () => import('./suites/workers.js'),
  tls: () => import('./suites/tls.js'),
};

function settingsFromEnv() {
  const num = (name, dflt) => {
    const v = Number(process.env[name] ?? dflt);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${name}=${process.env[name]} is not a number ≥ 0`);
    return v;
  };
  const wantPinned = (process.env.LAYOUT ?? 'pinned') === 'pinned';
  const pinned = wantPinned && hasTaskset() && os.availableParallelism() >= 2;
  return {
    layout: pinned ? 'pinned' : 'shared',
    loadCpus: pinned ? (process.env.LOADGEN_CPUS ?? '0') : undefined,
    serverCpus: pinned ? (process.env.SERVER_CPUS ?? '1') : undefined,
    durationSec: num('DURATION', 10),
    reps: Math.max(1, Math.round(num('REPS', 1))),
    warmupSec: num('WARMUP', 2),
    coldStarts: Math.max(1, Math.round(num('COLD_STARTS', 20))),
    burstRequests: Math.max(1, Math.round(num('BURST_REQUESTS', 10_000))),
    /** Another build of tidegate (a folder holding its cli.js) measured beside this one. */
    baseline: process.env.BASELINE ? path.resolve(process.env.BASELINE) : undefined,
  };
}

/** First line a command prints, on stdout or stderr (wrk --version exits 1; nginx -v writes to stderr). */
function versionOf(cmd, args) {
  const out = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${out.stdout ?? ''}\n${out.stderr ?? ''}`.split('\n').map((l) => l.trim()).find(Boolean) ?? 'unknown';
}

function machine(settings) {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return {
    commit,
    node: process.version,
    cpus: `${os.cpus().length} × ${cpu}`,
    kernel: os.release(),
    wrk: hasWrk() ? versionOf('wrk', ['--version']).replace(/ \[.*$/, '') : 'not installed',
    nginx: fs.existsSync(NGINX) ? versionOf(NGINX, ['-v']) : 'not installed',
    layout:
      settings.layout === 'pinned'
        ? `pinned: load generator (and this harness) on cpu ${settings.loadCpus}, proxy + backend on cpu ${settings.serverCpus}`
        : 'shared: no pinning, the scheduler places everything',
  };
}

async function main() {
  const asked = process.argv.slice(2);
  const names = asked.length ? asked : ['proxy', 'sidecar'];
  for (const n of names) if (!SUITES[n]) throw new Error(`unknown suite '${n}' (${Object.keys(SUITES).join(', ')})`);
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` (or `npm run bench`)');
  installCleanup();
  const settings = settingsFromEnv();
  // autocannon runs inside this process: keep it (all its threads) on the load generator's CPU.
  if (settings.loadCpus !== undefined) execFileSync('taskset', ['-a', '-p', '-c', settings.loadCpus, String(process.pid)], { stdio: 'ignore' });
  const info = machine(settings);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-bench-'));
  const log = (line) => process.stdout.write(`${line}\n`);
  log(`tidegate bench ${names.join(' ')} — ${info.layout}; DURATION=${settings.durationSec}s REPS=${settings.reps}; logs in ${dir}`);
  // A suite that places its processes otherwise (workers) returns its own `layout` line.
  const header = (s, layout = info.layout) => [
    `Commit ${info.commit}, ${stamp} UTC. ${info.cpus}, kernel ${info.kernel}, node ${info.node}, ${info.wrk}, ${info.nginx}.`,
    `Load average when it started: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (the column "other load on server cpu" is the share of the server CPU used by processes not under test during each run: the machine's noise).`,
    `Layout ${layout}. ${s.durationSec} s per run, ${s.reps} rep(s) (medians), ${s.warmupSec} s warm-up per target.`,
    'Latency percentiles: wrk from its own µs histogram (wrk-report.lua); autocannon from our hdr-histogram-js of each response time in µs.',
    '',
  ].join('\n');
  let failedCorrectness = false;
  const allLines = [];
  for (const name of names) {
    log(`\n== suite ${name} ==`);
    const suite = await SUITES[name]();
    // A suite may have its own duration for when DURATION is not set (websocket: 30 s).
    const suiteSettings = process.env.DURATION === undefined && suite.DEFAULT_DURATION_SEC ? { ...settings, durationSec: suite.DEFAULT_DURATION_SEC } : settings;
    if (suiteSettings !== settings) log(`${suiteSettings.durationSec} s per run (this suite's default)`);
    const out = await suite.run({ settings: suiteSettings, dir, log });
    const markdown = `# tidegate bench — ${name}\n\n${header(suiteSettings, out.layout)}\n${out.markdown}`;
    const files = writeResults(process.env.RESULTS_DIR ?? path.join(ROOT, 'bench', 'results'), stamp, name, markdown, { suite: name, stamp, machine: info, settings: suiteSettings, ...out.data });
    log(`\n${out.markdown}`);
    log(`written: ${files.map((f) => path.relative(ROOT, f)).join(', ')}`);
    if (out.correctness.length) failedCorrectness = true;
    allLines.push(...out.lines.map((l) => `${name} ${l}`));
  }
  log('\n== summary ==');
  for (const l of allLines) log(l);
  if (failedCorrectness) log('CORRECTNESS FAILURES: see above; exit 1');
  return failedCorrectness ? 1 : 0;
}

main().then(
  async (code) => {
    await stopAll();
    process.exit(code);
  },
  async (err) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    await stopAll();
    process.exit(1);
  },
);
