import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { waitFor, type TestEdge } from '../support/serve.js';
import { appConfig, delay, fixtureStats, hit, revisionStatus, startTwoEdges, tally, type TwoEdges } from './harness.js';

// Two edges on different ports share one Redis (`serve --redis URL`): they
// must see the same pods and the same per-revision status, only one of them
// (the lease holder) may act on the scale, and together they must not push a
// pod past its containerConcurrency (each takes its share, as Knative's
// activators do).
const YAML = appConfig({ containerConcurrency: 2, minScale: 2, maxScale: 2, initialScale: 2 });
let edges: TwoEdges;
let a: TestEdge;
let b: TestEdge;

const podIds = async (e: TestEdge) => (await revisionStatus(e.adminPort)).pods.map((p) => p.id).sort();

beforeAll(async () => {
  edges = await startTwoEdges(YAML, 2);
  ({ a, b } = edges);
});

afterAll(async () => {
  await edges?.close();
});

describe('two edges, one Redis', () => {
  it('see the same pods and the same revision status', async () => {
    expect(a.port).not.toBe(b.port);
    await waitFor(async () => JSON.stringify(await podIds(a)) === JSON.stringify(await podIds(b)), 5000, 'the same pod ids at both edges');
    const [sa, sb] = [await revisionStatus(a.adminPort), await revisionStatus(b.adminPort)];
    expect(sa.pods.map((p) => p.address).sort()).toEqual(sb.pods.map((p) => p.address).sort());
    expect(sa.desiredPods).toBe(2);
    expect(sb.desiredPods).toBe(2);
    expect(sb.mode).toBe(sa.mode);
    expect(sb.activatorInPath).toBe(sa.activatorInPath);
  });

  it('run exactly one set of pods (one autoscaler acts; the other edge does not start its own)', async () => {
    await delay(2500); // more than one autoscaler tick: a second actor would have started pods by now
    expect(a.actuator.currentScale('app-1') + b.actuator.currentScale('app-1')).toBe(2);
    expect(await podIds(a)).toHaveLength(2);
    expect(await podIds(b)).toEqual(await podIds(a));
  });

  it('both route to the shared pods, and together never exceed containerConcurrency at a pod', async () => {
    // Each edge must know there are two edges before it takes only its share.
    await waitFor(() => a.edge.edges === 2 && b.edge.edges === 2, 10_000, 'both edges to know there are two');
    const dispatcher = new Agent({ connections: 40 });
    try {
      const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => hit((i % 2 ? a : b).port, `/?sleep=60&i=${i}`, { dispatcher })));
      expect(tally(outcomes)).toEqual({ '200': 40 });
    } finally {
      await dispatcher.close();
    }
    const pods = (await revisionStatus(a.adminPort)).pods;
    const stats = await Promise.all(pods.map((p) => fixtureStats(p.address)));
    for (const s of stats) expect(s.max).toBeLessThanOrEqual(2);
    expect(Math.max(...stats.map((s) => s.max))).toBe(2); // the load did reach the limit
  });
});
