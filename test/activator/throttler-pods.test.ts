import { describe, expect, it } from 'vitest';
import { RevisionThrottler } from '../../src/activator/throttler.js';
import { FakeClock } from '../support/fake-clock.js';
import { TestWaiter, type TestPod, pod } from './test-waiter.js';

function throttler(containerConcurrency: number) {
  return new RevisionThrottler<TestPod>({
    containerConcurrency,
    maxQueued: 100,
    maxQueuedBytes: 1 << 20,
    timeoutMs: 60_000,
    clock: new FakeClock(),
  });
}

describe('a pod becoming ready releases the buffer at once, up to capacity', () => {
  it('CC=2: 0 → 1 pod grants two waiters synchronously, in order; a second pod two more', () => {
    const t = throttler(2);
    const log: string[] = [];
    const ws = ['a', 'b', 'c', 'd', 'e'].map((n) => new TestWaiter(n, 0, log));
    for (const w of ws) t.enqueue(w);
    t.setPods([pod('1')]);
    expect(log).toEqual(['a', 'b']);
    expect(t.inFlightOf('1')).toBe(2);
    expect(t.queued).toBe(3);
    t.setPods([pod('1'), pod('2')]);
    expect(log).toEqual(['a', 'b', 'c', 'd']);
    expect(ws[2]!.slot?.id).toBe('2');
    expect(ws[3]!.slot?.id).toBe('2');
    t.release(ws[0]!.slot!);
    expect(log).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(ws[4]!.slot?.id).toBe('1');
  });

  it('CC=0: one ready pod takes every waiter', () => {
    const t = throttler(0);
    const ws = Array.from({ length: 50 }, (_, i) => new TestWaiter(String(i)));
    for (const w of ws) t.enqueue(w);
    expect(t.tryAcquire()).toBeNull();
    t.setPods([pod('1')]);
    expect(t.queued).toBe(0);
    expect(t.inFlightOf('1')).toBe(50);
    expect(t.tryAcquire()?.id).toBe('1');
  });
});

describe('capacity is per pod and never exceeded', () => {
  it('CC=3 with 2 pods: six acquisitions, then null', () => {
    const t = throttler(3);
    t.setPods([pod('1'), pod('2')]);
    const got = Array.from({ length: 6 }, () => t.tryAcquire()?.id);
    expect(got.filter((id) => id === '1')).toHaveLength(3);
    expect(got.filter((id) => id === '2')).toHaveLength(3);
    expect(t.tryAcquire()).toBeNull();
    expect(t.capacity).toBe(6);
  });

  it('a retry can exclude the pod that failed', () => {
    const t = throttler(1);
    t.setPods([pod('1'), pod('2')]);
    const a = t.tryAcquire()!;
    t.release(a);
    const b = t.tryAcquire(a);
    expect(b?.id).not.toBe(a.id);
  });
});

describe('pods leaving', () => {
  it('keep their in-flight requests counted until released, and take no new ones', () => {
    const t = throttler(1);
    t.setPods([pod('1'), pod('2')]);
    const s1 = t.tryAcquire()!;
    const s2 = t.tryAcquire()!;
    expect(s1.id).toBe('1');
    t.setPods([pod('2')]);
    expect(t.inFlight).toBe(2);
    expect(t.inFlightOf('1')).toBe(1);
    expect(t.tryAcquire()).toBeNull();
    // Pod 1 comes back while its request is still in flight: still full.
    t.setPods([pod('1'), pod('2')]);
    expect(t.tryAcquire()).toBeNull();
    t.release(s1);
    expect(t.tryAcquire()?.id).toBe('1');
    t.release(s2);
    expect(t.inFlightOf('2')).toBe(0);
  });

  it('a release on a pod that left does not grant a waiter', () => {
    const t = throttler(1);
    t.setPods([pod('1')]);
    const s = t.tryAcquire()!;
    const w = new TestWaiter('w');
    t.enqueue(w);
    t.setPods([]);
    t.release(s);
    expect(w.slot).toBeNull();
    expect(t.queued).toBe(1);
    expect(t.inFlight).toBe(0);
    expect(t.inFlightOf('1')).toBe(0);
  });

  it('a newer object for the same pod keeps the count and is handed out', () => {
    const t = throttler(2);
    t.setPods([pod('1')]);
    const s = t.tryAcquire()!;
    const newer = { ...pod('1'), tag: 'v2' };
    t.setPods([newer]);
    expect(t.inFlightOf('1')).toBe(1);
    const s2 = t.tryAcquire()!;
    expect(s2).toBe(s);
    expect(s2.pod.tag).toBe('v2');
    expect(t.tryAcquire()).toBeNull();
  });
});

describe('several edges split the pods (subsetting)', () => {
  const pods = [pod('c', '10.0.0.3:80'), pod('a', '10.0.0.1:80'), pod('b', '10.0.0.2:80')];

  it.each([
    [0, ['a', 'c'], 20],
    [1, ['b'], 10],
  ])('CC=10, 3 pods, edge %i of 2 takes %j (capacity %i)', (edge, ids, capacity) => {
    const t = throttler(10);
    t.setPods(pods);
    t.setEdges(edge, 2);
    expect(t.pods.map((s) => s.id)).toEqual(ids);
    expect(t.capacity).toBe(capacity);
    let n = 0;
    while (t.tryAcquire()) n++;
    expect(n).toBe(capacity);
  });

  it('CC=0 does not subset: every edge uses every pod', () => {
    const t = throttler(0);
    t.setPods(pods);
    t.setEdges(1, 2);
    expect(t.pods).toHaveLength(3);
  });

  it('more edges than pods: an edge gets its share of the pod', () => {
    const t = throttler(10);
    t.setPods([pod('a')]);
    t.setEdges(2, 3);
    expect(t.capacity).toBe(3);
  });
});

describe('reconfigure', () => {
  it('raising containerConcurrency releases waiters at once', () => {
    const t = throttler(1);
    t.setPods([pod('1')]);
    t.tryAcquire();
    const w = new TestWaiter('w');
    t.enqueue(w);
    t.reconfigure({ containerConcurrency: 2, maxQueued: 10, maxQueuedBytes: 10, timeoutMs: 1000 });
    expect(w.slot?.id).toBe('1');
  });
});

describe('a retry waiting for a pod avoids the one that failed it', () => {
  it('is not granted the failed pod while the revision has another, even when only the failed one is free', () => {
    const t = throttler(1);
    t.setPods([pod('1'), pod('2')]);
    const failed = t.tryAcquire()!; // the try that failed, on pod 1
    const busy = t.tryAcquire()!; // pod 2 is busy with another request
    expect([failed.id, busy.id]).toEqual(['1', '2']);
    t.release(failed);
    const retry = new TestWaiter('retry', 0, undefined, undefined, failed);
    t.enqueue(retry);
    expect(retry.slot).toBeNull(); // pod 1 is free, but it is the one to avoid
    t.release(busy);
    expect(retry.slot?.id).toBe('2');
  });

  it('is granted the failed pod at once when it is the only one', () => {
    const t = throttler(1);
    t.setPods([pod('1')]);
    const failed = t.tryAcquire()!;
    t.release(failed);
    const retry = new TestWaiter('retry', 0, undefined, undefined, failed);
    t.enqueue(retry);
    expect(retry.slot?.id).toBe('1');
  });
});
