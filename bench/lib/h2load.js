/**
 * Runs h2load (nghttp2-client, when installed) pinned to the load
 * generator's CPU, for a fixed duration, and reads its summary: requests,
 * status classes, DATA bytes (so a caller can check every 2xx carried a
 * whole body), per-request latency (h2load gives min / max / mean / sd, no
 * percentiles) and the TLS version and cipher it negotiated.
 */
import { spawn, spawnSync } from 'node:child_process';
import { pinned } from './procs.js';

export const H2LOAD = '/usr/bin/h2load';

let found;
export function hasH2load() {
  found ??= spawnSync(H2LOAD, ['--version'], { encoding: 'utf8' }).status === 0;
  return found;
}

/** h2load's durations: "1.22ms", "225us", "3.01s" → ms. */
function ms(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : n * 1000;
}

/** Parses h2load's output; null when its summary is missing. Exported for tests. */
export function parseH2loadOutput(stdout) {
  const finished = /finished in ([\d.]+(?:us|ms|s)), ([\d.]+) req\/s/.exec(stdout);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  const traffic = /traffic: .*?\((\d+)\) total, .*?\((\d+)\) headers .*?, .*?\((\d+)\) data/.exec(stdout);
  const latency = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/.exec(stdout);
  if (!finished || !req || !codes || !traffic || !latency) return null;
  const seconds = ms(finished[1]) / 1000;
  const [, , , done, succeeded, failed, errored, timeouts] = req.map(Number);
  const [, c2, c3, c4, c5] = codes.map(Number);
  return {
    tool: 'h2load',
    requests: done,
    succeeded,
    reqPerSec: Number(finished[2]),
    seconds,
    // Responses by status class: with -D, h2load counts those that finish after the clock stops here too.
    status2xx: c2,
    non2xx: c3 + c4 + c5,
    errors: failed + errored + timeouts,
    dataBytes: Number(traffic[3]),
    headerBytes: Number(traffic[2]),
    minMs: ms(latency[1]),
    maxMs: ms(latency[2]),
    meanMs: ms(latency[3]),
    sdMs: ms(latency[4]),
    tlsProtocol: /TLS Protocol: (\S+)/.exec(stdout)?.[1] ?? null,
    cipher: /Cipher: (\S+)/.exec(stdout)?.[1] ?? null,
    alpn: /Application protocol: (\S+)/.exec(stdout)?.[1] ?? null,
  };
}

/**
 * `load`: { url, authority?, headers?: string[], dataFile?, clients, streams, durationSec, cpus }.
 * One thread: the load generator has one CPU. Rejects when h2load fails,
 * prints no summary, or hangs past duration + 20 s.
 */
export function runH2load(load) {
  const args = ['-t1', `-c${load.clients}`, `-m${load.streams}`, `-D${load.durationSec}`];
  if (load.authority) args.push('-H', `:authority: ${load.authority}`);
  for (const h of load.headers ?? []) args.push('-H', h);
  if (load.dataFile) args.push('-d', load.dataFile);
  args.push(load.url);
  const p = pinned(load.cpus, H2LOAD, args);
  return new Promise((resolve, reject) => {
    const child = spawn(p.cmd, p.args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
      const parsed = parseH2loadOutput(out);
      if (code !== 0 || !parsed) reject(new Error(`h2load failed (${code ?? signal}): ${(err.trim() || out.trim()).slice(-400)}`));
      else resolve(parsed);
    });
  });
}
