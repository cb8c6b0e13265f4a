import { describe, expect, it } from 'vitest';
import type { PodSlot } from '../../src/activator/pod-slot.js';
import { SharedCapacity } from '../../src/activator/shared-capacity.js';
import { FIRST_EJECT_MS, RevisionThrottler } from '../../src/activator/throttler.js';
import { TidegateError } from '../../src/shared/errors.js';
import { FakeClock } from '../support/fake-clock.js';
import { seededRandom } from '../support/seeded-random.js';
import { TestWaiter, type TestPod, pod } from './test-waiter.js';

/**
 * Several throttlers of one revision over one SharedCapacity, as the event
 * loops of a `serve --workers N` process have them. A loop's onFreed goes to
 * the others as a message they read later (`mail`), as postMessage would:
 * nothing here is delivered synchronously unless the test says so.
 */
const REV = 3;
const TIMEOUT = 1000;

function sharedPod(id: string, index: number): TestPod {
  return { ...pod(id), sharedIndex: index };
}

interface Loop {
  readonly n: number;
  readonly view: SharedCapacity;
  readonly t: RevisionThrottler<TestPod>;
}

function eventLoops(loops: number, cc: number, seed = 1) {
  const clock = new FakeClock();
  const main = SharedCapacity.create(loops, { maxPods: 16, maxRevisions: 8 });
  /** Loops with a wake on its way (coalesced, like one message per loop per turn). */
  const mail = new Set<number>();
  const all: Loop[] = [];
  for (let n = 0; n < loops; n++) {
    const view = n === 0 ? main : SharedCapacity.attach(main.buffer, loops, n, { maxPods: 16, maxRevisions: 8 });
    const t = new RevisionThrottler<TestPod>({
      containerConcurrency: cc,
      maxQueued: 1000,
      maxQueuedBytes: 1 << 30,
      timeoutMs: TIMEOUT,
      clock,
      random: seededRandom(seed + n),
      shared: {
        capacity: view,
        revision: REV,
        onFreed: () => {
          for (let m = 0; m < loops; m++) if (m !== n) mail.add(m);
        },
      },
    });
    all.push({ n, view, t });
  }
  /** Delivers every wake on its way, and those they cause; returns how many. */
  const flush = (): number => {
    let delivered = 0;
    while (mail.size > 0) {
      const [m] = mail;
      mail.delete(m!);
      all[m!]!.t.wake();
      if (++delivered > 10_000) throw new Error('wakes never settle');
    }
    return delivered;
  };
  return { clock, main, loops: all, mail, flush };
}

describe('shared capacity across event loops: random interleavings', () => {
  describe.each([
    { loops: 2, cc: 1, pods: 1 },
    { loops: 3, cc: 1, pods: 2 },
    { loops: 4, cc: 2, pods: 3 },
  ])('$loops loops, CC $cc, $pods pods', ({ loops, cc, pods }) => {
    it('never exceed CC at a pod, count every request once, grant in global arrival order and leave nobody waiting beside room', () => {
      const STEPS = 4000;
      const rnd = seededRandom(loops * 100 + cc * 10 + pods);
      const { clock, main, loops: ls, mail, flush } = eventLoops(loops, cc, loops);
      const pool = Array.from({ length: pods }, (_, i) => sharedPod(String(i + 1), i + 2));
      for (const l of ls) l.t.setPods(pool);

      const held: { loop: Loop; slot: PodSlot<TestPod> }[] = [];
      const waiting = new Set<Req>();
      let lastTicket = 0;
      let fromQueue = 0;
      let direct = 0;
      let timedOut = 0;
      let wakes = 0;

      class Req extends TestWaiter {
        constructor(readonly loop: Loop) {
          super('r');
        }
        override grant(slot: PodSlot<TestPod>): void {
          expect(waiting.delete(this)).toBe(true);
          expect(this.ticket).toBeGreaterThan(lastTicket); // global arrival order
          lastTicket = this.ticket;
          expect(slot.inFlight).toBeLessThanOrEqual(cc);
          fromQueue++;
          held.push({ loop: this.loop, slot });
        }
        override reject(err: TidegateError): void {
          expect(waiting.delete(this)).toBe(true);
          expect(err.code).toBe('TG_ERR_BUFFER_TIMEOUT');
          timedOut++;
        }
      }

      const checkCounts = (): void => {
        for (const p of pool) {
          const mine = ls.map((l) => l.t.inFlightOf(p.id));
          const sum = mine.reduce((a, b) => a + b, 0);
          expect(main.inFlight(p.sharedIndex!)).toBe(sum);
          expect(sum).toBe(held.filter((h) => h.slot.id === p.id).length);
          expect(sum).toBeLessThanOrEqual(cc);
          ls.forEach((l, n) => expect(main.heldBy(n, p.sharedIndex!)).toBe(mine[n]));
        }
        for (const l of ls) {
          expect(l.t.inFlight).toBe(held.filter((h) => h.loop === l).length);
          expect(l.t.queued).toBe([...waiting].filter((w) => w.loop === l).length);
        }
      };

      // With every wake delivered, the oldest waiter of all waits only while its loop sees no room.
      const checkNobodyStuck = (): void => {
        wakes += flush();
        let oldest: Req | null = null;
        for (const w of waiting) if (oldest === null || w.ticket < oldest.ticket) oldest = w;
        if (oldest === null) return;
        for (const s of oldest.loop.t.pods) expect(s.inFlight).toBeGreaterThanOrEqual(s.capacity);
      };

      for (let step = 0; step < STEPS; step++) {
        const op = rnd();
        const loop = ls[Math.floor(rnd() * ls.length)]!;
        if (op < 0.25) {
          // Now and then a burst, so that buffers fill even with room for several.
          for (let k = rnd() < 0.1 ? 2 * cc * pods : 1; k > 0; k--) {
            const slot = loop.t.tryAcquire();
            if (slot !== null) {
              expect(waiting.size).toBe(0); // a newcomer never overtakes a waiter, in any loop
              direct++;
              held.push({ loop, slot });
            } else {
              const w = new Req(loop);
              waiting.add(w);
              expect(loop.t.enqueue(w)).toBe(true);
            }
          }
        } else if (op < 0.55) {
          if (held.length > 0) {
            const [h] = held.splice(Math.floor(rnd() * held.length), 1);
            h!.loop.t.release(h!.slot);
          }
        } else if (op < 0.62) {
          const ws = [...waiting];
          if (ws.length > 0) {
            const w = ws[Math.floor(rnd() * ws.length)]!;
            waiting.delete(w);
            expect(w.loop.t.cancel(w)).toBe(true);
          }
        } else if (op < 0.85) {
          // One wake arrives (the others stay on their way).
          const pending = [...mail];
          if (pending.length > 0) {
            const m = pending[Math.floor(rnd() * pending.length)]!;
            mail.delete(m);
            ls[m]!.t.wake();
          }
        } else if (op < 0.91) {
          clock.advance(Math.floor(rnd() * 300));
        } else if (op < 0.95) {
          // Pod churn, seen by one loop first or by all at once; sometimes fresh objects for the same pods.
          const ready = pool.filter(() => rnd() < 0.7).map((p) => (rnd() < 0.5 ? { ...p } : p));
          for (const l of rnd() < 0.5 ? [loop] : ls) l.t.setPods(ready);
        } else if (op < 0.97) {
          // A refused connection: that loop alone leaves the pod out for a while.
          const mine = held.filter((h) => h.loop === loop);
          if (mine.length > 0) loop.t.eject(mine[Math.floor(rnd() * mine.length)]!.slot);
        } else {
          for (const l of ls) l.t.setPods(pool);
          checkNobodyStuck();
          // A lull: the buffers empty (served or timed out), so arrivals find room again.
          if (rnd() < 0.5) clock.advance(TIMEOUT);
        }
        checkCounts();
        if (rnd() < 0.1) checkNobodyStuck();
      }

      // Drain: everything in flight finishes; every waiter is served or times out.
      for (let round = 0; held.length > 0 || waiting.size > 0; round++) {
        expect(round).toBeLessThan(10_000);
        for (const l of ls) l.t.setPods(pool);
        for (const h of held.splice(0)) h.loop.t.release(h.slot);
        checkNobodyStuck();
        checkCounts();
        clock.advance(100);
      }
      for (const p of pool) expect(main.inFlight(p.sharedIndex!)).toBe(0);
      for (const l of ls) expect(l.view.olderElsewhere(REV, Infinity)).toBe(false);
      // The run exercised what it claims to.
      expect(direct).toBeGreaterThan(50);
      expect(fromQueue).toBeGreaterThan(200);
      expect(wakes).toBeGreaterThan(100);
      expect(timedOut).toBeGreaterThan(50);
    });
  });
});

describe('shared capacity across event loops: arrival order', () => {
  it('waiters enqueued in loops A, B, A are granted in that order as the slot frees', () => {
    const { loops: [a, b], main, mail, flush } = eventLoops(2, 1);
    const p = sharedPod('1', 0);
    a!.t.setPods([p]);
    b!.t.setPods([p]);
    const first = a!.t.tryAcquire()!;
    expect(b!.t.tryAcquire()).toBeNull(); // CC 1 holds across loops
    const log: string[] = [];
    const a1 = new TestWaiter('a1', 0, log);
    const b2 = new TestWaiter('b2', 0, log);
    const a3 = new TestWaiter('a3', 0, log);
    a!.t.enqueue(a1);
    b!.t.enqueue(b2);
    a!.t.enqueue(a3);
    expect(a1.ticket < b2.ticket && b2.ticket < a3.ticket).toBe(true);

    a!.t.release(first);
    expect(log).toEqual(['a1']); // the oldest is A's own: granted at once
    a!.t.release(a1.slot!);
    // Free now, and A's a3 waits behind B's older b2: B is told, A keeps its hands off.
    expect(log).toEqual(['a1']);
    expect(main.inFlight(0)).toBe(0);
    expect([...mail]).toEqual([1]);
    expect(a!.t.tryAcquire()).toBeNull();
    flush();
    expect(log).toEqual(['a1', 'b2']);
    b!.t.release(b2.slot!);
    flush();
    expect(log).toEqual(['a1', 'b2', 'a3']);
    a!.t.release(a3.slot!);
    expect(main.inFlight(0)).toBe(0);
    expect(a!.t.inFlight + b!.t.inFlight).toBe(0);
  });

  it('over three loops and two pods, grants follow the tickets whatever loop frees the slot', () => {
    const { loops: ls, flush } = eventLoops(3, 1);
    const pods = [sharedPod('1', 0), sharedPod('2', 1)];
    for (const l of ls) l.t.setPods(pods);
    /** Requests in flight, finished oldest first, each by the loop that holds it. */
    const running: { n: number; slot: PodSlot<TestPod> }[] = [
      { n: 0, slot: ls[0]!.t.tryAcquire()! },
      { n: 1, slot: ls[1]!.t.tryAcquire()! },
    ];
    const log: string[] = [];
    const order = [0, 1, 0, 2, 1, 2, 2, 0];
    order.forEach((n, i) => {
      const w = new TestWaiter(`${i}@${n}`, 0, log, (slot) => running.push({ n, slot }));
      expect(ls[n]!.t.enqueue(w)).toBe(true);
    });
    expect(log).toEqual([]);
    while (running.length > 0) {
      const { n, slot } = running.shift()!;
      ls[n]!.t.release(slot);
      flush();
    }
    expect(log).toEqual(order.map((n, i) => `${i}@${n}`));
  });

  it('a loop that keeps releasing and coming back takes turns with the other loop instead of starving it', () => {
    const { loops: [a, b], flush } = eventLoops(2, 1);
    const p = sharedPod('1', 0);
    a!.t.setPods([p]);
    b!.t.setPods([p]);
    const turns: string[] = [];
    let slot = a!.t.tryAcquire()!;
    let holder = a!;
    const arrive = (l: Loop): void => {
      expect(l.t.tryAcquire()).toBeNull(); // the other loop waits, or the slot is taken
      const w = new TestWaiter(l === a ? 'A' : 'B', 0, turns, (s) => {
        slot = s;
        holder = l;
      });
      l.t.enqueue(w);
    };
    arrive(b!);
    for (let i = 0; i < 100; i++) {
      const releasing = holder;
      releasing.t.release(slot);
      arrive(releasing); // right back, before the other loop has heard of the free slot
      flush();
    }
    expect(turns).toEqual(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 'B' : 'A')));
  });

  it('a waiter its loop cannot serve holds the other loops back only until it leaves', () => {
    const { clock, loops: [a, b], flush } = eventLoops(2, 1);
    const p = sharedPod('1', 0);
    a!.t.setPods([p]);
    b!.t.setPods([p]);
    // A's connection was refused: A leaves the pod out for a while, B does not.
    const refused = a!.t.tryAcquire()!;
    a!.t.release(refused);
    a!.t.eject(refused);
    clock.advance(1);
    const log: string[] = [];
    const old = new TestWaiter('a-old', 0, log);
    a!.t.enqueue(old);
    const later = new TestWaiter('b-later', 0, log);
    b!.t.enqueue(later);
    expect(log).toEqual([]); // B defers to A's older waiter
    expect(a!.t.cancel(old)).toBe(true); // the client gave up
    flush();
    expect(log).toEqual(['b-later']);
    // A timeout lets go the same way. A is refused again: out for 2 s now, longer than the buffer timeout.
    b!.t.release(later.slot!);
    clock.advance(FIRST_EJECT_MS);
    const again = a!.t.tryAcquire()!;
    a!.t.release(again);
    a!.t.eject(again);
    const old2 = new TestWaiter('a-old2', 0, log);
    a!.t.enqueue(old2);
    clock.advance(10);
    const later2 = new TestWaiter('b-later2', 0, log);
    b!.t.enqueue(later2);
    clock.advance(TIMEOUT - 11);
    flush();
    expect(log).toEqual(['b-later']);
    clock.advance(1);
    expect(old2.error?.code).toBe('TG_ERR_BUFFER_TIMEOUT');
    flush();
    expect(log).toEqual(['b-later', 'b-later2']);
  });
});

describe('shared capacity across event loops: a race for the last slot', () => {
  /** A view whose next look at `pod` comes from before another loop took it, as happens between two threads. */
  function staleOnce(view: SharedCapacity, pod: number): SharedCapacity {
    let stale = true;
    return new Proxy(view, {
      get(target, key, receiver): unknown {
        if (key !== 'inFlight') return Reflect.get(target, key, receiver) as unknown;
        return (p: number) => {
          if (p === pod && stale) {
            stale = false;
            return 0;
          }
          return target.inFlight(p);
        };
      },
    });
  }

  function racing(pods: TestPod[]) {
    const clock = new FakeClock();
    const main = SharedCapacity.create(2, { maxPods: 4, maxRevisions: 1 });
    const other = SharedCapacity.attach(main.buffer, 2, 1, { maxPods: 4, maxRevisions: 1 });
    const t = new RevisionThrottler<TestPod>({
      containerConcurrency: 1,
      maxQueued: 10,
      maxQueuedBytes: 1000,
      timeoutMs: TIMEOUT,
      clock,
      shared: { capacity: staleOnce(main, 0), revision: 0, onFreed: () => undefined },
    });
    t.setPods(pods);
    expect(other.take(0, 1)).toBe(true); // the other loop wins pod 1
    return { t, main };
  }

  it('the take fails, and the policy looks again and finds the next pod', () => {
    const { t, main } = racing([sharedPod('1', 0), sharedPod('2', 1)]);
    expect(t.tryAcquire()?.id).toBe('2');
    expect([main.inFlight(0), main.inFlight(1)]).toEqual([1, 1]);
    expect(t.inFlightOf('1')).toBe(0);
  });

  it('with no other pod the request waits, and nothing was counted for it', () => {
    const { t, main } = racing([sharedPod('1', 0)]);
    expect(t.tryAcquire()).toBeNull();
    expect([main.inFlight(0), main.heldBy(0, 0), t.inFlight]).toEqual([1, 0, 0]);
  });
});

describe('shared capacity across event loops: the pod set and the revision change', () => {
  it('a slot retired with requests in flight still gives back to the shared count', () => {
    const { loops: [a, b], main, flush } = eventLoops(2, 1);
    const p = sharedPod('1', 0);
    a!.t.setPods([p]);
    b!.t.setPods([p]);
    const s = a!.t.tryAcquire()!;
    a!.t.setPods([]);
    const log: string[] = [];
    b!.t.enqueue(new TestWaiter('b', 0, log));
    a!.t.release(s); // the pod left A's ready set, not B's
    expect(main.inFlight(0)).toBe(0);
    flush();
    expect(log).toEqual(['b']);
    expect(main.inFlight(0)).toBe(1);
    expect(a!.t.inFlightOf('1')).toBe(0);
  });

  it("a worker that died is given back by the main thread, and the others' waiters go", () => {
    const { loops: [a, b], main } = eventLoops(2, 1);
    const p = sharedPod('1', 0);
    a!.t.setPods([p]);
    b!.t.setPods([p]);
    b!.t.tryAcquire();
    b!.t.enqueue(new TestWaiter('b-dead'));
    const log: string[] = [];
    a!.t.enqueue(new TestWaiter('a', 0, log));
    // Worker 1 is gone with its request and its waiter.
    expect(main.releaseWorker(1)).toBe(1);
    a!.t.wake();
    expect(log).toEqual(['a']);
    expect(main.inFlight(0)).toBe(1);
  });

  it('CC 1 → 0 stops sharing (in-flight requests still give back); 0 → 1 counts what is in flight before taking more', () => {
    const { loops: [a, b], main, flush } = eventLoops(2, 1);
    const p = sharedPod('1', 0);
    a!.t.setPods([p]);
    b!.t.setPods([p]);
    const limits = { maxQueued: 1000, maxQueuedBytes: 1 << 30, timeoutMs: TIMEOUT };
    const shared = a!.t.tryAcquire()!;
    a!.t.reconfigure({ ...limits, containerConcurrency: 0 });
    const free1 = a!.t.tryAcquire()!;
    const free2 = a!.t.tryAcquire()!;
    expect(main.inFlight(0)).toBe(1); // only the one taken under CC 1
    a!.t.release(shared);
    expect(main.inFlight(0)).toBe(0);
    expect(a!.t.inFlightOf('1')).toBe(2);
    a!.t.reconfigure({ ...limits, containerConcurrency: 1 });
    expect(main.inFlight(0)).toBe(2); // both are at the pod
    const log: string[] = [];
    b!.t.enqueue(new TestWaiter('b', 0, log));
    a!.t.release(free1);
    flush();
    expect(log).toEqual([]); // still 1 of 1
    a!.t.release(free2);
    flush();
    expect(log).toEqual(['b']);
  });

  it('a loop that goes to CC 0 withdraws its waiters from the order', () => {
    const { loops: [a, b] } = eventLoops(2, 1);
    a!.t.enqueue(new TestWaiter('cold')); // no pod yet
    expect(b!.view.olderElsewhere(REV, Infinity)).toBe(true);
    a!.t.reconfigure({ maxQueued: 1000, maxQueuedBytes: 1 << 30, timeoutMs: TIMEOUT, containerConcurrency: 0 });
    expect(b!.view.olderElsewhere(REV, Infinity)).toBe(false);
    // And back: its waiter rejoins with a new ticket.
    a!.t.reconfigure({ maxQueued: 1000, maxQueuedBytes: 1 << 30, timeoutMs: TIMEOUT, containerConcurrency: 1 });
    expect(b!.view.olderElsewhere(REV, Infinity)).toBe(true);
  });

  it('rejectAll and setPods with pods that have no shared index keep working', () => {
    const { loops: [a, b] } = eventLoops(2, 1);
    a!.t.setPods([pod('local')]);
    const s = a!.t.tryAcquire()!;
    expect(a!.t.tryAcquire()).toBeNull(); // CC 1 still holds within the loop
    a!.t.enqueue(new TestWaiter('w'));
    expect(b!.view.olderElsewhere(REV, Infinity)).toBe(true);
    a!.t.rejectAll(new TidegateError('TG_ERR_SHUTTING_DOWN', 'bye'));
    expect(b!.view.olderElsewhere(REV, Infinity)).toBe(false);
    a!.t.release(s);
    expect(a!.t.inFlight).toBe(0);
    expect(a!.t.tryAcquire()?.id).toBe('local');
  });
});

describe('revisions with CC 0 do not touch shared memory', () => {
  it('runs warm, cold, abort, timeout, ejection and shutdown traffic against a SharedCapacity whose every method throws', () => {
    const clock = new FakeClock();
    const trap = new Proxy(
      {},
      {
        get(_, key) {
          throw new Error(`touched SharedCapacity.${String(key)}`);
        },
      },
    ) as SharedCapacity;
    const t = new RevisionThrottler<TestPod>({
      containerConcurrency: 0,
      maxQueued: 100,
      maxQueuedBytes: 1 << 20,
      timeoutMs: TIMEOUT,
      clock,
      shared: {
        capacity: trap,
        revision: 0,
        onFreed: () => {
          throw new Error('onFreed called');
        },
      },
    });
    // Cold: waiters, one aborted, one timed out, the rest served by the first pod.
    const log: string[] = [];
    const ws = Array.from({ length: 5 }, (_, i) => new TestWaiter(`w${i}`, 0, log));
    for (const w of ws) expect(t.enqueue(w)).toBe(true);
    expect(t.cancel(ws[1]!)).toBe(true);
    clock.advance(TIMEOUT / 2);
    const late = new TestWaiter('late', 0, log);
    t.enqueue(late);
    t.cancel(ws[0]!);
    clock.advance(TIMEOUT / 2);
    expect(ws[2]!.error?.code).toBe('TG_ERR_BUFFER_TIMEOUT');
    t.setPods([sharedPod('1', 0), sharedPod('2', 1)]);
    expect(late.slot).not.toBeNull();
    // Warm traffic, ejection, wake, shutdown.
    const held: PodSlot<TestPod>[] = [];
    for (let i = 0; i < 1000; i++) {
      held.push(t.tryAcquire()!);
      if (i % 3 === 0) t.release(held.shift()!);
    }
    t.eject(held[0]!);
    clock.advance(FIRST_EJECT_MS);
    t.wake();
    for (const s of held.splice(0)) t.release(s);
    t.rejectAll(new TidegateError('TG_ERR_SHUTTING_DOWN', 'bye'));
    t.setPods([]);
    expect(t.inFlight).toBe(1); // `late`
    expect(held.length).toBe(0);
  });

  it('an unshared throttler counts as before: inFlight is its own count', () => {
    const t = new RevisionThrottler<TestPod>({ containerConcurrency: 2, maxQueued: 1, maxQueuedBytes: 1, timeoutMs: 1, clock: new FakeClock() });
    t.setPods([sharedPod('1', 0)]); // an index without a SharedCapacity means nothing
    const s = t.tryAcquire()!;
    expect([s.inFlight, s.held, s.sharedHeld, s.shared]).toEqual([1, 1, 0, null]);
  });
});
