#!/usr/bin/env node
/**
 * Where `tidegate serve`'s resident memory goes: one serve on a static
 * revision (bench/backend.js), read from /proc/PID/status (VmRSS, VmHWM,
 * RssAnon = heap and malloc, RssFile = the node binary's and libraries'
 * pages) and its own /metrics (V8's heap spaces), at each phase:
 *   start     2 s after the first proxied answer
 *   settled   once V8's memory reducer has shrunk the young generation start-up grew
 *             (new space ≤ 2 MiB; polled each second, at most 60 s; the phase names the wait)
 *   idle-N    N keep-alive connections, one answered request each, held open
 *   inflight-N  N connections, each with one request the backend holds (?sleep=), no CPU load
 *   load-N    after `wrk -cN -dLOADs` (VmHWM is the peak), when LOAD is set and wrk is installed
 * Also the bench backend alone (node + uWS + a 100-byte answer) as the floor.
 * Usage: `npm run build && ulimit -n 4096 && CONNS=1000 LOAD=5 node bench/memory.js`.
 * One load at a time, short: the machine may be shared.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from './lib/http.js';
import { installCleanup, stopAll } from './lib/procs.js';
import { BENCH_HOST } from './lib/configs.js';
import { startBackend, startTidegate } from './lib/targets.js';
import { hasWrk } from './lib/wrk.js';

const CONNS = Number(process.env.CONNS ?? 1000);
const LOAD = Number(process.env.LOAD ?? 0);
const HOLD_MS = 6000;
const MiB = 2 ** 20;

function proc(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
}

async function heap(adminPort) {
  const text = (await request({ port: adminPort, path: '/metrics' })).body;
  const v = (re) => Number(re.exec(text)?.[1] ?? NaN) / MiB;
  return {
    heapTotal: v(/^nodejs_heap_size_total_bytes (\S+)/m),
    newSpace: v(/^nodejs_heap_space_size_total_bytes\{space="new"\} (\S+)/m),
    oldUsed: v(/^nodejs_heap_space_size_used_bytes\{space="old"\} (\S+)/m),
  };
}

/** A connection that sent `GET path`; resolves once connected, or once answered when `answered`. */
function connect(port, urlPath, answered) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', reject);
    socket.once('connect', () => {
      socket.write(`GET ${urlPath} HTTP/1.1\r\nHost: ${BENCH_HOST}\r\n\r\n`);
      if (!answered) resolve(socket);
    });
    if (answered) socket.once('data', () => resolve(socket));
  });
}

async function open(port, n, urlPath, answered) {
  const sockets = [];
  for (let i = 0; i < n; i += 100) sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => connect(port, urlPath, answered)))));
  return sockets;
}

const rows = [];
const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
function row(target, phase, p, h) {
  rows.push(`| ${target} | ${phase} | ${f(p.rss)} | ${f(p.hwm)} | ${f(p.anon)} | ${f(p.file)} | ${f(h?.heapTotal)} | ${f(h?.newSpace)} | ${f(h?.oldUsed)} |`);
}

async function main() {
  installCleanup();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-memory-'));
  const backend = await startBackend({ dir });
  await sleep(2000);
  row('backend', 'start', proc(backend.roots[0]));
  const tg = await startTidegate({ dir, endpoints: [`127.0.0.1:${backend.port}`] });
  const pid = tg.roots[0];
  const at = async (phase) => row('tidegate', phase, proc(pid), await heap(tg.adminPort));
  await sleep(2000);
  await at('start');
  for (let waited = 1; ; waited++) {
    await sleep(1000);
    const h = await heap(tg.adminPort);
    if (h.newSpace <= 2 || waited >= 60) {
      row('tidegate', `settled (+${waited} s)`, proc(pid), h);
      break;
    }
  }
  let sockets = await open(tg.port, CONNS, '/', true);
  await sleep(1000);
  await at(`idle-${CONNS}`);
  for (const s of sockets) s.destroy();
  sockets = await open(tg.port, CONNS, `/?sleep=${HOLD_MS}`, false);
  await sleep(HOLD_MS / 2);
  await at(`inflight-${CONNS}`);
  await sleep(HOLD_MS);
  for (const s of sockets) s.destroy();
  if (LOAD > 0 && hasWrk()) {
    execFileSync('wrk', ['-t1', `-c${CONNS}`, `-d${LOAD}s`, '-H', `Host: ${BENCH_HOST}`, `http://127.0.0.1:${tg.port}/`], { stdio: 'ignore' });
    await at(`load-${CONNS} (${LOAD} s)`);
  }
  await tg.stop();
  await backend.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`node ${process.version}, ${os.cpus().length} CPUs; MiB\n`);
  console.log('| target | phase | VmRSS | VmHWM | RssAnon | RssFile | V8 heap | new space | old used |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
}

main().then(
  () => stopAll(),
  async (err) => {
    console.error(err);
    await stopAll();
    process.exitCode = 1;
  },
);
