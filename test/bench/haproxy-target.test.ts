/**
 * The proxy suite's haproxy target: its generated config, run by the real
 * /usr/sbin/haproxy in front of a stand-in backend, passes the suite's
 * correctness check and reuses its backend connections across client
 * connections (what `http-reuse always` buys, as nginx's upstream keepalive).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HAPROXY, haproxyConfig } from '../../bench/lib/haproxy.js';
import { checkTarget } from '../../bench/lib/check.js';
import { BODY } from '../../bench/lib/backend-body.js';

const haveHaproxy = fs.existsSync(HAPROXY);
if (!haveHaproxy) console.log(`haproxy target test skipped: ${HAPROXY} not found (apt-get install -y haproxy)`);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The bench backend's behaviour (body, POST byte count, ?sleep=), counting the TCP connections it is given. */
async function backend(): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = http.createServer((req, res) => {
    const sleep = /sleep=(\d+)/.exec(req.url ?? '');
    if (req.method === 'POST') {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(String(n)));
      return;
    }
    setTimeout(() => res.end(BODY), sleep ? Number(sleep[1]) : 0);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  cleanups.push(() => void server.closeAllConnections());
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

async function startHaproxy(backendPort: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-haproxy-'));
  const port = await freePort();
  const conf = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(conf, haproxyConfig({ port, backendPort, connections: 1000 }));
  let output = '';
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`haproxy exited ${child.exitCode}: ${output}`);
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (up) return port;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`haproxy did not listen on ${port}: ${output}`);
}

/** One request on a fresh client connection. */
function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe.skipIf(!haveHaproxy)('haproxy target of the proxy suite', () => {
  it('one thread, http mode, connection reuse, no logging, and timeouts far above the slow scenario', () => {
    const conf = haproxyConfig({ port: 8080, backendPort: 3000, connections: 1000 });
    expect(conf).toMatch(/^\s*nbthread 1$/m);
    expect(conf).toMatch(/^\s*mode http$/m);
    expect(conf).toMatch(/^\s*http-reuse always$/m);
    expect(conf).not.toMatch(/^\s*log /m);
    for (const m of conf.matchAll(/^\s*maxconn (\d+)$/gm)) expect(Number(m[1])).toBeGreaterThanOrEqual(2000);
    for (const m of conf.matchAll(/^\s*timeout (\S+) (\d+)s$/gm)) expect(Number(m[2]), m[1]).toBeGreaterThanOrEqual(5);
  });

  it('passes the correctness check and serves twenty client connections over one or two backend connections', async () => {
    const b = await backend();
    const port = await startHaproxy(b.port);
    expect(await checkTarget({ port })).toEqual([]);
    const before = b.connections();
    for (let i = 0; i < 20; i++) expect(await get(port)).toBe(BODY);
    expect(b.connections() - before).toBeLessThanOrEqual(2);
  });
});
