import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { request } from 'undici';
import { afterEach, expect, test } from 'vitest';

const APP = path.resolve(import.meta.dirname, '../../examples/hello.js');
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

async function start(env: Record<string, string>): Promise<{ port: number; startedAt: number; readyAt: number }> {
  const port = await freePort();
  const startedAt = Date.now();
  child = spawn(process.execPath, [APP], { env: { ...process.env, PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let readyAt = 0;
  for (let i = 0; i < 200 && readyAt === 0; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) readyAt = Date.now();
    else await new Promise((r) => setTimeout(r, 20));
  }
  return { port, startedAt, readyAt };
}

test('the demo app: slow start, greeting, sleep, status, body hash, graceful SIGTERM', async () => {
  const { port, startedAt, readyAt } = await start({ STARTUP_DELAY_MS: '300', K_REVISION: 'hello-00002', GREETING: 'two' });
  expect(readyAt).toBeGreaterThan(0);
  expect(readyAt - startedAt).toBeGreaterThanOrEqual(300);
  const base = `http://127.0.0.1:${port}`;

  const hello = await request(`${base}/`);
  expect(hello.statusCode).toBe(200);
  expect(await hello.body.text()).toBe('hello from hello-00002: two\n');

  const t0 = Date.now();
  const slow = await request(`${base}/?sleep=200&status=503`);
  expect(slow.statusCode).toBe(503);
  await slow.body.text();
  expect(Date.now() - t0).toBeGreaterThanOrEqual(190);

  const body = Buffer.alloc(100_000, 'a');
  const posted = await request(`${base}/upload`, { method: 'POST', body });
  expect(await posted.body.json()).toEqual({ bytes: 100_000, sha256: createHash('sha256').update(body).digest('hex') });

  // An in-flight request finishes after SIGTERM; then the process exits 0.
  const inFlight = request(`${base}/?sleep=300`);
  await new Promise((r) => setTimeout(r, 100));
  const exited = once(child as ChildProcess, 'exit');
  child?.kill('SIGTERM');
  const res = await inFlight;
  expect(res.statusCode).toBe(200);
  expect(await res.body.text()).toBe('hello from hello-00002: two\n');
  const [code] = (await exited) as [number | null];
  expect(code).toBe(0);
});

test('defaults: GREETING hi, revision hello', async () => {
  const { port } = await start({ STARTUP_DELAY_MS: '0', K_REVISION: '', GREETING: '' });
  const res = await request(`http://127.0.0.1:${port}/`);
  expect(await res.body.text()).toBe('hello from hello: hi\n');
});
