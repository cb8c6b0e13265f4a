import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { appConfig, fixtureStats, hit, revisionStatus, tally } from './harness.js';

// containerConcurrency 2 on exactly two pods: 40 requests at once must all
// succeed, and neither app ever sees more than 2 at a time (the fixture app
// records its own maximum, so this is measured at the pod, not the edge).
let edge: TestEdge;

beforeAll(async () => {
  edge = await startEdge(appConfig({ containerConcurrency: 2, minScale: 2, maxScale: 2, initialScale: 2 }));
  await waitFor(async () => (await revisionStatus(edge.adminPort)).readyPods === 2, 10_000, 'two ready pods');
});

afterAll(async () => {
  await edge?.close();
});

describe('containerConcurrency', () => {
  it('is never exceeded at any pod, and excess requests wait instead of failing', async () => {
    const dispatcher = new Agent({ connections: 40 });
    try {
      const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => hit(edge.port, `/?sleep=60&i=${i}`, { dispatcher })));
      expect(tally(outcomes)).toEqual({ '200': 40 });
    } finally {
      await dispatcher.close();
    }
    const rev = await revisionStatus(edge.adminPort);
    expect(rev.pods).toHaveLength(2);
    const stats = await Promise.all(rev.pods.map((p) => fixtureStats(p.address)));
    for (const s of stats) expect(s.max).toBeLessThanOrEqual(2);
    // The load really pushed the pods to their limit (else the check above proves nothing).
    expect(Math.max(...stats.map((s) => s.max))).toBe(2);
    expect(stats.reduce((n, s) => n + s.total, 0)).toBeGreaterThanOrEqual(40);
  });
});
