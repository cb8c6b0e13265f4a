import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkTarget } from '../../bench/lib/check.js';
import { BODY } from '../../bench/lib/backend-body.js';

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise((r) => server?.close(r));
  server = undefined;
});

/** A stand-in target whose behaviour each test bends. */
async function serve(handler: http.RequestListener): Promise<number> {
  server = http.createServer(handler);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function countBody(req: http.IncomingMessage, done: (n: number) => void): void {
  let n = 0;
  req.on('data', (c: Buffer) => (n += c.length));
  req.on('end', () => done(n));
}

describe('correctness check before measuring', () => {
  it('passes a target that behaves like the backend', async () => {
    const port = await serve((req, res) => {
      const sleep = /sleep=(\d+)/.exec(req.url ?? '');
      if (req.method === 'POST') return countBody(req, (n) => res.end(String(n)));
      setTimeout(() => res.end(BODY), sleep ? Number(sleep[1]) : 0);
    });
    expect(await checkTarget({ port })).toEqual([]);
  });

  it('fails a fast target that answers its own body, ignores the sleep and drops the POST body', async () => {
    const port = await serve((req, res) => {
      req.resume();
      res.end(req.method === 'POST' ? '0' : 'hello from the proxy itself');
    });
    const problems = await checkTarget({ port });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^GET \/: body .* is not the backend's/);
    expect(problems[1]).toMatch(/^POST 65536 bytes: backend saw 0 bytes/);
  });

  it('fails a target that answers errors', async () => {
    const port = await serve((req, res) => {
      req.resume();
      res.writeHead(502, { 'x-tidegate-error': 'upstream-reset' }).end('bad gateway');
    });
    const problems = await checkTarget({ port });
    expect(problems[0]).toMatch(/status 502, want 200 \(upstream-reset/);
  });
});
