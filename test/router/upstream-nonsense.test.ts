import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../support/serve.js';
import { freePort } from '../support/ports.js';
import { runCli, type CliRun } from '../support/cli.js';

// A pod that answers with exact nonsense bytes, tidegate in the middle, and a
// raw client that checks what it gets: a 502 upstream-protocol, or a client
// connection cut (never a clean end) once the response has begun. After each,
// a plain request must be served on a pod connection other than the one the
// nonsense came on: the pool was not poisoned. Both upstream socket paths
// (raw handle and net.Socket) run the same cases in real tidegate processes.

const FILLER = Array.from({ length: 1000 }, (_, i) => `X-Fill-${String(i).padStart(4, '0')}: ${'v'.repeat(88)}\r\n`).join('');

/** What the pod sends for each path; `then` is what it does afterwards. */
const ANSWERS: Record<string, { bytes: string; then?: 'reset' | 'fin' | 'switched' }> = {
  '/ok': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' },
  '/101': { bytes: 'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: nonsense\r\n\r\n', then: 'switched' },
  '/100-then-ok': { bytes: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal' },
  '/reset-until-close': { bytes: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npartial body', then: 'reset' },
  '/fin-until-close': { bytes: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nwhole body', then: 'fin' },
  '/short-length': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this', then: 'fin' },
  '/short-chunked': { bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', then: 'fin' },
  '/reset-chunked': { bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', then: 'reset' },
  '/extra': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled' },
  '/cl-te': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' },
  '/two-cl': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok' },
  '/te-gzip': { bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n' },
  '/nul-value': { bytes: 'HTTP/1.1 200 OK\r\nX-Bad: a\0b\r\nContent-Length: 2\r\n\r\nok' },
  '/ctl-value': { bytes: 'HTTP/1.1 200 OK\r\nX-Bad: a\x1bb\x7f\r\nContent-Length: 2\r\n\r\nok' },
  '/ctl-name': { bytes: 'HTTP/1.1 200 OK\r\nX-B\x01d: v\r\nContent-Length: 2\r\n\r\nok' },
  '/space-name': { bytes: 'HTTP/1.1 200 OK\r\nX Bad: v\r\nContent-Length: 2\r\n\r\nok' },
  '/ctl-reason': { bytes: 'HTTP/1.1 200 O\0K\r\nContent-Length: 2\r\n\r\nok' },
  '/big-head': { bytes: `HTTP/1.1 200 OK\r\n${FILLER}Content-Length: 2\r\n\r\nok` },
  '/space-chunk-size': { bytes: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 2e\r\n${'x'.repeat(46)}\r\n0\r\n\r\n` },
  '/no-crlf-after-chunk': { bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n' },
  '/chunk-overflow': { bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nabc' },
  '/bad-chunk-ext': { bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a b\r\nabc\r\n0\r\n\r\n' },
};

interface Pod {
  address: string;
  /** Every request head seen, with the number of the pod connection it came on. */
  log: { conn: number; path: string }[];
  close(): Promise<void>;
}

async function nonsensePod(): Promise<Pod> {
  const log: Pod['log'] = [];
  const sockets = new Set<net.Socket>();
  let conns = 0;
  const server = net.createServer((socket) => {
    const conn = ++conns;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let seen = '';
    let switched = false;
    socket.on('data', (d: Buffer) => {
      if (switched) return; // another protocol now: HTTP requests go unanswered
      seen += d.toString('latin1');
      for (let end = seen.indexOf('\r\n\r\n'); end >= 0; end = seen.indexOf('\r\n\r\n')) {
        const urlPath = seen.split(' ')[1] ?? '';
        seen = seen.slice(end + 4);
        log.push({ conn, path: urlPath });
        const answer = ANSWERS[urlPath] ?? ANSWERS['/ok']!;
        socket.write(Buffer.from(answer.bytes, 'latin1'));
        if (answer.then === 'switched') switched = true;
        // The pause lets tidegate read (and pass on) what was sent before the connection goes.
        else if (answer.then === 'reset') setTimeout(() => socket.resetAndDestroy(), 100);
        else if (answer.then === 'fin') setTimeout(() => socket.end(), 100);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

interface Reply {
  /** Everything received, as latin1. */
  text: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The response was complete by its own framing (Content-Length, or the chunked terminator). */
  complete: boolean;
  /** tidegate closed the connection. */
  closed: boolean;
}

/** One GET over a fresh client connection; resolves when the response is complete, the connection closes, or after `quietMs` without bytes. */
function get(port: number, urlPath: string, quietMs = 1500): Promise<Reply> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${urlPath} HTTP/1.1\r\nHost: pod.example.com\r\n\r\n`));
    let text = '';
    let closed = false;
    let finished = false;
    let timer = setTimeout(done, quietMs);
    const parse = (): Omit<Reply, 'closed' | 'text'> => {
      const end = text.indexOf('\r\n\r\n');
      const lines = (end < 0 ? text : text.slice(0, end)).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      const status = Number(lines[0]?.split(' ')[1] ?? 0);
      let body = end < 0 ? '' : text.slice(end + 4);
      let complete = false;
      if (end >= 0 && headers['content-length'] !== undefined) complete = body.length >= Number(headers['content-length']);
      else if (end >= 0 && headers['transfer-encoding'] === 'chunked') {
        let out = '';
        for (let at = 0; ; ) {
          const eol = body.indexOf('\r\n', at);
          if (eol < 0) break;
          const size = parseInt(body.slice(at, eol), 16);
          if (size === 0) {
            complete = body.startsWith('\r\n', eol + 2);
            break;
          }
          out += body.slice(eol + 2, eol + 2 + size);
          at = eol + 4 + size;
        }
        body = out;
      }
      return { status, headers, body, complete };
    };
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      clearTimeout(timer);
      if (parse().complete) done();
      else timer = setTimeout(done, quietMs);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      done();
    });
    function done() {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, ...parse() });
    }
  });
}

let pod: Pod;
let dir: string;

beforeAll(async () => {
  pod = await nonsensePod();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-nonsense-'));
});

afterAll(async () => {
  await pod?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe.each([
  ['raw', '1'],
  ['net', '0'],
])('a pod answering nonsense (upstream sockets: %s)', (mode, env) => {
  let p: CliRun;
  let port = 0;

  beforeAll(async () => {
    const file = path.join(dir, `${mode}.yaml`);
    await fs.writeFile(
      file,
      `domain: example.com\nservices:\n  - name: pod\n    revisions:\n      - name: pod-1\n        timeoutSeconds: 5\n        endpoints: ["${pod.address}"]\n    traffic: [{ revisionName: pod-1, percent: 100 }]\n`,
    );
    port = await freePort();
    p = runCli(['serve', '--config', file, '--port', String(port), '--admin-port', String(await freePort())], { TIDEGATE_RAW_SOCKETS: env });
    await waitFor(async () => (await get(port, '/ok', 200).catch(() => null))?.status === 200, 10_000, 'serve ready');
    expect(p.out()).toContain(`"upstreamSockets":"${mode}"`);
  });

  afterAll(async () => {
    p?.child.kill('SIGTERM');
    await p?.exit;
  });

  /** Runs `urlPath`, then checks that a plain request is served on another pod connection. */
  async function thenServed(urlPath: string, reply: Reply): Promise<Reply> {
    const from = pod.log.length;
    const next = await get(port, '/ok');
    expect([next.status, next.body, next.complete]).toEqual([200, 'ok', true]);
    const nonsense = pod.log.slice(0, from).filter((e) => e.path === urlPath).at(-1);
    const served = pod.log.slice(from).find((e) => e.path === '/ok');
    expect(nonsense).toBeDefined();
    expect(served!.conn).not.toBe(nonsense!.conn);
    return reply;
  }

  async function expect502(urlPath: string): Promise<void> {
    const r = await get(port, urlPath);
    expect([r.status, r.headers['x-tidegate-error']]).toEqual([502, 'upstream-protocol']);
    await thenServed(urlPath, r);
  }

  /** The response began and was cut: the client connection closes without the response completing. */
  async function expectCut(urlPath: string, began = true): Promise<Reply> {
    const r = await get(port, urlPath);
    expect(r.closed).toBe(true);
    expect(r.complete).toBe(false);
    if (began) expect(r.status).toBe(200);
    return thenServed(urlPath, r);
  }

  it('finding 3: a 101 to a request that asked for no upgrade is a 502, and the switched connection is not reused', async () => {
    await expect502('/101');
  });

  it('skips 100 and 103 interim responses and serves the final one', async () => {
    const r = await get(port, '/100-then-ok');
    expect([r.status, r.body, r.complete]).toEqual([200, 'final', true]);
    expect(r.text).not.toContain('Early Hints');
  });

  it('finding 4: a body without a length that a reset cuts short is cut at the client, never ended cleanly', async () => {
    const r = await expectCut('/reset-until-close');
    expect(r.text).toContain('partial body');
  });

  it('ends a body without a length cleanly when the pod closes with a FIN', async () => {
    const r = await get(port, '/fin-until-close');
    expect([r.status, r.body, r.complete]).toEqual([200, 'whole body', true]);
  });

  it('finding 4: a body cut short of its Content-Length or its last chunk, by a FIN or a reset, is cut at the client', async () => {
    await expectCut('/short-length');
    await expectCut('/short-chunked');
    await expectCut('/reset-chunked');
  });

  it('finding 5: bytes after a complete response retire the connection', async () => {
    const r = await get(port, '/extra');
    expect([r.status, r.body, r.complete]).toEqual([200, 'ok', true]);
    await thenServed('/extra', r);
  });

  it('finding 5: Content-Length with Transfer-Encoding, two Content-Lengths, a coding other than chunked: 502', async () => {
    await expect502('/cl-te');
    await expect502('/two-cl');
    await expect502('/te-gzip');
  });

  it('finding 5: NUL and control bytes in header names, values and the reason phrase: 502', async () => {
    for (const urlPath of ['/nul-value', '/ctl-value', '/ctl-name', '/space-name', '/ctl-reason']) await expect502(urlPath);
  });

  it('finding 5: a head over 64 KiB that arrives in one write: 502', async () => {
    expect(ANSWERS['/big-head']!.bytes.length).toBeGreaterThan(96 * 1024);
    await expect502('/big-head');
  });

  it('finding 5: bad chunk framing (a space before the size, no CRLF after the data, an overflowing size, a bad extension) cuts the client', async () => {
    for (const urlPath of ['/space-chunk-size', '/no-crlf-after-chunk', '/chunk-overflow', '/bad-chunk-ext']) {
      const r = await expectCut(urlPath, false);
      expect(r.body).not.toContain('xxxx');
    }
  });
});
