import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { freePort } from '../support/ports.js';
import { CLI, runCli as run } from '../support/cli.js';
import { startTestQueueProxy } from '../support/queue-proxy.js';

// Knative's drain (queue sharedmain + network Drainer): after SIGTERM the
// probes fail at once, requests are served on until the drain period passes
// with no new one, then the in-flight ones finish; the app container's
// preStop hook blocks on GET /wait-for-drain (admin port) until then.
const agent = new Agent({ connections: 20 });
let app: Upstream;

beforeAll(async () => {
  await fs.access(CLI);
  app = await startUpstream('app');
});
afterAll(async () => {
  await app?.close();
  await agent.close();
});

async function get(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; at: number }> {
  const r = await request(`http://127.0.0.1:${port}${urlPath}`, { dispatcher: agent, headers, headersTimeout: 60_000 });
  return { status: r.statusCode, body: await r.body.text(), at: Date.now() };
}

async function probeUntil(port: number, want: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const got = await get(port, '/', { 'k-network-probe': 'queue' }).catch(() => ({ status: 0 }));
    if (got.status === want) return;
    if (Date.now() > end) throw new Error(`probe never answered ${want} (last ${got.status})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('GET /wait-for-drain (the preStop hook)', () => {
  it('SIGTERM: probes fail at once, requests are still served for the drain period, /wait-for-drain answers once the last one finished, exit 0', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const p = run(['queue-proxy', '--revision', 'rev-w', '--upstream', app.address, '--port', String(port), '--admin-port', String(adminPort), '--drain-seconds', '1']);
    try {
      await probeUntil(port, 200, 10_000);
      const hook = get(adminPort, '/wait-for-drain');
      const signalled = Date.now();
      p.child.kill('SIGTERM');
      await probeUntil(port, 503, 2000);
      // Still served during the drain period (kube-proxy and ingresses learn of the failing probe late).
      expect((await get(port, '/')).status).toBe(200);
      const long = get(port, '/?sleep=1500');
      const [hooked, slow] = await Promise.all([hook, long]);
      expect(hooked).toMatchObject({ status: 200, body: 'drained\n' });
      expect(slow.status).toBe(200);
      // Not before the drain period (1 s with no new request), nor before the request in flight ended.
      expect(hooked.at - signalled).toBeGreaterThanOrEqual(1000);
      expect(hooked.at).toBeGreaterThanOrEqual(slow.at);
      expect(await p.exit).toBe(0);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('with no SIGTERM to follow (the app container restarting alone) it answers after about a second and the pod stays ready', async () => {
    const qp = await startTestQueueProxy(app.address, { revision: 'rev-x', timeoutSeconds: 10, drainSeconds: 1, podId: 'pod-x' });
    try {
      await probeUntil(qp.port, 200, 5000);
      const t0 = Date.now();
      expect(await get(qp.adminPort, '/wait-for-drain')).toMatchObject({ status: 200 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      expect(qp.ready()).toBe(true);
      expect((await get(qp.port, '/')).status).toBe(200);
    } finally {
      await qp.shutdown();
    }
  });
});
