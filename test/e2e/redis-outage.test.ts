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
