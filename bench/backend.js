#!/usr/bin/env node
/**
 * The benchmark's backend: GET answers a fixed 100-byte body (after
 * `?sleep=MS` milliseconds when asked), POST/PUT consume the body and answer
 * its byte count. uWebSockets.js by default (the same server the anchors
 * measure "direct" with), or node:http with `--flavour node` / BACKEND=node.
 * The uWS flavour also accepts WebSockets on any path and echoes every
 * message as it came (the `websocket` suite's backend).
 *
 * Usage: node bench/backend.js [--port 0] [--flavour uws|node]
 * Prints `listening PORT` on stdout once it accepts connections.
 */
import { createRequire } from 'node:module';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { BODY, sleepMs } from './lib/backend-body.js';

if (Buffer.byteLength(BODY) !== 100) throw new Error(`BODY is ${Buffer.byteLength(BODY)} bytes, want 100`);

const { values } = parseArgs({
  options: { port: { type: 'string' }, flavour: { type: 'string' }, host: { type: 'string' } },
});
const port = Number(values.port ?? process.env.PORT ?? 0);
const host = values.host ?? '127.0.0.1';
const flavour = values.flavour ?? process.env.BACKEND ?? 'uws';

function loadUws() {
  const require = createRequire(import.meta.url);
  const uws = require('@trufflesuite/uws-js-unofficial');
  // The package silently falls back to a pure-JS server when its native
  // binary fails to load; benchmarking that by accident would be worthless.
  if (typeof uws.App !== 'function' || !/\[native code\]/.test(Function.prototype.toString.call(uws.App))) {
    throw new Error('uWebSockets.js native binary did not load (pure-JS fallback); refusing to run');
  }
  return uws;
}

function startUws() {
  const uws = loadUws();
  const app = uws.App();
  // Registered before the HTTP routes: uWS passes a GET without a WebSocket key on to them.
  app.ws('/*', {
    compression: uws.DISABLED,
    // As large as any message the websocket suite sends through a proxy, and no idle cut-off of its own.
    maxPayloadLength: 16 * 1024 * 1024,
    maxBackpressure: 16 * 1024 * 1024,
    idleTimeout: 0,
    message: (ws, message, isBinary) => ws.send(message, isBinary),
  });
  app.get('/*', (res, req) => {
    const ms = sleepMs(req.getQuery());
    if (ms === 0) {
      res.cork(() => res.writeHeader('content-type', 'text/plain').end(BODY));
      return;
    }
    let aborted = false;
    res.onAborted(() => (aborted = true));
    setTimeout(() => {
      if (!aborted) res.cork(() => res.writeHeader('content-type', 'text/plain').end(BODY));
    }, ms);
  });
  app.any('/*', (res) => {
    let bytes = 0;
    let aborted = false;
    res.onAborted(() => (aborted = true));
    res.onData((chunk, isLast) => {
      bytes += chunk.byteLength;
      if (isLast && !aborted) res.cork(() => res.writeHeader('content-type', 'text/plain').end(String(bytes)));
    });
  });
  app.listen(host, port, (socket) => {
    if (!socket) {
      process.stderr.write(`backend: cannot listen on ${host}:${port}\n`);
      process.exit(1);
    }
    process.stdout.write(`listening ${uws.us_socket_local_port(socket)}\n`);
  });
}

function startNode() {
  const server = http.createServer((req, res) => {
    const q = req.url.indexOf('?');
    if (req.method === 'GET' || req.method === 'HEAD') {
      const send = () => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 100 }).end(BODY);
      const ms = q < 0 ? 0 : sleepMs(req.url.slice(q + 1));
      if (ms === 0) send();
      else setTimeout(send, ms);
      req.resume();
      return;
    }
    let bytes = 0;
    req.on('data', (chunk) => (bytes += chunk.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(String(bytes)));
  });
  // Longer than any client's idle timeout, so the proxy's pooled connections are not cut under it.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.listen(port, host, () => process.stdout.write(`listening ${server.address().port}\n`));
}

if (flavour === 'uws') startUws();
else if (flavour === 'node') startNode();
else {
  process.stderr.write(`backend: unknown flavour '${flavour}' (uws or node)\n`);
  process.exit(2);
}
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
