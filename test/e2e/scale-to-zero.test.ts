import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { alive, appConfig, fixtureStats, load, revisionStatus, tally } from './harness.js';

// Short windows (stable 6 s, grace 1 s): load of ~20 in flight against a
// target of 10 (7 with the 70 % utilisation) scales the revision up past one
// pod; once the load stops the stable average falls to zero and the pods go
// away, their processes with them.
let edge: TestEdge;

beforeAll(async () => {
  edge = await startEdge(appConfig({ target: 10, maxScale: 5 }));
});

afterAll(async () => {
  await edge?.close();
});

describe('scale up and back to zero', () => {
  const pids = new Set<number>();

  it('scales up under load without failing a request', async () => {
    const run = load(edge.port, '/?sleep=100', 20);
    try {
      await waitFor(async () => (await revisionStatus(edge.adminPort)).readyPods >= 2, 12_000, 'two or more ready pods');
      const rev = await revisionStatus(edge.adminPort);
      expect(rev.desiredPods).toBeGreaterThanOrEqual(2);
      expect(rev.desiredPods).toBeLessThanOrEqual(5);
      for (const pod of rev.pods) pids.add((await fixtureStats(pod.address)).pid);
    } finally {
      const outcomes = await run.stop();
      expect(outcomes.length).toBeGreaterThan(20);
      expect(tally(outcomes)).toEqual({ '200': outcomes.length });
    }
    expect(pids.size).toBeGreaterThanOrEqual(2);
  });

  it('scales back to zero pods after the stable window and grace period, stopping the processes', async () => {
    await waitFor(
      async () => {
        const rev = await revisionStatus(edge.adminPort);
        return rev.desiredPods === 0 && rev.readyPods === 0 && rev.pods.length === 0;
      },
      20_000,
      'zero pods',
    );
    await waitFor(() => [...pids].every((pid) => !alive(pid)), 5000, 'pod processes to exit');
    expect(edge.actuator.currentScale('app-1')).toBe(0);
  });

  it('wakes up again from zero', async () => {
    const res = await edge.get('app.example.com', '/');
    expect(res.status).toBe(200);
    expect(res.headers['x-tidegate-cold-start']).toBeDefined();
  });
});
