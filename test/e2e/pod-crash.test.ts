import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { alive, appConfig, delay, fixtureStats, getMetrics, load, revisionStatus, tally } from './harness.js';

// Two warm pods under steady GET load; one is SIGKILLed mid-flight. GETs are
// idempotent, so a request that hit the dead pod (reset, or refused before
// the edge learns the pod is gone) is retried once on the other pod: the
// client must never see a failure.
let edge: TestEdge;

beforeAll(async () => {
  edge = await startEdge(appConfig({ minScale: 2, maxScale: 2, initialScale: 2 }));
  await waitFor(async () => (await revisionStatus(edge.adminPort)).readyPods === 2, 10_000, 'two ready pods');
});

afterAll(async () => {
  await edge?.close();
});

describe('a pod killed under load', () => {
  it('fails no idempotent request, and the pod leaves the routing table', async () => {
    const before = await revisionStatus(edge.adminPort);
    const victim = before.pods[0]!;
    const { pid } = await fixtureStats(victim.address);

    const run = load(edge.port, '/?sleep=100', 8);
    await waitFor(() => run.outcomes.length > 10, 10_000, 'load to be served');
    // Kill it while it holds requests (on a loaded machine the load may lag behind the clock).
    const inFlight = async () => (await revisionStatus(edge.adminPort)).pods.find((p) => p.id === victim.id)?.inFlight ?? 0;
    await waitFor(async () => (await inFlight()) >= 2, 5000, 'requests in flight at the pod to kill');
    const servedBeforeKill = run.outcomes.length;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), 2000, 'the pod process to die');
    await delay(1500);
    const outcomes = await run.stop();

    expect(servedBeforeKill).toBeGreaterThan(10);
    expect(outcomes.length).toBeGreaterThan(servedBeforeKill + 10);
    expect(tally(outcomes)).toEqual({ '200': outcomes.length });
    // Requests really were in flight at the dead pod: they were retried, not lucky.
    const retries = /^tidegate_upstream_retries_total\{revision="app-1"\} (\d+)/m.exec(await getMetrics(edge.adminPort));
    expect(Number(retries?.[1] ?? 0)).toBeGreaterThanOrEqual(1);
    await waitFor(async () => !(await revisionStatus(edge.adminPort)).pods.some((p) => p.id === victim.id), 5000, 'the dead pod to leave /status');
  });

  it('is replaced so min-scale holds again', async () => {
    await waitFor(async () => (await revisionStatus(edge.adminPort)).readyPods === 2, 10_000, 'two ready pods again');
  });
});
