#!/usr/bin/env node
/**
 * What the uWS.js calls an edge makes per request cost, each called N times
 * inside one request handler (so the call, not the request, is timed):
 * `res.getRemoteAddress()` (the client address for X-Forwarded-For; uWS.js
 * v20.30 answers it with a getpeername system call every time, as it keeps
 * no per-connection copy), its text form, `res.getProxiedRemoteAddress()`
 * (read from the connection's PROXY header: no system call) and
 * `req.getHeader()`. Prints ns per call; run it pinned like the edge
 * (`taskset -c 1 node bench/uws-calls.js`), as system calls cost what the
 * machine makes them cost.
 */
import { createRequire } from 'node:module';
import http from 'node:http';

const N = Number(process.argv[2] ?? 200_000);
const uws = createRequire(import.meta.url)('@trufflesuite/uws-js-unofficial');

function nsPerCall(fn) {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) sink += fn();
  const ns = Number(process.hrtime.bigint() - t0) / N;
  if (sink < 0) throw new Error('unreachable');
  return ns;
}

const app = uws.App().any('/*', (res, req) => {
  const rows = [
    ['res.getRemoteAddress()', () => new Uint8Array(res.getRemoteAddress()).length],
    ['res.getRemoteAddressAsText()', () => res.getRemoteAddressAsText().byteLength],
    ['res.getProxiedRemoteAddress()', () => res.getProxiedRemoteAddress().byteLength],
    ["req.getHeader('host')", () => req.getHeader('host').length],
  ];
  for (const [name, fn] of rows) console.log(`${name.padEnd(32)} ${nsPerCall(fn).toFixed(0).padStart(6)} ns per call (${N} calls)`);
  res.end('ok');
});

app.listen('127.0.0.1', 0, (token) => {
  if (!token) throw new Error('listen failed');
  http.get({ port: uws.us_socket_local_port(token), path: '/' }, (r) => {
    r.resume();
    r.on('end', () => process.exit(0));
  });
});
