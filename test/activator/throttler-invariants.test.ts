import { describe, expect, it } from 'vitest';
import type { PodSlot } from '../../src/activator/pod-slot.js';
import { RevisionThrottler } from '../../src/activator/throttler.js';
import { FakeClock } from '../support/fake-clock.js';
import { seededRandom } from '../support/seeded-random.js';
import { TestWaiter, type TestPod, pod } from './test-waiter.js';

/**
 * Property-style: 10,000 random steps of arrivals, releases, aborts, pod
 * churn, edge-count changes and time, checking after every step that no pod
 * exceeds its capacity, the counts match a model, waiters leave in arrival
 * order, and a request waits only while no active pod has room.
 */
const STEPS = 10_000;
const TIMEOUT = 1000;

describe.each([0, 1, 3, 5])('throttler invariants, CC=%i', (cc) => {
  it(`hold for ${STEPS} random steps`, () => {
    const rnd = seededRandom(1000 + cc);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const clock = new FakeClock();
    const t = new RevisionThrottler<TestPod>({
      containerConcurrency: cc,
      maxQueued: 40,
      maxQueuedBytes: 4000,
      timeoutMs: TIMEOUT,
      clock,
      random: seededRandom(cc),
    });
    const pool = Array.from({ length: 6 }, (_, i) => pod(String(i)));
    const held: PodSlot<TestPod>[] = [];
    const waiting = new Set<TestWaiter>();
    const seqOf = new Map<TestWaiter, number>();
    let seq = 0;
    let lastServed = -1;
    let granted = 0;
    let timedOut = 0;

    let fromQueue = 0;
    const served = (s: number, slot: PodSlot<TestPod>): void => {
      expect(s).toBeGreaterThan(lastServed); // arrival order
      lastServed = s;
      granted++;
      // Never handed out beyond capacity. (A capacity that shrank, e.g. when
      // more edges share a pod, can leave older requests above it: those
      // cannot be recalled, so the check is at hand-out time.)
      expect(slot.inFlight).toBeLessThanOrEqual(slot.capacity);
      expect(slot.active).toBe(true);
    };

    class Req extends TestWaiter {
      override grant(slot: PodSlot<TestPod>): void {
        expect(waiting.delete(this)).toBe(true);
        served(seqOf.get(this)!, slot);
        fromQueue++;
        held.push(slot);
        // An upstream that fails at once releases inside the grant (re-entrancy).
        if (rnd() < 0.1) {
          held.splice(held.indexOf(slot), 1);
          t.release(slot);
        }
      }
      override reject(): void {
        expect(waiting.delete(this)).toBe(true);
        expect(clock.now() - this.enqueuedAt).toBe(TIMEOUT);
        timedOut++;
      }
    }

    const arrive = (exclude: PodSlot<TestPod> | null): void => {
      const s = seq++;
      const slot = t.tryAcquire(exclude);
      if (slot) {
        if (exclude?.active) expect(slot).not.toBe(exclude);
        served(s, slot);
        held.push(slot);
        return;
      }
      const w = new Req(String(s), Math.floor(rnd() * 300));
      seqOf.set(w, s);
      waiting.add(w);
      if (!t.enqueue(w)) waiting.delete(w);
    };

    for (let step = 0; step < STEPS; step++) {
      const op = rnd();
      if (op < 0.35) arrive(null);
      else if (op < 0.4) arrive(held.length > 0 ? pick(held) : null);
      else if (op < 0.7) {
        if (held.length > 0) {
          const i = Math.floor(rnd() * held.length);
          const [slot] = held.splice(i, 1);
          t.release(slot!);
        }
      } else if (op < 0.8) {
        if (waiting.size > 0) {
          const w = pick([...waiting]);
          waiting.delete(w);
          expect(t.cancel(w)).toBe(true);
        }
      } else if (op < 0.9) {
        // Churn: a random subset, sometimes fresh objects for the same pods.
        const ready = pool.filter(() => rnd() < 0.5).map((p) => (rnd() < 0.5 ? { ...p } : p));
        t.setPods(ready);
      } else if (op < 0.93) {
        const n = 1 + Math.floor(rnd() * 3);
        t.setEdges(Math.floor(rnd() * n), n);
      } else {
        clock.advance(Math.floor(rnd() * 300));
      }

      // Counts match the model, per pod and in total.
      expect(t.inFlight).toBe(held.length);
      for (const p of pool) {
        const n = held.filter((s) => s.id === p.id).length;
        expect(t.inFlightOf(p.id)).toBe(n);
        if (cc > 0) expect(n).toBeLessThanOrEqual(cc);
      }
      expect(t.queued).toBe(waiting.size);
      let bytes = 0;
      for (const w of waiting) bytes += w.bytes;
      expect(t.queuedBytes).toBe(bytes);
      // Nobody waits while an active pod has room.
      if (t.queued > 0) for (const s of t.pods) expect(s.inFlight).toBeGreaterThanOrEqual(s.capacity);
    }
    // The run exercised every path it claims to.
    expect(granted).toBeGreaterThan(1000);
    expect(fromQueue).toBeGreaterThan(10);
    if (cc > 0) expect(timedOut).toBeGreaterThan(0);
  });
});
