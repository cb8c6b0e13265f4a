import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { appConfig, getMetrics, getStatus, load, revisionStatus, tally } from './harness.js';

// GET /status and /metrics while one pod has 6 requests in flight.
let edge: TestEdge;

beforeAll(async () => {
  edge = await startEdge(appConfig({ minScale: 1, maxScale: 1, initialScale: 1 }));
  await waitFor(async () => (await revisionStatus(edge.adminPort)).readyPods === 1, 10_000, 'one ready pod');
});

afterAll(async () => {
  await edge?.close();
});

describe('/status and /metrics during load', () => {
  it('show the services, the pods and their in-flight requests', async () => {
    const run = load(edge.port, '/?sleep=400', 6);
    try {
      await waitFor(async () => (await revisionStatus(edge.adminPort)).pods[0]?.inFlight === 6, 5000, 'six in flight at the pod');
      const doc = await getStatus(edge.adminPort);
      expect(doc.services).toEqual([{ name: 'app', hosts: ['app.example.com'], traffic: [{ revisionName: 'app-1', percent: 100, tag: null }], effectiveTraffic: [{ revisionName: 'app-1', percent: 100, tag: null }] }]);
      expect(doc.revisions).toHaveLength(1);
      const rev = doc.revisions[0]!;
      expect(rev).toMatchObject({ name: 'app-1', service: 'app', desiredPods: 1, readyPods: 1, bufferedRequests: 0 });
      expect(['stable', 'panic']).toContain(rev.mode);
      expect(typeof rev.stableConcurrency).toBe('number');
      expect(typeof rev.panicConcurrency).toBe('number');
      expect(typeof rev.activatorInPath).toBe('boolean');
      expect(rev.pods).toHaveLength(1);
      const pod = rev.pods[0]!;
      expect(Object.keys(pod).sort()).toEqual(['address', 'id', 'inFlight', 'ready']);
      expect(pod.id).toMatch(/^app-1/);
      expect(pod.address).toMatch(/^[\w.-]+:\d+$/);
      expect(pod.ready).toBe(true);
      expect(pod.inFlight).toBe(6);

      // The autoscaler sees the load: after a couple of 1 s reports the stable average is above 0.
      await waitFor(async () => (await revisionStatus(edge.adminPort)).stableConcurrency > 1, 8000, 'stable concurrency > 1');

      const metrics = await getMetrics(edge.adminPort);
      expect(metrics).toMatch(/^tidegate_revision_ready_pods\{revision="app-1"\} 1$/m);
      expect(metrics).toMatch(/^tidegate_revision_desired_pods\{revision="app-1"\} 1$/m);
      expect(metrics).toMatch(new RegExp(`^tidegate_pod_inflight_requests\\{revision="app-1",pod="${pod.id}"\\} \\d+$`, 'm'));
      expect(metrics).toMatch(/^tidegate_activator_buffered_requests\{revision="app-1"\} 0$/m);
      expect(metrics).toMatch(/^tidegate_requests_total\{service="app",revision="app-1",code="200"\} \d+$/m);
    } finally {
      const outcomes = await run.stop();
      expect(tally(outcomes)).toEqual({ '200': outcomes.length });
    }
    await waitFor(async () => (await revisionStatus(edge.adminPort)).pods[0]?.inFlight === 0, 3000, 'nothing in flight after the load');
  });
});
