/**
 * Runs wrk (when installed) pinned to the load generator's CPU and reads
 * the JSON line that wrk-report.lua prints: requests, errors, and exact
 * microsecond percentiles from wrk's own latency histogram.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinned } from './procs.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'wrk-report.lua');

let found;
export function hasWrk() {
  found ??= spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
  return found;
}

/** Parses wrk's output; null when the report line is missing. Exported for tests. */
export function parseWrkOutput(stdout) {
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) return null;
  const r = JSON.parse(line.slice('BENCH_JSON '.length));
  const seconds = r.durationUs / 1e6;
  const socketErrors = r.connectErrors + r.readErrors + r.writeErrors + r.timeouts;
  return {
    tool: 'wrk',
    requests: r.requests,
    reqPerSec: seconds > 0 ? r.requests / seconds : 0,
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
    maxMs: r.maxUs / 1000,
    errors: socketErrors,
    non2xx: r.statusErrors,
    seconds,
  };
}

/**
 * `load`: { url, host, method, path, bodyBytes, connections, durationSec, cpus }.
 * Resolves with the parsed result; rejects if wrk fails or hangs past duration + 20 s.
 */
export function runWrk(load) {
  const url = new URL(load.url);
  const args = ['-t1', `-c${load.connections}`, `-d${load.durationSec}s`, '--timeout', '5s', '-s', SCRIPT, `${url.protocol}//${url.host}`];
  const p = pinned(load.cpus, 'wrk', args);
  const env = {
    ...process.env,
    BENCH_METHOD: load.method ?? 'GET',
    BENCH_PATH: load.path ?? '/',
    BENCH_HOST: load.host ?? '',
    BENCH_BODY_BYTES: String(load.bodyBytes ?? 0),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(p.cmd, p.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const killer = setTimeout(() => child.kill('SIGKILL'), (load.durationSec + 20) * 1000);
    child.once('error', (e) => {
      clearTimeout(killer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      const parsed = parseWrkOutput(out);
      if (code !== 0 || !parsed) reject(new Error(`wrk failed (${code ?? signal}): ${err.trim() || out.trim()}`));
      else resolve(parsed);
    });
  });
}
