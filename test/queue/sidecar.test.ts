import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import type { QueueProxyHandle, QueueProxyOptions } from '../../src/queue/sidecar.js';
import type { PodRecord, PodStat } from '../../src/store/store.js';
import type { PodRegistry } from '../../src/queue/registration.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';
import { startTestQueueProxy } from '../support/queue-proxy.js';

// Plenty of connections so the client never limits concurrency itself.
const agent = new Agent({ connections: 100, keepAliveTimeout: 2000 });
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
  const qp = await startTestQueueProxy(app.address, { containerConcurrency: 2, ...opts });
  running.push(qp);
  return qp;
}

interface Answer {
  status: number;
  body: string;
  error: string | undefined;
  ms: number;
}

async function get(qp: QueueProxyHandle, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const t0 = Date.now();
  const r = await request(`http://127.0.0.1:${qp.port}${path}`, { dispatcher: agent, headers });
  const body = await r.body.text();
  const err = r.headers['x-tidegate-error'];
  return { status: r.statusCode, body, error: typeof err === 'string' ? err : undefined, ms: Date.now() - t0 };
}

async function adminGet(qp: QueueProxyHandle, path: string): Promise<{ status: number; body: string }> {
  const r = await request(`http://127.0.0.1:${qp.adminPort}${path}`, { dispatcher: agent });
  return { status: r.statusCode, body: await r.body.text() };
}

const probe = (qp: QueueProxyHandle) => get(qp, '/', { 'k-network-probe': 'queue' });
const whenReady = (qp: QueueProxyHandle) => waitFor(() => qp.ready(), 5000, 'queue-proxy ready');

describe('queue-proxy sidecar (in process, real sockets)', () => {
  it('CC=2 in front of a 200 ms app: 10 concurrent → the app never sees more than 2, all succeed', async () => {
    const qp = await start();
    await whenReady(qp);
    app.maxConcurrent = 0;
    const answers = await Promise.all(Array.from({ length: 10 }, () => get(qp, '/?sleep=200')));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(answers.every((a) => a.body === 'app\n')).toBe(true);
    expect(app.maxConcurrent).toBe(2);
    // 10 requests, 2 at a time, 200 ms each: about 5 rounds.
    expect(Math.max(...answers.map((a) => a.ms))).toBeGreaterThanOrEqual(900);
  });

  it('23 concurrent at CC=2 (beyond 11×CC): the one in excess gets 503 at once, the other 22 succeed', async () => {
    const qp = await start();
    await whenReady(qp);
    app.maxConcurrent = 0;
    const answers = await Promise.all(Array.from({ length: 23 }, () => get(qp, '/?sleep=200')));
    const refused = answers.filter((a) => a.status === 503);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.error).toBe('queue-proxy-queue-full');
    expect(refused[0]!.ms).toBeLessThan(150);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(22);
    expect(app.maxConcurrent).toBe(2);
  });

  it('CC=0 means no limit', async () => {
    const qp = await start({ containerConcurrency: 0 });
    await whenReady(qp);
    app.maxConcurrent = 0;
    const answers = await Promise.all(Array.from({ length: 30 }, () => get(qp, '/?sleep=200')));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(app.maxConcurrent).toBe(30);
  });

  it('probe: 503 before the app is up, 200 "queue" once it listens; never forwarded', async () => {
    const port = await freePort();
    let probesSeen = 0;
    const late = http.createServer((req, res) => {
      if (req.headers['k-network-probe']) probesSeen++;
      res.end('late\n');
    });
    const qp = await start({ upstream: `127.0.0.1:${port}` });
    const before = await probe(qp);
    expect([before.status, before.body]).toEqual([503, 'not ready']);
    expect(qp.ready()).toBe(false);
    await new Promise<void>((r) => late.listen(port, '127.0.0.1', r));
    // The aggressive probe runs every 50 ms: ready well within a second.
    const t0 = Date.now();
    await whenReady(qp);
    expect(Date.now() - t0).toBeLessThan(1000);
    const after = await probe(qp);
    expect([after.status, after.body]).toEqual([200, 'queue']);
    expect(probesSeen).toBe(0);
    expect((await get(qp, '/')).body).toBe('late\n');
    late.closeAllConnections();
    await new Promise((r) => late.close(r));
  });

  it('readinessPath: ready only once the app answers 2xx there', async () => {
    let healthy = false;
    const a2 = await startUpstream('a2', (req, res) => {
      res.statusCode = req.url === '/ready' && !healthy ? 503 : 200;
      res.end('a2\n');
    });
    const qp = await start({ upstream: a2.address, readinessPath: '/ready' });
    await new Promise((r) => setTimeout(r, 200));
    expect((await probe(qp)).status).toBe(503);
    healthy = true;
    await whenReady(qp);
    expect((await probe(qp)).body).toBe('queue');
    await a2.close();
  });

  it('its own endpoints are on the admin port; the data port forwards every path to the app', async () => {
    const qp = await start();
    await whenReady(qp);
    const seenBefore = app.seen.length;
    await get(qp, '/?sleep=1');
    expect((await get(qp, '/__tidegate/healthz')).body).toBe('app\n');
    const metrics = await adminGet(qp, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/tidegate_requests_total\{revision="rev-1",code="200"\} 2\b/);
    expect(metrics.body).toMatch(/tidegate_queue_depth\{revision="rev-1"\} 0\b/);
    expect(metrics.body).toMatch(/tidegate_pod_inflight_requests\{revision="rev-1",pod="pod-a"\} 0\b/);
    expect(app.seen.slice(seenBefore).map((s) => s.url)).toEqual(['/?sleep=1', '/__tidegate/healthz']);
  });

  it('metrics show queued requests while they wait', async () => {
    const qp = await start({ containerConcurrency: 1 });
    await whenReady(qp);
    const slow = Array.from({ length: 4 }, () => get(qp, '/?sleep=300'));
    await new Promise((r) => setTimeout(r, 100));
    const metrics = await adminGet(qp, '/metrics');
    expect(metrics.body).toMatch(/tidegate_queue_depth\{revision="rev-1"\} 3\b/);
    expect(metrics.body).toMatch(/tidegate_pod_inflight_requests\{revision="rev-1",pod="pod-a"\} 4\b/);
    await Promise.all(slow);
  });

  it('timeoutSeconds → 504, counted from arrival (time queued included)', async () => {
    const qp = await start({ containerConcurrency: 1, timeoutSeconds: 1 });
    await whenReady(qp);
    // A holds the slot until its deadline; B waits ~700 ms in the queue, then runs: its 1 s counts from arrival.
    const [a, b] = await Promise.all([get(qp, '/?sleep=1500'), new Promise((r) => setTimeout(r, 300)).then(() => get(qp, '/?sleep=1500'))]);
    expect([a.status, a.error]).toEqual([504, 'upstream-timeout']);
    expect(a.ms).toBeGreaterThan(950);
    expect(a.ms).toBeLessThan(1300);
    expect(b.status).toBe(504);
    expect(b.ms).toBeGreaterThan(950);
    expect(b.ms).toBeLessThan(1300);
    // The slot came back: the next request runs.
    expect((await get(qp, '/?sleep=1')).status).toBe(200);
  });

  it('a client that gives up while queued leaves the queue without reaching the app', async () => {
    const qp = await start({ containerConcurrency: 1 });
    await whenReady(qp);
    const seenBefore = app.seen.length;
    const first = get(qp, '/?sleep=300');
    await new Promise((r) => setTimeout(r, 50));
    const ac = new AbortController();
    const gone = request(`http://127.0.0.1:${qp.port}/?sleep=1&gone=1`, { dispatcher: agent, signal: ac.signal }).catch(() => 'aborted');
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    expect(await gone).toBe('aborted');
    expect((await first).status).toBe(200);
    await waitFor(() => qp.active() === 0, 2000, 'idle');
    expect(app.seen.slice(seenBefore).some((s) => s.url.includes('gone'))).toBe(false);
  });

  it('registers itself, heartbeats, reports stats (proxied apart), and unregisters on shutdown', async () => {
    const pods: { pod: PodRecord; ttl: number }[] = [];
    const stats: PodStat[] = [];
    const removed: string[] = [];
    const store: PodRegistry = {
      registerPod: (pod, ttl) => (pods.push({ pod, ttl }), Promise.resolve()),
      reportStats: (s) => (stats.push(...s), Promise.resolve()),
      removePod: (rev, id) => (removed.push(`${rev}/${id}`), Promise.resolve()),
    };
    const qp = await startTestQueueProxy(app.address, { podId: 'pod-s', store, periodMs: 250, ttlMs: 1000 });
    expect(pods[0]).toEqual({ pod: { id: 'pod-s', revision: 'rev-1', address: `127.0.0.1:${qp.port}`, ready: false, queueProxy: true }, ttl: 1000 });
    await whenReady(qp);
    await waitFor(() => pods.some((p) => p.pod.ready), 2000, 'registered ready');
    await waitFor(() => stats.length > 0, 2000, 'a stats report');
    const from = stats.length;
    // Four 500 ms requests at once, two of them through the activator.
    await Promise.all([get(qp, '/?sleep=500'), get(qp, '/?sleep=500'), get(qp, '/?sleep=500', { 'k-proxy-request': 'activator' }), get(qp, '/?sleep=500', { 'k-proxy-request': 'activator' })]);
    await new Promise((r) => setTimeout(r, 300));
    // Each figure is a per-second average over its period: weight it by the period's real length.
    const total = (f: (s: PodStat) => number) => stats.slice(from).reduce((sum, s, i) => sum + (f(s) * (s.time - stats[from + i - 1]!.time)) / 1000, 0);
    // ∫ concurrency dt over the periods = 4 requests × 0.5 s; the proxied part is half of it.
    expect(total((s) => s.concurrency)).toBeCloseTo(2, 0);
    expect(total((s) => s.proxiedConcurrency)).toBeCloseTo(1, 0);
    expect(total((s) => s.requests)).toBeCloseTo(4, 6);
    expect(total((s) => s.proxiedRequests)).toBeCloseTo(2, 6);
    expect(stats.slice(from).every((s) => s.revision === 'rev-1' && s.pod === 'pod-s')).toBe(true);
    const heartbeats = pods.length;
    await new Promise((r) => setTimeout(r, 600));
    expect(pods.length).toBeGreaterThan(heartbeats);
    await qp.shutdown();
    expect(pods.at(-1)!.pod.ready).toBe(false);
    expect(removed).toEqual(['rev-1/pod-s']);
  });

  it('drain: probes fail at once, in-flight and queued requests finish, then it stops', async () => {
    const qp = await start({ containerConcurrency: 2 });
    await whenReady(qp);
    const load = Array.from({ length: 10 }, () => get(qp, '/?sleep=200'));
    await waitFor(() => qp.active() === 10, 2000, '10 in flight');
    const done = qp.shutdown();
    expect(qp.ready()).toBe(false);
    const p = await probe(qp);
    expect([p.status, p.body]).toEqual([503, 'shutting down']);
    const answers = await Promise.all(load);
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    await expect(done).resolves.toBe('idle');
    expect(qp.active()).toBe(0);
  });
});
