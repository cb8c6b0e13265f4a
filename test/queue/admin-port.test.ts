import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import type { QueueProxyHandle, QueueProxyOptions } from '../../src/queue/sidecar.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { connects } from '../support/listen-address.js';
import { startTestQueueProxy } from '../support/queue-proxy.js';

// Issue 9, finding 6: the queue-proxy's own endpoints were answered on its
// data port, so anyone who could reach the edge could read every pod's
// metrics and health. They now live on an admin port of their own, bound to
// 127.0.0.1 unless told otherwise; on the data port /__tidegate/… is the app's.
const agent = new Agent({ connections: 20, keepAliveTimeout: 2000 });
let app: Upstream;
const running: QueueProxyHandle[] = [];

beforeAll(async () => {
  app = await startUpstream('app');
});
afterEach(async () => {
  for (const qp of running.splice(0)) await qp.shutdown();
});
afterAll(async () => {
  await app?.close();
  await agent.close();
});

async function start(opts: Partial<QueueProxyOptions> = {}): Promise<QueueProxyHandle> {
  const qp = await startTestQueueProxy(app.address, opts);
  running.push(qp);
  return qp;
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const r = await request(`http://127.0.0.1:${port}${path}`, { dispatcher: agent });
  return { status: r.statusCode, body: await r.body.text() };
}

async function whenReady(qp: QueueProxyHandle): Promise<void> {
  const end = Date.now() + 5000;
  while (!qp.ready()) {
    if (Date.now() > end) throw new Error('queue-proxy never became ready');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('queue-proxy admin port', () => {
  it('on the data port, /__tidegate/… is forwarded to the app like any other path', async () => {
    const qp = await start();
    await whenReady(qp);
    const seenBefore = app.seen.length;
    for (const path of ['/__tidegate/metrics', '/__tidegate/healthz', '/__tidegate/readyz', '/__tidegate/stats']) {
      expect(await get(qp.port, path)).toEqual({ status: 200, body: 'app\n' });
    }
    expect(app.seen.slice(seenBefore).map((s) => s.url)).toEqual(['/__tidegate/metrics', '/__tidegate/healthz', '/__tidegate/readyz', '/__tidegate/stats']);
    // …and counted as the app's requests.
    const metrics = await get(qp.adminPort, '/metrics');
    expect(metrics.body).toMatch(/tidegate_requests_total\{revision="rev-1",code="200"\} 4\b/);
  });

  it('the admin port answers healthz, readyz, metrics and stats itself, and never forwards', async () => {
    const qp = await start();
    expect(qp.adminPort).toBeGreaterThan(0);
    expect(qp.adminPort).not.toBe(qp.port);
    await whenReady(qp);
    const seenBefore = app.seen.length;
    await get(qp.port, '/?sleep=1');
    expect(await get(qp.adminPort, '/healthz')).toEqual({ status: 200, body: 'ok' });
    expect(await get(qp.adminPort, '/readyz')).toEqual({ status: 200, body: 'ready' });
    expect((await get(qp.adminPort, '/nope')).status).toBe(404);
    const metrics = await get(qp.adminPort, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/tidegate_requests_total\{revision="rev-1",code="200"\} 1\b/);
    expect(metrics.body).toMatch(/tidegate_pod_inflight_requests\{revision="rev-1",pod="pod-a"\} 0\b/);
    const stats = await get(qp.adminPort, '/stats');
    expect(stats.status).toBe(200);
    expect(JSON.parse(stats.body)).toMatchObject({ stats: expect.any(Array) as unknown });
    expect(app.seen.slice(seenBefore).map((s) => s.url)).toEqual(['/?sleep=1']);
  });

  it('readyz is 503 while the app is not up, and from the moment a drain begins', async () => {
    const down = await start({ upstream: '127.0.0.1:1' });
    expect(await get(down.adminPort, '/readyz')).toEqual({ status: 503, body: 'not ready' });
    const qp = await start();
    await whenReady(qp);
    const slow = get(qp.port, '/?sleep=300');
    await new Promise((r) => setTimeout(r, 50));
    const done = qp.shutdown();
    expect(await get(qp.adminPort, '/readyz')).toEqual({ status: 503, body: 'shutting down' });
    expect((await slow).status).toBe(200);
    await done;
  });

  it('/stats?after=SEQ hands out each period once, in order, with the sidecar time', async () => {
    const qp = await start({ periodMs: 100 });
    await whenReady(qp);
    const t0 = Date.now();
    await Promise.all([get(qp.port, '/?sleep=250'), get(qp.port, '/?sleep=250')]);
    let after = 0;
    const seen: { seq: number; time: number; concurrency: number }[] = [];
    for (let i = 0; i < 4; i++) {
      const doc = JSON.parse((await get(qp.adminPort, `/stats?after=${after}`)).body) as { seq: number; stats: { seq: number; time: number; concurrency: number; pod: string; revision: string }[] };
      for (const s of doc.stats) {
        expect(s.seq).toBeGreaterThan(after);
        expect([s.revision, s.pod]).toEqual(['rev-1', 'pod-a']);
        seen.push(s);
        after = s.seq;
      }
      expect(doc.seq).toBe(after);
      await new Promise((r) => setTimeout(r, 150));
    }
    const seqs = seen.map((s) => s.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(seen.every((s) => s.time >= t0 - 1000 && s.time <= Date.now())).toBe(true);
    // Two 250 ms requests at once: about 0.5 request-seconds over the periods, each period 100 ms.
    const integral = seen.reduce((sum, s) => sum + s.concurrency * 0.1, 0);
    expect(integral).toBeGreaterThan(0.3);
    expect(integral).toBeLessThan(0.7);
  });

  it('/stats answers a nonsense or huge `after` with JSON, not an error (all periods, or none)', async () => {
    const qp = await start({ periodMs: 100 });
    await whenReady(qp);
    await new Promise((r) => setTimeout(r, 250));
    const all = JSON.parse((await get(qp.adminPort, '/stats')).body) as { stats: unknown[] };
    expect(all.stats.length).toBeGreaterThan(0);
    for (const after of ['abc', '-5', '', '%00']) {
      const r = await get(qp.adminPort, `/stats?after=${after}`);
      expect(r.status, after).toBe(200);
      expect((JSON.parse(r.body) as { stats: unknown[] }).stats.length, after).toBeGreaterThan(0);
    }
    const none = await get(qp.adminPort, '/stats?after=1e300');
    expect((JSON.parse(none.body) as { stats: unknown[] }).stats).toEqual([]);
  });

  // 127.0.0.2 is loopback on Linux but not 127.0.0.1: a listener bound to 127.0.0.1 refuses it.
  it('binds the admin port to 127.0.0.1 by default, even when the data port listens everywhere', async () => {
    const other = '127.0.0.2';
    const qp = await start({ host: '0.0.0.0' });
    await whenReady(qp);
    expect(await connects(other, qp.port)).toBe(true);
    expect(await connects(other, qp.adminPort)).toBe(false);
    expect(await connects('127.0.0.1', qp.adminPort)).toBe(true);
  });

  it('adminHost widens the admin bind when asked (a container that must be scraped)', async () => {
    const other = '127.0.0.2';
    const qp = await start({ adminHost: '0.0.0.0' });
    const r = await request(`http://${other}:${qp.adminPort}/healthz`, { dispatcher: agent });
    expect([r.statusCode, await r.body.text()]).toEqual([200, 'ok']);
  });

  it('refuses an admin port that is already taken, leaving nothing listening', async () => {
    const first = await start();
    await expect(start({ adminPort: first.adminPort })).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${first.adminPort}`));
  });
});
