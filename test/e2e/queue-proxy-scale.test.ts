import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { appConfig, delay, hit, load, revisionStatus, tally } from './harness.js';
import { HAVE_DIST } from './serve-process.js';

// Issue 9, finding 10: one process (no --redis) with `queueProxy: true`
// never scaled on load: the edge leaves pods with a queue-proxy to report
// their own stats, and without Redis the queue-proxies had nowhere to send
// them. The local actuator now scrapes each sidecar's stats, as Knative's
// autoscaler scrapes its queue-proxies. Short windows (stable 6 s) and
// target-burst-capacity 0, so the activator leaves the path once a pod is
// ready and every figure comes from the queue-proxies: ~20 in flight against
// a target of 10 (7 at 70 % utilisation) wants 3 pods; the same load counted
// twice (by the edge too, or a period written twice) reads ~30 and wants 5.
let edge: TestEdge | undefined;

beforeAll(async () => {
  if (!HAVE_DIST) return;
  edge = await startEdge(appConfig({ queueProxy: true, target: 10, minScale: 1, maxScale: 10, initialScale: 1 }, { autoscaler: { 'target-burst-capacity': 0 } }));
  await waitFor(async () => (await revisionStatus(edge!.adminPort)).readyPods === 1, 15_000, 'one ready pod');
});

afterAll(async () => {
  await edge?.close();
});

describe.skipIf(!HAVE_DIST)('queueProxy: true in one process, no Redis (needs dist/: npm run build)', () => {
  it('a /__tidegate/ path through the edge reaches the app, not the queue-proxy', async () => {
    const r = await hit(edge!.port, '/__tidegate/metrics');
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^ok \d+$/); // the fixture app's answer
  });

  it('scales above one pod under load, without counting the load twice', async () => {
    const t0 = Date.now();
    const run = load(edge!.port, '/?sleep=100', 20);
    try {
      await waitFor(async () => (await revisionStatus(edge!.adminPort)).readyPods >= 2, 15_000, 'two or more ready pods');
      // Once the 6 s stable window holds only loaded seconds, it reads the ~20 in flight.
      await delay(Math.max(0, t0 + 9000 - Date.now()));
      const rev = await revisionStatus(edge!.adminPort);
      expect(rev.stableConcurrency).toBeGreaterThan(10);
      expect(rev.stableConcurrency).toBeLessThan(25);
      expect(rev.desiredPods).toBeGreaterThanOrEqual(2);
      expect(rev.desiredPods).toBeLessThanOrEqual(4);
    } finally {
      const outcomes = await run.stop();
      expect(tally(outcomes)).toEqual({ '200': outcomes.length });
    }
  });
});
