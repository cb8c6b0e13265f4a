import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { startRedis, type RedisHandle } from '../support/redis-server.js';
import { appConfig, delay, hit, load, revisionStatus, tally } from './harness.js';

// Redis is SIGKILLed under load and comes back empty. The edge keeps routing
// with the pods it last saw ("fail static"): not one request to the warm
// pods may fail, and once Redis is back the pods are in it again.
let redis: RedisHandle;
let edge: TestEdge;

beforeAll(async () => {
  redis = await startRedis();
  edge = await startEdge(appConfig({ minScale: 2, maxScale: 2, initialScale: 2 }), { redisUrl: redis.url });
  await waitFor(async () => (await revisionStatus(edge.adminPort)).readyPods === 2, 15_000, 'two ready pods');
});

afterAll(async () => {
  await edge?.close();
  await redis?.stop();
});

describe('Redis killed and restarted under load', () => {
  it('fails no request to warm pods', async () => {
    const podsBefore = (await revisionStatus(edge.adminPort)).pods.map((p) => p.id).sort();
    const run = load(edge.port, '/?sleep=20', 6);
    await delay(500);
    const beforeKill = run.outcomes.length;
    await redis.kill();
    await delay(2000);
    const duringOutage = run.outcomes.length - beforeKill;
    // While Redis is down the edge still knows its pods.
    expect((await revisionStatus(edge.adminPort)).pods.map((p) => p.id).sort()).toEqual(podsBefore);
    await redis.restart();
    await delay(1500);
    const outcomes = await run.stop();

    expect(beforeKill).toBeGreaterThan(10);
    expect(duringOutage).toBeGreaterThan(50);
    expect(tally(outcomes)).toEqual({ '200': outcomes.length });
  });

  it('re-registers the pods in the restarted (empty) Redis and keeps routing', async () => {
    await waitFor(async () => (await edge.store.listPods('app-1')).filter((p) => p.ready).length === 2, 8000, 'pods back in Redis');
    expect((await revisionStatus(edge.adminPort)).readyPods).toBe(2);
    expect((await hit(edge.port, '/')).status).toBe(200);
  });
});

// The autoscaler shares the outage: its lease lapses, Redis comes back with
// no status, no stats and no pods until their heartbeats return. It must
// neither scale down on the missing data nor on the empty windows it finds
// after reconnecting (it once went 4 → 1 under load 7 ms after reconnecting).
describe('Redis killed and restarted while the load needs several pods', () => {
  let redis2: RedisHandle;
  let edge2: TestEdge;

  beforeAll(async () => {
    redis2 = await startRedis();
    edge2 = await startEdge(appConfig({ target: 3, minScale: 0, maxScale: 6, initialScale: 1 }), { redisUrl: redis2.url });
    await waitFor(async () => (await revisionStatus(edge2.adminPort)).readyPods === 1, 15_000, 'one ready pod');
  });

  afterAll(async () => {
    await edge2?.close();
    await redis2?.stop();
  });

  it('keeps the pods the load needs through the outage and after reconnection', async () => {
    const scale = () => edge2.actuator.currentScale('app-1');
    // 8 requests in flight at target 3 × 70 %: 4 pods.
    const run = load(edge2.port, '/?sleep=100', 8);
    await waitFor(() => scale() >= 3, 15_000, 'scaled up under load');
    await delay(7000); // a whole stable window (6 s) under load: the count has settled
    const before = scale();
    const samples: { t: number; n: number }[] = [];
    const t0 = Date.now();
    const sampler = setInterval(() => samples.push({ t: Date.now() - t0, n: scale() }), 20);
    await redis2.kill();
    await delay(3000);
    await redis2.restart();
    const restoredAt = Date.now() - t0;
    // The hold lasts one stable window (6 s) after fresh stats; watch a little longer.
    await delay(9000);
    clearInterval(sampler);
    const outcomes = await run.stop();

    expect(before).toBeGreaterThanOrEqual(3);
    const held = samples.filter((s) => s.t <= restoredAt + 6000).map((s) => s.n);
    const after = samples.filter((s) => s.t > restoredAt + 6000).map((s) => s.n);
    expect(Math.min(...held)).toBeGreaterThanOrEqual(before);
    expect(Math.min(...after)).toBeGreaterThanOrEqual(3);
    expect(tally(outcomes)).toEqual({ '200': outcomes.length });
  });
});
