/**
 * Runs the WebSocket load client (ws-load.js) as its own process, pinned to
 * the load generator's CPUs as wrk is, and reads what it prints: `onOpen`
 * when every socket is open (measuring starts), `onDone` when measuring ends
 * with the sockets still open, and the figures of its WS_JSON line.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinned } from './procs.js';

const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ws-load.js');

/** The figures of a ws-load.js run's output; null when its WS_JSON line is missing. */
export function parseWsLoadOutput(stdout) {
  const line = stdout.split('\n').find((l) => l.startsWith('WS_JSON '));
  return line ? JSON.parse(line.slice('WS_JSON '.length)) : null;
}

/**
 * `load`: { url, host, sockets, mode: 'steady' | 'echo', durationSec, bytes, cpus }.
 * Rejects when the client fails, or hangs well past its duration.
 */
export function runWsLoad(load, { onOpen, onDone } = {}) {
  const args = [CLIENT, '--url', load.url, '--sockets', String(load.sockets), '--mode', load.mode, '--duration', String(load.durationSec)];
  if (load.host) args.push('--host', load.host);
  if (load.bytes) args.push('--bytes', String(load.bytes));
  const p = pinned(load.cpus, process.execPath, args);
  return new Promise((resolve, reject) => {
    const child = spawn(p.cmd, p.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let seen = 0;
    child.stdout.on('data', (c) => {
      out += c;
      // Each marker is acted on once, as soon as its line is complete.
      if (seen < 1 && out.includes('WS_OPEN\n')) {
        seen = 1;
        onOpen?.();
      }
      if (seen < 2 && out.includes('WS_DONE\n')) {
        seen = 2;
        onDone?.();
      }
    });
    child.stderr.on('data', (c) => (err += c));
    // Opening 1000 sockets, draining and closing take seconds of their own.
    const killer = setTimeout(() => child.kill('SIGKILL'), (load.durationSec + 60) * 1000);
    child.once('error', (e) => {
      clearTimeout(killer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      const parsed = parseWsLoadOutput(out);
      if (code !== 0 || !parsed) reject(new Error(`ws-load failed (${code ?? signal}): ${err.trim() || out.trim()}`));
      else resolve(parsed);
    });
  });
}
