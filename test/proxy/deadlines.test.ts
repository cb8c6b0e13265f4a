import { describe, expect, it } from 'vitest';
import { Deadlines, type Deadlined } from '../../src/proxy/deadlines.js';
import { FakeClock } from '../support/fake-clock.js';

/** An item that records when it fired and can ask to fire again later (an exchange's next timeout). */
function item(name: string, fired: string[], again: number[] = []): Deadlined & { deadlines: Deadlines | null } {
  const it = {
    deadline: 0,
    prev: null,
    next: null,
    list: null,
    deadlines: null as Deadlines | null,
    onDeadline(): void {
      fired.push(name);
      const next = again.shift();
      if (next !== undefined) it.deadlines!.addAt(it, next);
    },
  };
  return it;
}

describe('Deadlines (a wheel of 50 ms slots, one entry per item)', () => {
  it('fires each item at its own deadline, whatever order they were added in, within one sweep period', () => {
    const clock = new FakeClock();
    const d = new Deadlines(clock);
    const fired: string[] = [];
    const t0 = clock.now();
    const [a, b, c] = [item('a', fired), item('b', fired), item('c', fired)];
    d.addAt(a, t0 + 3000);
    d.addAt(b, t0 + 1000);
    d.add(c, 2000);
    clock.advance(999);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(['b']);
    clock.advance(1000);
    expect(fired).toEqual(['b', 'c']);
    clock.advance(1050);
    expect(fired).toEqual(['b', 'c', 'a']);
    d.close();
  });

  it('an item can move itself to a later deadline when it fires, and removed items never fire', () => {
    const clock = new FakeClock();
    const d = new Deadlines(clock);
    const fired: string[] = [];
    const t0 = clock.now();
    const a = item('a', fired, [t0 + 500]);
    a.deadlines = d;
    const gone = item('gone', fired);
    d.addAt(a, t0 + 100);
    d.addAt(gone, t0 + 100);
    d.remove(gone);
    clock.advance(100);
    expect(fired).toEqual(['a']);
    clock.advance(350);
    expect(fired).toEqual(['a']);
    clock.advance(50);
    expect(fired).toEqual(['a', 'a']);
    expect(a.list).toBeNull();
    d.close();
  });

  it('an item whose ending removes the next one in its slot: that one never fires, the rest still do', () => {
    const clock = new FakeClock();
    const d = new Deadlines(clock);
    const fired: string[] = [];
    const t0 = clock.now();
    const [a, b, c] = [item('a', fired), item('b', fired), item('c', fired)];
    // Ending a ends b too (a connection failing takes its other request with it).
    a.onDeadline = () => {
      fired.push('a');
      d.remove(b);
    };
    for (const x of [a, b, c]) d.addAt(x, t0 + 100);
    clock.advance(100);
    expect(fired).toEqual(['a', 'c']);
    expect([a.list, b.list, c.list]).toEqual([null, null, null]);
    d.close();
  });

  it('after a long gap (a suspended process) every passed deadline fires in one sweep, later ones stay', () => {
    const clock = new FakeClock();
    const d = new Deadlines(clock);
    const fired: string[] = [];
    const t0 = clock.now();
    d.addAt(item('soon', fired), t0 + 100);
    d.addAt(item('later', fired), t0 + 7_200_000);
    clock.now = () => t0 + 3_600_000;
    d.sweep();
    expect(fired).toEqual(['soon']);
    clock.now = () => t0 + 7_200_000;
    d.sweep();
    expect(fired).toEqual(['soon', 'later']);
    d.close();
  });
});
