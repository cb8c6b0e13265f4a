import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { startResetter, startUpstream, type Upstream } from '../support/upstream.js';
import { waitFor } from '../support/serve.js';
import { freePort } from '../support/ports.js';
import { rawRequest } from '../support/raw-http.js';
import { runCli, type CliRun } from '../support/cli.js';

// The upstream client writes body-less request heads straight to the socket's
// libuv handle and takes reads from it directly (src/upstream/raw-socket.ts),
// or, with TIDEGATE_RAW_SOCKETS=0, through net.Socket alone. Both paths run
// here in real tidegate processes against the same pods.

/** The head a pod sends: a non-ASCII value, hop-by-hop and Connection-listed headers, its own Date. */
const POD_HEAD =
  'HTTP/1.1 200 OK\r\nX-Latin: caf\xe9\r\nDate: Mon, 01 Jan 2001 00:00:00 GMT\r\nConnection: keep-alive, X-Private\r\n' +
  'X-Private: secret\r\nKeep-Alive: timeout=5\r\nProxy-Thing: x\r\nContent-Length: 2\r\nX-Last:   spaced  \r\n\r\nok';

/** A raw TCP pod answering with POD_HEAD (its head alone to HEAD), a folded header line for /fold, a 204 for /204; it keeps the request heads it saw. */
async function rawPod(): Promise<{ address: string; heads: Buffer[]; close(): Promise<void> }> {
  const heads: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let seen = '';
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (!seen.includes('\r\n\r\n')) return;
      heads.push(Buffer.from(seen, 'latin1'));
      const answer = seen.startsWith('GET /fold ')
        ? 'HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n'
        : seen.startsWith('GET /204 ')
          ? 'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n'
          : seen.startsWith('HEAD ')
            ? POD_HEAD.slice(0, -2)
            : POD_HEAD;
      seen = '';
      socket.write(Buffer.from(answer, 'latin1'));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    heads,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

let app: Upstream;
let raw: Awaited<ReturnType<typeof rawPod>>;
let dir: string;

beforeAll(async () => {
  app = await startUpstream('app');
  raw = await rawPod();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-sockets-'));
});

afterAll(async () => {
  await app?.close();
  await raw?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe.each([
  ['raw', '1'],
  ['net', '0'],
])('upstream sockets: %s', (mode, env) => {
  let p: CliRun;
  let port = 0;
  let resetter: Awaited<ReturnType<typeof startResetter>>;

  beforeAll(async () => {
    resetter = await startResetter(1);
    const file = path.join(dir, `${mode}.yaml`);
    const service = (name: string, endpoints: string[]) =>
      `  - name: ${name}\n    revisions:\n      - name: ${name}-1\n        endpoints: [${endpoints.map((e) => `"${e}"`).join(', ')}]\n    traffic: [{ revisionName: ${name}-1, percent: 100 }]\n`;
    await fs.writeFile(file, `domain: example.com\nservices:\n${service('app', [app.address])}${service('raw', [raw.address])}${service('flaky', [resetter.address])}`);
    port = await freePort();
    p = runCli(['serve', '--config', file, '--port', String(port), '--admin-port', String(await freePort())], { TIDEGATE_RAW_SOCKETS: env });
    await waitFor(async () => {
      try {
        const r = await request(`http://127.0.0.1:${port}/`, { headers: { host: 'app.example.com' } });
        await r.body.text();
        return r.statusCode === 200;
      } catch {
        return false;
      }
    }, 10_000, 'serve ready');
  });

  afterAll(async () => {
    p?.child.kill('SIGTERM');
    await p?.exit;
    await resetter?.close();
  });

  it('says which path it uses', () => {
    expect(p.out()).toContain(`"upstreamSockets":"${mode}"`);
  });

  it('proxies GET, HEAD and a 1 MiB POST many times over reused connections', async () => {
    const body = randomBytes(1024 * 1024);
    const sha = createHash('sha256').update(body).digest('hex');
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all([
        ...Array.from({ length: 20 }, () => request(`http://127.0.0.1:${port}/x?y=1`, { headers: { host: 'app.example.com' } }).then(async (r) => `${r.statusCode} ${await r.body.text()}`)),
        request(`http://127.0.0.1:${port}/`, { method: 'HEAD', headers: { host: 'app.example.com' } }).then(async (r) => `${r.statusCode} head ${(await r.body.text()).length} ${String(r.headers['content-length'])}`),
        request(`http://127.0.0.1:${port}/upload`, { method: 'POST', body, headers: { host: 'app.example.com' } }).then(async (r) => `${r.statusCode} ${(JSON.parse(await r.body.text()) as { sha256: string }).sha256}`),
      ]);
      expect(results).toEqual([...Array.from({ length: 20 }, () => '200 app\n'), '200 head 0 undefined', `200 ${sha}`]);
    }
  });

  it('passes the response head on byte for byte, minus hop-by-hop headers and with its own Date and Content-Length', async () => {
    const r = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: raw.example.com\r\n\r\n');
    const head = r.text.slice(0, r.text.indexOf('\r\n\r\n'));
    expect(r.text.endsWith('\r\n\r\nok')).toBe(true);
    expect(head).toContain('\r\nX-Latin: caf\xe9\r\n');
    expect(head).toContain('\r\nX-Last: spaced\r\n');
    for (const gone of ['X-Private', 'Keep-Alive', 'Proxy-Thing', 'Connection', '2001']) expect(head).not.toContain(gone);
    expect(head.match(/\r\ndate: /gi)).toHaveLength(1);
    expect(head.match(/\r\ncontent-length: 2(\r\n|$)/gi)).toHaveLength(1);
  });

  it('passes UTF-8 in request header values and the path to the pod byte for byte', async () => {
    raw.heads.length = 0;
    // "a café € z" in UTF-8 (uWS v20.30 trims non-ASCII bytes at either end of a value as if they were spaces).
    const value = Buffer.from('a caf\xc3\xa9 \xe2\x82\xac z', 'latin1');
    await rawRequest(port, Buffer.concat([Buffer.from('GET /p\xc3\xa4th?q=\xc3\xa9 HTTP/1.1\r\nHost: raw.example.com\r\nX-Utf8: ', 'latin1'), value, Buffer.from('\r\n\r\n')]), 300);
    const head = raw.heads[0]!;
    expect(head.toString('latin1')).toMatch(/^GET \/p\xc3\xa4th\?q=\xc3\xa9 HTTP\/1\.1\r\n/);
    expect(head.includes(Buffer.concat([Buffer.from('x-utf8: '), value, Buffer.from('\r\n')]))).toBe(true);
  });

  it('passes on the length a HEAD response declares, and gives a 204 no length at all', async () => {
    const head = await rawRequest(port, 'HEAD / HTTP/1.1\r\nHost: raw.example.com\r\n\r\n', 300);
    expect(head.status).toBe(200);
    expect(head.text.match(/\r\ncontent-length: 2\r\n/gi)).toHaveLength(1);
    expect(head.text.endsWith('\r\n\r\n')).toBe(true);
    const none = await rawRequest(port, 'GET /204 HTTP/1.1\r\nHost: raw.example.com\r\n\r\n', 300);
    expect(none.status).toBe(204);
    expect(none.text).not.toMatch(/content-length/i);
    expect(none.text).toContain('\r\nX-A: 1\r\n');
  });

  it('answers 502 upstream-protocol for a folded header line', async () => {
    const r = await request(`http://127.0.0.1:${port}/fold`, { headers: { host: 'raw.example.com' } });
    await r.body.text();
    expect([r.statusCode, r.headers['x-tidegate-error']]).toEqual([502, 'upstream-protocol']);
  });

  it('retries a GET whose pod reset the connection', async () => {
    const r = await request(`http://127.0.0.1:${port}/`, { headers: { host: 'flaky.example.com' } });
    expect([r.statusCode, await r.body.text()]).toEqual([200, 'ok']);
    expect(resetter.accepted).toBe(2);
  });
});
