import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type TestEdge } from '../support/serve.js';
import { appConfig, delay, load, revisionStatus, startTwoEdges, tally, type TwoEdges } from './harness.js';

// Two `serve --redis` edges: one holds the autoscaler lease and runs the
// pods. It is shut down while the other edge is under load. Its pods leave
// with it; the survivor must take the lease, start pods of its own and hold
// the requests meanwhile: the client of the surviving edge sees no failure.
const YAML = appConfig({ minScale: 2, maxScale: 2, initialScale: 2 });
let edges: TwoEdges;
let a: TestEdge;
let b: TestEdge;

beforeAll(async () => {
  edges = await startTwoEdges(YAML, 2);
  ({ a, b } = edges);
});

afterAll(async () => {
  await edges?.close();
});

describe('autoscaler fail-over between edges', () => {
  it('the surviving edge takes over the pods without failing a request', async () => {
    const [leader, follower] = a.actuator.currentScale('app-1') > 0 ? [a, b] : [b, a];
    expect(leader.actuator.currentScale('app-1')).toBe(2);
    expect(follower.actuator.currentScale('app-1')).toBe(0);
    const oldPods = (await revisionStatus(follower.adminPort)).pods.map((p) => p.id);

    const run = load(follower.port, '/?sleep=20', 6);
    await delay(300);
    await leader.close();
    await waitFor(
      async () => {
        const rev = await revisionStatus(follower.adminPort);
        return rev.readyPods === 2 && rev.pods.every((p) => !oldPods.includes(p.id));
      },
      12_000,
      "the follower's own two pods",
    );
    await delay(300);
    const outcomes = await run.stop();

    expect(follower.actuator.currentScale('app-1')).toBe(2);
    expect(outcomes.length).toBeGreaterThan(20);
    expect(tally(outcomes)).toEqual({ '200': outcomes.length });
  });
});
