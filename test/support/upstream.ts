import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Upstream {
  port: number;
  address: string;
  /** Requests seen, with their headers. */
  seen: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  /** Highest number of requests in flight at once. */
  maxConcurrent: number;
  /** Requests whose connection went away before the app answered. */
  aborted: number;
  close(): Promise<void>;
}

/**
 * A real HTTP app on port 0: answers `name` on GET, echoes POST bodies'
 * length and sha256, and honours ?sleep=MS, ?status=CODE, ?bytes=N (a body
 * of N bytes, streamed).
 */
export async function startUpstream(name: string, handler?: http.RequestListener): Promise<Upstream> {
  let current = 0;
  const up: Upstream = { port: 0, address: '', seen: [], maxConcurrent: 0, aborted: 0, close: () => Promise.resolve() };
  const server = http.createServer((req, res) => {
    current++;
    up.maxConcurrent = Math.max(up.maxConcurrent, current);
    res.on('close', () => {
      current--;
      if (!res.writableFinished) up.aborted++;
    });
    req.on('error', () => undefined); // a client (the edge) that resets mid-body is a case under test
    up.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (handler) return handler(req, res);
    void defaultHandler(name, req, res);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  up.port = (server.address() as AddressInfo).port;
  up.address = `127.0.0.1:${up.port}`;
  up.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return up;
}

async function defaultHandler(name: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const sleep = Number(url.searchParams.get('sleep') ?? 0);
  const status = Number(url.searchParams.get('status') ?? 200);
  const bytes = url.searchParams.get('bytes');
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  let length = 0;
  try {
    for await (const chunk of req) {
      hash.update(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
  } catch {
    return; // the request was aborted mid-body
  }
  if (sleep > 0) await new Promise((r) => setTimeout(r, sleep));
  if (bytes !== null) {
    const total = Number(bytes);
    res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    const block = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(block.length, total - sent);
        sent += n;
        if (!res.write(n === block.length ? block : block.subarray(0, n))) return res.once('drain', pump);
      }
      res.end();
    };
    pump();
    return;
  }
  const body = req.method === 'GET' || req.method === 'HEAD' ? `${name}\n` : JSON.stringify({ name, bytes: length, sha256: hash.digest('hex') });
  res.writeHead(status, { 'content-type': 'text/plain', 'x-upstream': name });
  res.end(body);
}

/** A TCP server that resets (RST) each of its first `resets` connections at their first request (all of them by default). */
export async function startResetter(resets = Infinity): Promise<{ port: number; address: string; accepted: number; close(): Promise<void> }> {
  const state = { port: 0, address: '', accepted: 0, close: () => Promise.resolve() };
  const server = net.createServer((socket) => {
    const n = ++state.accepted;
    // After `resets` connections, it answers every request with 200 "ok".
    if (n > resets) socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    else socket.once('data', () => socket.resetAndDestroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as AddressInfo).port;
  state.address = `127.0.0.1:${state.port}`;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  return state;
}

/** A port with nothing listening on it. */
export { freePort as deadPort } from './ports.js';
