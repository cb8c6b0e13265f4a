import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startStaticEdge, type TestEdge } from '../support/serve.js';

let app: Upstream;
let edge: TestEdge;
const MiB = 1024 * 1024;

beforeAll(async () => {
  app = await startUpstream('app');
  edge = await startStaticEdge(app.address);
});

afterAll(async () => {
  await edge?.close();
  await app?.close();
});

/** Streams `total` pseudo-random bytes up through the edge; returns the sent hash and the reply. */
function upload(total: number, chunked: boolean, firstSeed = 1): Promise<{ sent: string; reply: { bytes: number; sha256: string } }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const headers: Record<string, string> = { host: 'app.example.com' };
    if (!chunked) headers['content-length'] = String(total);
    const req = http.request({ port: edge.port, host: '127.0.0.1', method: 'POST', path: '/', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ sent: hash.digest('hex'), reply: JSON.parse(body) as { bytes: number; sha256: string } }));
    });
    req.on('error', reject);
    let sent = 0;
    let seed = firstSeed;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(256 * 1024, total - sent);
        const block = Buffer.allocUnsafe(n);
        for (let i = 0; i < n; i += 4) block.writeUInt32LE((seed = (seed * 1103515245 + 12345) >>> 0), Math.min(i, n - 4));
        hash.update(block);
        sent += n;
        if (!req.write(block)) return req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('streaming bodies', () => {
  it('uploads 64 MiB with Content-Length, hash intact', async () => {
    const { sent, reply } = await upload(64 * MiB, false);
    expect(reply.bytes).toBe(64 * MiB);
    expect(reply.sha256).toBe(sent);
  });

  it('uploads 64 MiB chunked, hash intact', async () => {
    const { sent, reply } = await upload(64 * MiB, true);
    expect(reply.bytes).toBe(64 * MiB);
    expect(reply.sha256).toBe(sent);
  });

  it('uploads four different bodies at once, each intact (request-body buffers are reused between requests)', async () => {
    const results = await Promise.all([upload(16 * MiB, false, 7), upload(16 * MiB, true, 8), upload(12 * MiB, false, 9), upload(20 * MiB, true, 10)]);
    for (const { sent, reply } of results) expect(reply.sha256).toBe(sent);
    expect(new Set(results.map((r) => r.sent)).size).toBe(4);
  });

  it('downloads 64 MiB with hash intact, reading slowly, without buffering it', async () => {
    const expected = createHash('sha256');
    const block = Buffer.alloc(64 * 1024, 7);
    for (let i = 0; i < 1024; i++) expected.update(block);
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const got = await new Promise<{ hash: string; bytes: number }>((resolve, reject) => {
      http
        .get({ port: edge.port, host: '127.0.0.1', path: `/?bytes=${64 * MiB}`, headers: { host: 'app.example.com' } }, (res) => {
          const h = createHash('sha256');
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            h.update(c);
            bytes += c.length;
            // A slow reader: pause now and then so backpressure must reach the upstream.
            if (bytes % (8 * MiB) < c.length) {
              res.pause();
              peak = Math.max(peak, process.memoryUsage().rss);
              setTimeout(() => res.resume(), 20);
            }
          });
          res.on('end', () => resolve({ hash: h.digest('hex'), bytes }));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    expect(got.bytes).toBe(64 * MiB);
    expect(got.hash).toBe(expected.digest('hex'));
    // Client, edge and upstream share this process: a buffered body would add ≥ 64 MiB.
    expect(peak - rssBefore).toBeLessThan(48 * MiB);
  });
});
