import { describe, expect, it } from 'vitest';
import { SharedCapacity, SharedIndex } from '../../src/activator/shared-capacity.js';

/** Several attach() views of one buffer in one thread act as the loops of a process. */
function loops(workers: number, options?: { maxPods?: number; maxRevisions?: number }): SharedCapacity[] {
  const main = SharedCapacity.create(workers, options);
  const views = [main];
  for (let w = 1; w < workers; w++) views.push(SharedCapacity.attach(main.buffer, workers, w, options));
  return views;
}

describe('SharedCapacity counts', () => {
  it('takes up to the capacity across loops, and no further', () => {
    const [a, b, c] = loops(3, { maxPods: 8, maxRevisions: 2 });
    expect(a!.take(5, 2)).toBe(true);
    expect(b!.take(5, 2)).toBe(true);
    expect(c!.take(5, 2)).toBe(false);
    expect(a!.take(5, 2)).toBe(false);
    expect(a!.inFlight(5)).toBe(2);
    expect(c!.inFlight(5)).toBe(2);
    // A refused take changed nothing.
    expect(c!.heldBy(2, 5)).toBe(0);
    expect([a!.heldBy(0, 5), a!.heldBy(1, 5)]).toEqual([1, 1]);
    // Other pods are untouched.
    expect(a!.inFlight(4)).toBe(0);
    expect(a!.inFlight(6)).toBe(0);
  });

  it('give says whether the pod was full before', () => {
    const [a, b] = loops(2, { maxPods: 4, maxRevisions: 1 });
    a!.take(0, 3);
    a!.take(0, 3);
    b!.take(0, 3);
    expect(b!.give(0, 3)).toBe(true); // 3 of 3: someone may be waiting for it
    expect(a!.give(0, 3)).toBe(false); // 2 of 3
    expect(a!.inFlight(0)).toBe(1);
    expect(b!.take(0, 3)).toBe(true);
  });

  it('capacity 0 refuses everything, Infinity refuses nothing', () => {
    const [a] = loops(1, { maxPods: 2, maxRevisions: 1 });
    expect(a!.take(1, 0)).toBe(false);
    for (let i = 0; i < 1000; i++) expect(a!.take(1, Infinity)).toBe(true);
    expect(a!.inFlight(1)).toBe(1000);
    // A lower capacity than the count (a reload shrank it) refuses until enough are back.
    expect(a!.take(1, 10)).toBe(false);
    expect(a!.give(1, 10)).toBe(true);
    expect(a!.inFlight(1)).toBe(999);
  });

  it('a give with nothing in flight leaves the count at 0', () => {
    const [a, b] = loops(2, { maxPods: 2, maxRevisions: 1 });
    expect(a!.give(0, 1)).toBe(false);
    expect(a!.inFlight(0)).toBe(0);
    expect(b!.take(0, 1)).toBe(true);
    expect(a!.take(0, 1)).toBe(false);
  });

  it('refuses pod and revision indices outside its range instead of writing into a neighbour', () => {
    const [a] = loops(2, { maxPods: 4, maxRevisions: 2 });
    expect(() => a!.take(4, 1)).toThrow(/pod index 4 is outside 0 … 3/);
    expect(() => a!.take(-1, 1)).toThrow(RangeError);
    expect(() => a!.ticket(2)).toThrow(/revision index 2 is outside 0 … 1/);
    expect(() => a!.releaseWorker(2)).toThrow(/worker must be 0 … 1/);
  });

  it('attach checks the buffer against the layout and the worker number', () => {
    const main = SharedCapacity.create(2, { maxPods: 16, maxRevisions: 4 });
    expect(() => SharedCapacity.attach(main.buffer, 3, 1, { maxPods: 16, maxRevisions: 4 })).toThrow(/made for 2 workers, 16 pods and 4 revisions, not 3 workers/);
    expect(() => SharedCapacity.attach(main.buffer, 2, 1)).toThrow(/not 2 workers, 65536 pods and 4096 revisions/);
    expect(() => SharedCapacity.attach(new SharedArrayBuffer(64), 2, 1)).toThrow(/made for something else/);
    expect(() => SharedCapacity.attach(main.buffer, 2, 2, { maxPods: 16, maxRevisions: 4 })).toThrow(/worker must be 0 … 1/);
    expect(() => SharedCapacity.create(0)).toThrow(/workers must be a positive integer/);
    const view = SharedCapacity.attach(main.buffer, 2, 1, { maxPods: 16, maxRevisions: 4 });
    expect([view.workers, view.worker, view.buffer]).toEqual([2, 1, main.buffer]);
    expect([main.workers, main.worker]).toEqual([2, 0]);
  });

  it('the defaults are 65536 pods and 4096 revisions', () => {
    const main = SharedCapacity.create(2);
    expect(() => main.take(65_535, 1)).not.toThrow();
    expect(() => main.take(65_536, 1)).toThrow(RangeError);
    expect(() => main.ticket(4095)).not.toThrow();
    expect(() => main.ticket(4096)).toThrow(RangeError);
  });
});

describe('SharedCapacity.releaseWorker', () => {
  it("gives back a dead worker's requests at every pod, and only its own", () => {
    const [a, b, c] = loops(3, { maxPods: 64, maxRevisions: 2 });
    for (let i = 0; i < 3; i++) b!.take(7, 10);
    b!.take(63, 1);
    b!.take(0, 5);
    a!.take(7, 10);
    c!.take(0, 5);
    expect(a!.releaseWorker(1)).toBe(5);
    expect([a!.inFlight(7), a!.inFlight(63), a!.inFlight(0)]).toEqual([1, 0, 1]);
    expect(a!.heldBy(1, 7)).toBe(0);
    // Its slot at a full pod is free again.
    expect(c!.take(63, 1)).toBe(true);
    // Released twice: nothing more comes back, and the others keep theirs.
    expect(a!.releaseWorker(1)).toBe(0);
    expect(a!.inFlight(7)).toBe(1);
  });

  it('a restarted worker with the same number starts from nothing', () => {
    const [a, b] = loops(2, { maxPods: 4, maxRevisions: 1 });
    b!.take(2, 1);
    a!.releaseWorker(1);
    const again = SharedCapacity.attach(a!.buffer, 2, 1, { maxPods: 4, maxRevisions: 1 });
    expect(again.take(2, 1)).toBe(true);
    again.give(2, 1);
    expect([a!.inFlight(2), a!.heldBy(1, 2)]).toEqual([0, 0]);
  });

  it("withdraws a dead worker's waiters from the arrival order", () => {
    const [a, b, c] = loops(3, { maxPods: 4, maxRevisions: 3 });
    b!.setOldest(2, b!.ticket(2));
    expect(a!.olderElsewhere(2, Infinity)).toBe(true);
    expect(c!.olderElsewhere(2, c!.ticket(2))).toBe(true);
    a!.releaseWorker(1);
    expect(a!.olderElsewhere(2, Infinity)).toBe(false);
    expect(c!.olderElsewhere(2, c!.ticket(2))).toBe(false);
    // The count of waiting loops went back down with it: a new waiter counts once.
    c!.setOldest(2, c!.ticket(2));
    expect(a!.olderElsewhere(2, Infinity)).toBe(true);
    c!.setOldest(2, 0);
    expect(a!.olderElsewhere(2, Infinity)).toBe(false);
  });
});

describe('SharedCapacity tickets', () => {
  it('tickets of a revision rise across loops, separately per revision, and are never 0', () => {
    const [a, b] = loops(2, { maxPods: 1, maxRevisions: 3 });
    expect([a!.ticket(0), b!.ticket(0), a!.ticket(0)]).toEqual([1, 2, 3]);
    expect(b!.ticket(1)).toBe(1);
    expect(a!.ticket(0)).toBe(4);
  });

  it('olderElsewhere compares with the other loops only', () => {
    const [a, b, c] = loops(3, { maxPods: 1, maxRevisions: 2 });
    const ta = a!.ticket(0);
    const tb = b!.ticket(0);
    const tc = c!.ticket(0);
    a!.setOldest(0, ta);
    // Nobody else waits: a is not held back by its own ticket.
    expect(a!.olderElsewhere(0, Infinity)).toBe(false);
    expect(a!.olderElsewhere(0, tc)).toBe(false);
    expect(b!.olderElsewhere(0, Infinity)).toBe(true);
    expect(b!.olderElsewhere(0, tb)).toBe(true);
    expect(b!.olderElsewhere(0, ta)).toBe(false); // equal is not older
    b!.setOldest(0, tb);
    expect(a!.olderElsewhere(0, ta)).toBe(false);
    expect(a!.olderElsewhere(0, Infinity)).toBe(true);
    expect(c!.olderElsewhere(0, tc)).toBe(true);
    a!.setOldest(0, 0);
    expect(c!.olderElsewhere(0, tc)).toBe(true); // b is still older
    b!.setOldest(0, 0);
    expect(c!.olderElsewhere(0, tc)).toBe(false);
    expect(c!.olderElsewhere(0, Infinity)).toBe(false);
    // Revisions do not see each other's waiters.
    a!.setOldest(1, a!.ticket(1));
    expect(b!.olderElsewhere(0, Infinity)).toBe(false);
    expect(b!.olderElsewhere(1, Infinity)).toBe(true);
  });

  it('setOldest with the same ticket twice, or moving from one ticket to the next, counts the loop once', () => {
    const [a, b] = loops(2, { maxPods: 1, maxRevisions: 1 });
    a!.setOldest(0, 5);
    a!.setOldest(0, 5);
    a!.setOldest(0, 9);
    expect(b!.olderElsewhere(0, Infinity)).toBe(true);
    a!.setOldest(0, 0);
    expect(b!.olderElsewhere(0, Infinity)).toBe(false);
    a!.setOldest(0, 0);
    expect(b!.olderElsewhere(0, Infinity)).toBe(false);
  });

  it('order survives the ticket counter wrapping past 2^31 and 2^32', () => {
    const [a, b] = loops(2, { maxPods: 1, maxRevisions: 1 });
    // Start the counter just below int32's top (white-box: the revision row's first cell).
    const cells = new Int32Array(a!.buffer);
    const revBase = cells.length - 16; // one revision: its row is the last cache line
    cells[revBase] = 0x7fff_fffe;
    const old = a!.ticket(0); // 2^31 - 1
    const young = b!.ticket(0); // wraps to -2^31
    expect(young).toBeLessThan(old);
    a!.setOldest(0, old);
    expect(b!.olderElsewhere(0, young)).toBe(true);
    a!.setOldest(0, 0);
    b!.setOldest(0, young);
    expect(a!.olderElsewhere(0, old)).toBe(false);
    // Past 2^32 the counter comes back to 0, which means "none": it is skipped.
    cells[revBase] = -2;
    expect(a!.ticket(0)).toBe(-1);
    expect(a!.ticket(0)).toBe(1);
  });
});

describe('SharedIndex', () => {
  it('gives each pod id and revision name a stable index of its own', () => {
    const ix = new SharedIndex(3, 2);
    expect([ix.pod('a'), ix.pod('b'), ix.pod('a'), ix.pod('c')]).toEqual([0, 1, 0, 2]);
    expect([ix.revision('r1'), ix.revision('r2'), ix.revision('r1')]).toEqual([0, 1, 0]);
  });

  it('throws a clear error when exhausted, and still answers for the ids it knows', () => {
    const ix = new SharedIndex(2, 1);
    ix.pod('a');
    ix.pod('b');
    expect(() => ix.pod('c')).toThrow(/no pod index left for "c": all 2 were given out .*raise maxPods/);
    expect(ix.pod('b')).toBe(1);
    ix.revision('r');
    expect(() => ix.revision('s')).toThrow(/no revision index left for "s": all 1 .*raise maxRevisions/);
    expect(() => new SharedIndex(0)).toThrow(/maxPods must be a positive integer/);
  });
});
