import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { appConfig, fixtureStats, hit, revisionStatus, tally } from './harness.js';
import { HAVE_DIST } from './serve-process.js';

// A revision with `queueProxy: true`: the local actuator runs
// `tidegate queue-proxy` (from dist/cli.js) in front of each app process,
// and the pod's address in the routing table is the queue-proxy's.
let edge: TestEdge | undefined;

beforeAll(async () => {
  if (!HAVE_DIST) return;
  edge = await startEdge(appConfig({ queueProxy: true, containerConcurrency: 2, minScale: 1, maxScale: 1, initialScale: 1 }));
  await waitFor(async () => (await revisionStatus(edge!.adminPort)).readyPods === 1, 15_000, 'one ready pod');
});

afterAll(async () => {
  await edge?.close();
});

describe.skipIf(!HAVE_DIST)('queue-proxy in the path (needs dist/: npm run build)', () => {
  it('routes to the queue-proxy, which answers its own probe', async () => {
    const pod = (await revisionStatus(edge!.adminPort)).pods[0]!;
    const probe = await request(`http://${pod.address}/`, { headers: { 'k-network-probe': 'queue' } });
    expect(probe.statusCode).toBe(200);
    expect(await probe.body.text()).toBe('queue');
    expect((await hit(edge!.port, '/')).status).toBe(200);
  });

  it('serves 20 concurrent requests with at most containerConcurrency at the app', async () => {
    const dispatcher = new Agent({ connections: 20 });
    try {
      const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => hit(edge!.port, `/?sleep=50&i=${i}`, { dispatcher })));
      expect(tally(outcomes)).toEqual({ '200': 20 });
    } finally {
      await dispatcher.close();
    }
    const pod = (await revisionStatus(edge!.adminPort)).pods[0]!;
    const stats = await fixtureStats(pod.address); // through the queue-proxy to the app
    expect(stats.max).toBe(2);
    expect(stats.total).toBeGreaterThanOrEqual(21);
  });
});
