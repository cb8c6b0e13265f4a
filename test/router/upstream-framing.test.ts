import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { request } from 'undici';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';

// Pods that frame their responses awkwardly: heads, chunk-size lines and
// CRLFs split across many small writes, and bodies that end when the pod
// closes the connection. Two such pods answer at once, so their bytes reach
// tidegate interleaved: every upstream socket reads into one shared buffer,
// and whatever tidegate keeps across reads must be its own copy.

const PIECE_MS = 2;

/** A raw TCP pod that answers each request with `response(fill)`, written in `piece`-byte writes. */
async function rawPod(fill: number, piece: number, response: (body: Buffer) => Buffer[]): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let seen = '';
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (!seen.includes('\r\n\r\n')) return;
      seen = '';
      const size = fill >= 5 ? 16 * 1024 * 1024 : 200_000 + fill * 1000;
      const bytes = Buffer.concat(response(Buffer.alloc(size, fill)));
      let at = 0;
      const next = () => {
        if (socket.destroyed) return;
        if (at >= bytes.length) return;
        const n = at < 400 ? 7 : piece; // the head and first chunk line dribble in
        socket.write(bytes.subarray(at, at + n));
        at += n;
        if (at >= bytes.length && bytes.toString('latin1', 0, 64).includes('x-close')) socket.end();
        else setTimeout(next, PIECE_MS);
      };
      next();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Chunked, in chunks of odd sizes. */
const chunked = (body: Buffer): Buffer[] => {
  const out: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n')];
  for (let at = 0; at < body.length; at += 12_345) {
    const part = body.subarray(at, at + 12_345);
    out.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n'));
  }
  out.push(Buffer.from('0\r\nx-trailer: dropped\r\n\r\n'));
  return out;
};

/** Content-Length, in large pieces (the client side is the slow one). */
const withLength = (body: Buffer): Buffer[] => [Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`), body];

/** No length at all: the body ends when the pod closes the connection. */
const untilClose = (body: Buffer): Buffer[] => [Buffer.from('HTTP/1.1 200 OK\r\nx-close: yes\r\nconnection: close\r\n\r\n'), body];

let pods: Awaited<ReturnType<typeof rawPod>>[];
let edge: TestEdge;

beforeAll(async () => {
  pods = await Promise.all([rawPod(1, 1500, chunked), rawPod(2, 1100, chunked), rawPod(3, 1300, untilClose), rawPod(4, 900, untilClose), rawPod(5, 256 * 1024, withLength), rawPod(6, 256 * 1024, withLength)]);
  const service = (name: string, address: string) => `  - name: ${name}\n    revisions:\n      - name: ${name}-1\n        endpoints: ["${address}"]\n    traffic: [{ revisionName: ${name}-1, percent: 100 }]\n`;
  edge = await startEdge(`domain: example.com\nservices:\n${pods.map((p, i) => service(`pod${i + 1}`, p.address)).join('')}`);
  await waitFor(() => [1, 2, 3, 4, 5, 6].every((i) => edge.edge.revision(`pod${i}-1`)?.readyPods === 1), 5000, 'static pods');
});

afterAll(async () => {
  await edge?.close();
  await Promise.all(pods.map((p) => p.close()));
});

async function fetchBody(i: number): Promise<{ status: number; sha: string; length: number; trailer: unknown }> {
  const res = await request(`http://127.0.0.1:${edge.port}/`, { headers: { host: `pod${i}.example.com` } });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, sha: createHash('sha256').update(body).digest('hex'), length: body.length, trailer: res.headers['x-trailer'] };
}

/** Reads the response slowly (a pause after every chunk), so tidegate must hold what the client cannot take yet. */
function fetchSlowly(i: number): Promise<{ status: number; sha: string; length: number; trailer: unknown }> {
  return new Promise((resolve, reject) => {
    http
      .get({ port: edge.port, host: '127.0.0.1', path: '/', headers: { host: `pod${i}.example.com` } }, (res) => {
        const hash = createHash('sha256');
        let length = 0;
        res.on('data', (c: Buffer) => {
          hash.update(c);
          length += c.length;
          res.pause();
          setTimeout(() => res.resume(), 2);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, sha: hash.digest('hex'), length, trailer: res.headers['x-trailer'] }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const expected = (fill: number) => {
  const body = Buffer.alloc(fill >= 5 ? 16 * 1024 * 1024 : 200_000 + fill * 1000, fill);
  return { status: 200, sha: createHash('sha256').update(body).digest('hex'), length: body.length, trailer: undefined };
};

describe('awkwardly framed responses from pods answering at the same time', () => {
  it('arrive intact: split heads and chunk lines, chunked and until-close bodies, interleaved', async () => {
    const results = await Promise.all([1, 2, 3, 4, 1, 3].map((i) => fetchBody(i)));
    expect(results).toEqual([1, 2, 3, 4, 1, 3].map((i) => expected(i)));
  });

  it('arrive intact when a slow client makes tidegate hold part of a response while other pods keep sending', async () => {
    const results = await Promise.all([fetchSlowly(5), fetchBody(6), fetchBody(6), fetchSlowly(6), fetchBody(5)]);
    expect(results).toEqual([5, 6, 6, 6, 5].map((i) => expected(i)));
  });
});
