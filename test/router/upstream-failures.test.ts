import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import net from 'node:net';
import { startUpstream, startResetter, deadPort, type Upstream } from '../support/upstream.js';
import { getMetrics, startEdge, waitFor, type TestEdge } from '../support/serve.js';

let good: Upstream;
let slow: Upstream;
let resetter: Awaited<ReturnType<typeof startResetter>>;
let twice: Awaited<ReturnType<typeof startResetter>>;
let dead: number;
let edge: TestEdge;

beforeAll(async () => {
  [good, slow, resetter, dead, twice] = await Promise.all([startUpstream('good'), startUpstream('slow'), startResetter(), deadPort(), startResetter(2)]);
  edge = await startEdge(`
domain: example.com
services:
  - name: flaky
    revisions:
      - name: flaky-1
        containerConcurrency: 0
        endpoints: ["${resetter.address}", "${good.address}"]
    traffic: [{ revisionName: flaky-1, percent: 100 }]
  - name: broken
    revisions:
      - name: broken-1
        endpoints: ["${resetter.address}"]
    traffic: [{ revisionName: broken-1, percent: 100 }]
  - name: busy
    revisions:
      - name: busy-1
        containerConcurrency: 1
        endpoints: ["${resetter.address}", "${good.address}"]
    traffic: [{ revisionName: busy-1, percent: 100 }]
  - name: twice
    revisions:
      - name: twice-1
        containerConcurrency: 1
        endpoints: ["${twice.address}"]
    traffic: [{ revisionName: twice-1, percent: 100 }]
  - name: refused
    revisions:
      - name: refused-1
        endpoints: ["127.0.0.1:${dead}"]
    traffic: [{ revisionName: refused-1, percent: 100 }]
  - name: halfdead
    revisions:
      - name: halfdead-1
        containerConcurrency: 0
        endpoints: ["127.0.0.1:${dead}", "${good.address}"]
    traffic: [{ revisionName: halfdead-1, percent: 100 }]
  - name: slow
    revisions:
      - name: slow-1
        timeoutSeconds: 1
        endpoints: ["${slow.address}"]
    traffic: [{ revisionName: slow-1, percent: 100 }]
`);
  await waitFor(() => edge.edge.revision('flaky-1')?.readyPods === 2 && edge.edge.revision('slow-1')?.readyPods === 1, 5000, 'static pods');
});

afterAll(async () => {
  await edge?.close();
  await Promise.all([good?.close(), slow?.close(), resetter?.close(), twice?.close()]);
});

async function call(host: string, path = '/', method = 'GET', body?: string) {
  const res = await request(`http://127.0.0.1:${edge.port}${path}`, { method: method as 'GET', headers: { host }, ...(body !== undefined ? { body } : {}) });
  return { status: res.statusCode, body: await res.body.text(), error: res.headers['x-tidegate-error'] };
}

describe('upstream failures', () => {
  it('retries an idempotent request on another pod after a reset', async () => {
    const before = resetter.accepted;
    for (let i = 0; i < 20; i++) {
      const r = await call('flaky.example.com');
      expect(r.status).toBe(200);
      expect(r.body).toBe('good\n');
    }
    expect(resetter.accepted).toBeGreaterThan(before); // the resetting pod was really tried
  });

  it('answers 502 upstream-reset for a POST (not retried)', async () => {
    const r = await call('broken.example.com', '/', 'POST', 'x');
    expect(r.status).toBe(502);
    expect(r.error).toBe('upstream-reset');
  });

  it('a request whose pod resets while every other pod is full waits for a free one instead of failing', async () => {
    // Fills the good pod's only slot (directly, or after the resetting pod passed it on: pods are
    // tried in address order, and the ports are the OS's choice).
    const hold = call('busy.example.com', '/?sleep=400');
    await waitFor(() => good.seen.some((r) => r.url === '/?sleep=400'), 2000, 'the slow request at the good pod');
    const held = resetter.accepted;
    const r = await call('busy.example.com');
    expect(r).toMatchObject({ status: 200, body: 'good\n' });
    expect(resetter.accepted).toBe(held + 1); // the only free pod was the resetting one: it really met the reset
    expect((await hold).status).toBe(200);
    // Both pods' slots were given back (containerConcurrency 1: a leaked slot would hold these forever).
    const again = await Promise.all([call('busy.example.com', '/?sleep=50'), call('busy.example.com', '/?sleep=50')].map((p) => p.then((r) => r.status)));
    expect(again).toEqual([200, 200]);
  });

  it('gets a request through on its third try when the only pod resets twice, with one cold-start header', async () => {
    const res = await request(`http://127.0.0.1:${edge.port}/`, { headers: { host: 'twice.example.com' } });
    expect(await res.body.text()).toBe('ok');
    expect(res.statusCode).toBe(200);
    expect(twice.accepted).toBe(3);
    // It waited in the buffer twice; the header says so once.
    expect(res.headers['x-tidegate-cold-start']).toMatch(/^\d+$/);
    // Every slot it took on the way was given back: with containerConcurrency 1, a leaked one would hold the next request forever.
    const next = await request(`http://127.0.0.1:${edge.port}/`, { headers: { host: 'twice.example.com' }, signal: AbortSignal.timeout(2000) });
    expect(await next.body.text()).toBe('ok');
  });

  it('answers 502 upstream-reset when the only pod keeps resetting, after its retries', async () => {
    const r = await call('broken.example.com');
    expect(r.status).toBe(502);
    expect(r.error).toBe('upstream-reset');
  });

  it('answers 502 upstream-refused when nothing listens', async () => {
    const r = await call('refused.example.com');
    expect(r.status).toBe(502);
    expect(r.error).toBe('upstream-refused');
  });

  it('leaves a static pod that refused out of rotation: the next requests go straight to the pod that answers', async () => {
    const results = [];
    for (let i = 0; i < 20; i++) results.push((await call('halfdead.example.com')).status);
    expect(results).toEqual(Array.from({ length: 20 }, () => 200));
    // Twenty requests over two pods, but the refusing one was met once: then it was left out (for 1 s).
    const metrics = await getMetrics(edge.adminPort);
    expect(/^tidegate_pod_ejections_total\{revision="halfdead-1"\} (\d+)/m.exec(metrics)?.[1]).toBe('1');
  });

  it("answers 504 upstream-timeout after the revision's timeoutSeconds", async () => {
    const t0 = Date.now();
    const r = await call('slow.example.com', '/?sleep=3000');
    expect(r.status).toBe(504);
    expect(r.error).toBe('upstream-timeout');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  it('aborts the upstream request and releases counters when the client goes away', async () => {
    const before = slow.seen.length;
    const socket = net.connect(edge.port, '127.0.0.1');
    socket.write('GET /?sleep=800 HTTP/1.1\r\nHost: slow.example.com\r\n\r\n');
    await waitFor(() => slow.seen.length > before, 2000, 'request at upstream');
    expect(edge.edge.revision('slow-1')!.throttler.inFlight).toBe(1);
    socket.destroy();
    await waitFor(() => edge.edge.revision('slow-1')!.throttler.inFlight === 0, 2000, 'in-flight released');
    expect(edge.edge.requestsInFlight).toBe(0);
    // The pool dropped the aborted connection; the next request still works.
    const r = await call('slow.example.com');
    expect(r.status).toBe(200);
  });
});
