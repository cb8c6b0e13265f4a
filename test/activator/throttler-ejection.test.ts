import { describe, expect, it } from 'vitest';
import { FIRST_EJECT_MS, MAX_EJECT_MS, RevisionThrottler } from '../../src/activator/throttler.js';
import { FakeClock } from '../support/fake-clock.js';
import { TestWaiter, type TestPod, pod } from './test-waiter.js';

function throttler(containerConcurrency: number, clock: FakeClock) {
  return new RevisionThrottler<TestPod>({ containerConcurrency, maxQueued: 100, maxQueuedBytes: 1 << 20, timeoutMs: 600_000, clock });
}

describe('passive ejection of a pod that refused a connection', () => {
  it('leaves the pod out for 1 s, then takes it back and grants the requests that waited for it', () => {
    const clock = new FakeClock();
    const t = throttler(1, clock);
    t.setPods([pod('1')]);
    const slot = t.tryAcquire()!;
    t.release(slot);
    t.eject(slot);
    expect(slot.ejected).toBe(true);
    expect(t.tryAcquire()).toBeNull();
    const log: string[] = [];
    t.enqueue(new TestWaiter('w', 0, log));
    clock.advance(FIRST_EJECT_MS - 1);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['w']);
    expect(slot.ejected).toBe(false);
  });

  it('sends requests to the other pods meanwhile, and keeps the ejection across a new pod list', () => {
    const clock = new FakeClock();
    const t = throttler(0, clock);
    t.setPods([pod('1'), pod('2')]);
    const one = t.pods.find((s) => s.id === '1')!;
    t.eject(one);
    for (let i = 0; i < 50; i++) expect(t.tryAcquire()?.id).toBe('2');
    t.setPods([pod('1'), pod('2'), pod('3')]);
    for (let i = 0; i < 50; i++) expect(t.tryAcquire()?.id).not.toBe('1');
    clock.advance(FIRST_EJECT_MS);
    const ids = new Set(Array.from({ length: 100 }, () => t.tryAcquire()!.id));
    expect(ids).toContain('1');
  });

  it('doubles the time out while the pod keeps refusing, up to 30 s, and starts over once it answers', () => {
    const clock = new FakeClock();
    const t = throttler(1, clock);
    t.setPods([pod('1')]);
    const slot = t.pods[0]!;
    const outFor = (): number => {
      t.eject(slot);
      let ms = 0;
      while (slot.ejected) {
        clock.advance(100);
        ms += 100;
      }
      return ms;
    };
    expect([outFor(), outFor(), outFor()]).toEqual([1000, 2000, 4000]);
    for (let i = 0; i < 10; i++) outFor();
    expect(outFor()).toBe(MAX_EJECT_MS);
    t.answered(slot);
    expect(outFor()).toBe(FIRST_EJECT_MS);
  });

  it('forgets the ejection (and its timer) when the pod leaves', () => {
    const clock = new FakeClock();
    const t = throttler(1, clock);
    t.setPods([pod('1')]);
    const slot = t.pods[0]!;
    t.eject(slot);
    t.setPods([]);
    expect(slot.ejected).toBe(false);
    t.setPods([pod('1')]);
    expect(t.tryAcquire()?.id).toBe('1');
  });

  it('says a failure is new only once: not for a pod already left out, nor for its refusals when it is tried again', () => {
    const clock = new FakeClock();
    const t = throttler(0, clock);
    t.setPods([pod('1'), pod('2')]);
    const one = t.pods.find((s) => s.id === '1')!;
    // Several connections under way when the pod died: one failure.
    expect([t.eject(one), t.eject(one), t.eject(one)]).toEqual([true, false, false]);
    clock.advance(FIRST_EJECT_MS);
    expect(one.ejected).toBe(false);
    expect(t.eject(one)).toBe(false); // tried again, still dead: the same failure, left out for longer
    clock.advance(2 * FIRST_EJECT_MS);
    t.answered(one);
    expect(t.eject(one)).toBe(true); // it had answered in between: a new failure
  });

  it('knows when every pod taking requests is left out (and that no pod at all is not that)', () => {
    const clock = new FakeClock();
    const t = throttler(0, clock);
    expect(t.allEjected).toBe(false);
    t.setPods([pod('1'), pod('2')]);
    const [a, b] = t.pods;
    t.eject(a!);
    expect(t.allEjected).toBe(false);
    t.eject(b!);
    expect(t.allEjected).toBe(true);
    clock.advance(FIRST_EJECT_MS);
    expect(t.allEjected).toBe(false);
  });
});
