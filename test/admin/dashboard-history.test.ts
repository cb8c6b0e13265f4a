/** Issue 15, dashboard v2: the 15 minutes of series the admin process keeps, and how a sample is made. */
import { describe, expect, it } from 'vitest';
import { History, MAX_PODS_PER_REVISION, REVISION_FIELDS, bucketQuantile, type RevisionField, type RevisionSample } from '../../src/admin/history.js';
import { HistorySampler } from '../../src/admin/history-sampler.js';
import { EdgeMetrics } from '../../src/admin/metrics.js';
import type { StatusDoc } from '../../src/admin/status.js';
import { parseConfig } from '../../src/config/parse.js';
import { FakeClock } from '../support/fake-clock.js';
import { appConfig } from '../e2e/harness.js';

const T0 = 1_700_000_000_000;

function values(over: Partial<Record<RevisionField, number>> = {}): Record<RevisionField, number> {
  const v = Object.fromEntries(REVISION_FIELDS.map((f) => [f, 0])) as Record<RevisionField, number>;
  return { ...v, ...over };
}

function rev(name: string, over: Partial<Record<RevisionField, number>> = {}, pods: string[] = []): RevisionSample {
  return { name, service: 'svc', metric: 'concurrency', targetPerPod: 7, maxScale: 5, values: values(over), pods: pods.map((id) => ({ id, inFlight: 1 })) };
}

describe('History (fixed rings)', () => {
  it('keeps the last `capacity` samples, oldest first, however long it runs', () => {
    const h = new History(900);
    for (let i = 0; i < 2500; i++) h.record({ time: T0 + i * 1000, revisions: [rev('r', { ready: i % 6 }, [`p${i % 3}`])], services: [] });
    const doc = h.since(0);
    expect(h.size).toBe(900);
    expect(doc.t).toHaveLength(900);
    expect(doc.t[0]).toBe(T0 + 1600 * 1000);
    expect(doc.t[899]).toBe(T0 + 2499 * 1000);
    expect(doc.revisions[0]!.series.ready).toHaveLength(900);
    expect(doc.revisions[0]!.series.ready[899]).toBe(2499 % 6);
    expect(doc.windowMs).toBe(900_000);
  });

  it('answers only the samples after `since`, with null where a series had no value', () => {
    const h = new History(10);
    h.record({ time: T0, revisions: [rev('a', { desired: NaN, ready: 0 })], services: [] });
    h.record({ time: T0 + 1000, revisions: [rev('a', { ready: 1 }), rev('b', { ready: 2 })], services: [] });
    h.record({ time: T0 + 2000, revisions: [rev('b', { ready: 3 })], services: [{ name: 'svc', traffic: [{ revisionName: 'b', percent: 100, tag: null }] }] });
    const all = h.since(0);
    expect(all.revisions.find((r) => r.name === 'a')!.series.desired).toEqual([null, 0, null]);
    const later = h.since(T0 + 1000);
    expect(later.t).toEqual([T0 + 2000]);
    expect(later.revisions.find((r) => r.name === 'b')!.series.ready).toEqual([3]);
    expect(later.services).toEqual([{ name: 'svc', traffic: [{ revisionName: 'b', percent: 100, tag: null }] }]);
    expect(h.since(T0 + 2000).t).toEqual([]);
  });

  it('drops a pod or a revision once its last value left the window, and caps the pods per revision', () => {
    const h = new History(5);
    h.record({ time: T0, revisions: [rev('gone', {}, ['old-pod']), rev('r', {}, ['p0'])], services: [] });
    for (let i = 1; i <= 5; i++) h.record({ time: T0 + i * 1000, revisions: [rev('r', {}, [`p${i}`])], services: [] });
    const doc = h.since(0);
    expect(doc.revisions.map((r) => r.name)).toEqual(['r']);
    expect(doc.revisions[0]!.pods.map((p) => p.id)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);

    // A long run scaling through many pod ids keeps at most MAX_PODS_PER_REVISION series.
    const big = new History(900);
    for (let i = 0; i < MAX_PODS_PER_REVISION * 3; i++) big.record({ time: T0 + i * 1000, revisions: [rev('r', {}, [`pod-${i}`])], services: [] });
    expect(big.seriesCount).toEqual({ revisions: 1, pods: MAX_PODS_PER_REVISION });
    expect(big.since(0).revisions[0]!.pods.at(-1)!.id).toBe(`pod-${MAX_PODS_PER_REVISION * 3 - 1}`);
  });
});

describe('bucketQuantile', () => {
  const bounds = [0.01, 0.05, 0.1, 1];
  it.each([
    { counts: [0, 0, 0, 0, 0], q: 0.5, want: NaN },
    { counts: [10, 0, 0, 0, 0], q: 0.5, want: 0.005 },
    { counts: [0, 0, 10, 0, 0], q: 0.5, want: 0.075 },
    { counts: [0, 0, 100, 0, 0], q: 0.99, want: 0.0995 },
    { counts: [50, 0, 0, 50, 0], q: 0.99, want: 0.1 + 0.9 * (49 / 50) },
    { counts: [0, 0, 0, 0, 4], q: 0.5, want: 1 },
  ])('$counts q=$q → $want', ({ counts, q, want }) => {
    const got = bucketQuantile(bounds, counts, q);
    if (Number.isNaN(want)) expect(got).toBeNaN();
    else expect(got).toBeCloseTo(want, 9);
  });
});

describe('HistorySampler', () => {
  it('turns the request metrics into a per-second rate, p50/p99 and cold starts, and the status into pods and concurrency', async () => {
    const parsed = parseConfig(appConfig({ target: 10, maxScale: 5 }), 'test.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const config = parsed.config;
    const clock = new FakeClock(T0);
    const metrics = new EdgeMetrics(false);
    let status: StatusDoc = {
      services: [{ name: 'app', hosts: ['app.example.com'], traffic: [{ revisionName: 'app-1', percent: 100, tag: null }] }],
      revisions: [
        { name: 'app-1', service: 'app', desiredPods: -1, readyPods: 0, mode: 'stable', stableConcurrency: 0, panicConcurrency: 0, bufferedRequests: 3, activatorInPath: true, pods: [] },
      ],
    };
    const sampler = new HistorySampler({ clock, config: () => config, status: () => status, requests: metrics.requests, duration: metrics.duration, coldStart: metrics.coldStart });
    await sampler.sample();

    // One second: 100 requests at 40 ms, one cold start of 1.5 s; the autoscaler now wants 2 pods and panics.
    const ok = metrics.requests.labels('app', 'app-1', '200');
    const dur = metrics.duration.labels('app', 'app-1');
    for (let i = 0; i < 100; i++) {
      ok.inc();
      dur.observe(0.04);
    }
    metrics.coldStart.labels('app-1').observe(1.5);
    status = {
      ...status,
      revisions: [
        {
          ...status.revisions[0]!,
          desiredPods: 2,
          readyPods: 1,
          mode: 'panic',
          stableConcurrency: 9,
          panicConcurrency: 20,
          bufferedRequests: 0,
          pods: [{ id: 'app-1-aa', address: '127.0.0.1:1', ready: true, inFlight: 12 }],
        },
      ],
    };
    clock.advance(1000);
    await sampler.sample();

    const doc = sampler.history.since(0);
    expect(doc.t).toEqual([T0, T0 + 1000]);
    const r = doc.revisions[0]!;
    expect(r).toMatchObject({ name: 'app-1', service: 'app', metric: 'concurrency', targetPerPod: 7, maxScale: 5 });
    expect(r.series.desired).toEqual([null, 2]);
    expect(r.series.ready).toEqual([0, 1]);
    expect(r.series.buffered).toEqual([3, 0]);
    expect(r.series.panicMode).toEqual([0, 1]);
    expect(r.series.stable).toEqual([0, 9]);
    expect(r.series.panic).toEqual([0, 20]);
    expect(r.series.target).toEqual([0, 7]);
    expect(r.series.rps).toEqual([0, 100]);
    // 40 ms falls in the (25 ms, 50 ms] bucket: p50 interpolates to its middle.
    expect(r.series.p50[1]).toBeCloseTo(37.5, 6);
    expect(r.series.p99[1]!).toBeGreaterThan(40);
    expect(r.series.p99[1]!).toBeLessThanOrEqual(50);
    expect(r.series.p50[0]).toBeNull();
    expect(r.series.coldStarts).toEqual([0, 1]);
    expect(r.series.coldStartMs).toEqual([null, 1500]);
    expect(r.pods).toEqual([{ id: 'app-1-aa', inFlight: [null, 12] }]);

    // A quiet second: no requests, no latency, no cold start.
    clock.advance(1000);
    await sampler.sample();
    const quiet = sampler.history.since(T0 + 1000).revisions[0]!;
    expect(quiet.series.rps).toEqual([0]);
    expect(quiet.series.p50).toEqual([null]);
    expect(quiet.series.coldStarts).toEqual([0]);
  });

  it('samples once a second on the injected clock, until stopped', async () => {
    const parsed = parseConfig(appConfig(), 'test.yaml');
    if (!parsed.ok) throw new Error('config');
    const clock = new FakeClock(T0);
    const metrics = new EdgeMetrics(false);
    const status: StatusDoc = { services: [], revisions: [] };
    const sampler = new HistorySampler({ clock, config: () => parsed.config, status: () => status, requests: metrics.requests, duration: metrics.duration, coldStart: metrics.coldStart });
    sampler.start();
    await clock.advanceAsync(5000, 1000);
    expect(sampler.history.size).toBe(5);
    sampler.stop();
    await clock.advanceAsync(3000, 1000);
    expect(sampler.history.size).toBe(5);
  });
});
