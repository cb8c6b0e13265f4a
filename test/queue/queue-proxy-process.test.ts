import fs from 'node:fs/promises';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { freePort } from '../support/ports.js';
import { CLI, runCli as run } from '../support/cli.js';

const agent = new Agent({ connections: 50 });
let app: Upstream;

beforeAll(async () => {
  await fs.access(CLI); // npm test builds dist/ before running vitest
  app = await startUpstream('app');
});
afterAll(async () => {
  await app?.close();
  await agent.close();
});

async function get(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const r = await request(`http://127.0.0.1:${port}${urlPath}`, { dispatcher: agent, headers });
  return { status: r.statusCode, body: await r.body.text() };
}

async function probeUntil(port: number, want: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await get(port, '/', { 'k-network-probe': 'queue' }).catch(() => ({ status: 0, body: '' }));
    if (got.status === want) return;
    if (Date.now() > end) throw new Error(`probe never answered ${want} (last ${got.status})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('tidegate queue-proxy as a process', () => {
  it('exits 2 on missing flags', async () => {
    const p = run(['queue-proxy', '--revision', 'r']);
    expect(await p.exit).toBe(2);
    expect(p.out()).toMatch(/--upstream/);
  });

  it('SIGTERM under load: probes fail at once, all 10 in-flight/queued requests succeed, exit 0', async () => {
    const port = await freePort();
    const p = run(['queue-proxy', '--revision', 'rev-p', '--upstream', app.address, '--port', String(port), '--container-concurrency', '2', '--drain-seconds', '0'], { ADMIN_PORT: '0' });
    try {
      await probeUntil(port, 200, 10_000);
      app.maxConcurrent = 0;
      const load = Array.from({ length: 10 }, () => get(port, '/?sleep=300'));
      // Let all ten arrive (2 running, 8 queued) before the signal.
      await new Promise((r) => setTimeout(r, 150));
      const t0 = Date.now();
      p.child.kill('SIGTERM');
      await probeUntil(port, 503, 1000);
      expect(Date.now() - t0).toBeLessThan(1000);
      const answers = await Promise.all(load);
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      expect(app.maxConcurrent).toBe(2);
      expect(await p.exit).toBe(0);
      expect(p.out()).toMatch(/"outcome":"idle"/);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('an admin port that is taken: one line naming it, exit 1, nothing left listening', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(adminPort, '127.0.0.1', r));
    try {
      const p = run(['queue-proxy', '--revision', 'rev-b', '--upstream', app.address, '--port', String(port)], { ADMIN_PORT: String(adminPort) });
      const code = await Promise.race([p.exit, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
      p.child.kill('SIGKILL');
      expect(code).toBe(1);
      expect(p.out()).toContain(`127.0.0.1:${adminPort}`);
      expect(await get(port, '/').then(() => 'answered', () => 'refused')).toBe('refused');
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  it('PORT and the other env variables mirror the flags; idle SIGINT with DRAIN_SECONDS=0 exits 0 at once', async () => {
    const port = await freePort();
    const adminPort = await freePort();
    const p = run(['queue-proxy', '--revision', 'rev-e', '--upstream', app.address], { PORT: String(port), ADMIN_PORT: String(adminPort), DRAIN_SECONDS: '0' });
    try {
      await probeUntil(port, 200, 10_000);
      expect((await get(port, '/')).body).toBe('app\n');
      expect(await get(adminPort, '/readyz')).toEqual({ status: 200, body: 'ready' });
      const t0 = Date.now();
      p.child.kill('SIGINT');
      expect(await p.exit).toBe(0);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      p.child.kill('SIGKILL');
    }
  });
});
