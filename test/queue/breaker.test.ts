import { describe, expect, it } from 'vitest';
import { Breaker, createBreaker, type BreakerWaiter } from '../../src/queue/breaker.js';
import type { LinkedList } from '../../src/shared/linked-list.js';

class W implements BreakerWaiter {
  prev: BreakerWaiter | null = null;
  next: BreakerWaiter | null = null;
  list: LinkedList<BreakerWaiter> | null = null;
  granted = 0;
  constructor(
    readonly name: string,
    private log: string[],
  ) {}
  grant(): void {
    this.granted++;
    this.log.push(this.name);
  }
}

describe('Breaker (containerConcurrency with a 10×CC queue)', () => {
  it('admits CC at once, queues 10×CC, refuses beyond', () => {
    const b = new Breaker(2);
    const log: string[] = [];
    expect([b.tryAcquire(), b.tryAcquire(), b.tryAcquire()]).toEqual([true, true, false]);
    const ws = Array.from({ length: 21 }, (_, i) => new W(`w${i}`, log));
    const accepted = ws.map((w) => b.enqueue(w));
    expect(accepted.filter(Boolean)).toHaveLength(20);
    expect(accepted[20]).toBe(false);
    expect(ws[20]!.list).toBeNull();
    expect([b.inFlight, b.queued]).toEqual([2, 20]);
  });

  it('grants released slots to waiters in FIFO order, keeping in-flight at CC', () => {
    const b = new Breaker(1);
    const log: string[] = [];
    expect(b.tryAcquire()).toBe(true);
    for (const n of ['a', 'b', 'c']) b.enqueue(new W(n, log));
    b.release();
    expect(log).toEqual(['a']);
    expect([b.inFlight, b.queued]).toEqual([1, 2]);
    b.release();
    b.release();
    expect(log).toEqual(['a', 'b', 'c']);
    b.release();
    expect([b.inFlight, b.queued]).toEqual([0, 0]);
    expect(b.tryAcquire()).toBe(true);
  });

  it('a newcomer cannot overtake the queue', () => {
    const b = new Breaker(1);
    const log: string[] = [];
    b.tryAcquire();
    b.enqueue(new W('a', log));
    b.release(); // slot passes to a
    expect(b.tryAcquire()).toBe(false);
    expect(b.inFlight).toBe(1);
  });

  it('cancel removes a waiter from anywhere in the queue; it is never granted', () => {
    const b = new Breaker(1, 5);
    const log: string[] = [];
    b.tryAcquire();
    const [a, m, z] = [new W('a', log), new W('m', log), new W('z', log)];
    b.enqueue(a);
    b.enqueue(m);
    b.enqueue(z);
    b.cancel(m);
    b.cancel(m); // twice is harmless
    expect(b.queued).toBe(2);
    b.cancel(a); // head
    b.release();
    expect(log).toEqual(['z']);
    b.cancel(z); // no longer queued: no-op
    expect([b.inFlight, b.queued]).toEqual([1, 0]);
    expect(m.granted + a.granted).toBe(0);
  });

  it('a full queue frees up as waiters leave', () => {
    const b = new Breaker(1, 1);
    const log: string[] = [];
    b.tryAcquire();
    const a = new W('a', log);
    expect(b.enqueue(a)).toBe(true);
    expect(b.enqueue(new W('b', log))).toBe(false);
    b.cancel(a);
    expect(b.enqueue(new W('c', log))).toBe(true);
  });

  it('release without holders never goes negative', () => {
    const b = new Breaker(3);
    b.release();
    expect(b.inFlight).toBe(0);
    expect([b.tryAcquire(), b.tryAcquire(), b.tryAcquire(), b.tryAcquire()]).toEqual([true, true, true, false]);
  });

  it('holds the invariants over a long random sequence', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const b = new Breaker(3);
    const log: string[] = [];
    const queued: W[] = [];
    let holders = 0;
    for (let i = 0; i < 10_000; i++) {
      const r = rand();
      if (r < 0.4) {
        if (b.tryAcquire()) holders++;
        else {
          const w = new W(String(i), log);
          if (b.enqueue(w)) queued.push(w);
        }
      } else if (r < 0.8 && holders > 0) {
        const before = log.length;
        b.release();
        if (log.length > before) queued.splice(queued.findIndex((w) => w.name === log.at(-1)), 1);
        else holders--;
      } else if (queued.length > 0) {
        const w = queued.splice(Math.floor(rand() * queued.length), 1)[0]!;
        b.cancel(w);
      }
      expect(b.inFlight).toBeLessThanOrEqual(3);
      expect(b.queued).toBe(queued.length);
      expect(b.queued).toBeLessThanOrEqual(30);
      if (b.queued > 0) expect(b.inFlight).toBe(3);
    }
  });

  it('containerConcurrency 0 means no breaker; bad capacities are refused', () => {
    expect(createBreaker(0)).toBeNull();
    expect(createBreaker(4)?.maxQueued).toBe(40);
    expect(() => new Breaker(0)).toThrow(RangeError);
    expect(() => new Breaker(1.5)).toThrow(RangeError);
  });
});
