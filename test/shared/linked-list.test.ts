import { describe, expect, it } from 'vitest';
import { LinkedList, type Linked } from '../../src/shared/linked-list.js';

class Item implements Linked<Item> {
  prev: Item | null = null;
  next: Item | null = null;
  list: LinkedList<Item> | null = null;
  constructor(readonly name: string) {}
}

/** The names head to tail, after checking that the back links, tail and size agree with the forward walk. */
function names(l: LinkedList<Item>): string[] {
  const out: string[] = [];
  let before: Item | null = null;
  for (let it = l.head; it !== null; it = it.next) {
    expect(it.prev).toBe(before);
    expect(it.list).toBe(l);
    out.push(it.name);
    before = it;
  }
  expect(l.tail).toBe(before);
  expect(l.size).toBe(out.length);
  return out;
}

function listOf(...ns: string[]): [LinkedList<Item>, Item[]] {
  const l = new LinkedList<Item>();
  const items = ns.map((n) => new Item(n));
  for (const it of items) expect(l.push(it)).toBe(true);
  return [l, items];
}

function expectDetached(it: Item): void {
  expect([it.prev, it.next, it.list]).toEqual([null, null, null]);
}

describe('LinkedList (intrusive, doubly linked)', () => {
  it('keeps push order and shifts oldest first', () => {
    const [l, [a]] = listOf('a', 'b', 'c');
    expect(names(l)).toEqual(['a', 'b', 'c']);
    expect(l.shift()).toBe(a);
    expectDetached(a!);
    expect(names(l)).toEqual(['b', 'c']);
    expect(l.shift()?.name).toBe('b');
    expect(l.shift()?.name).toBe('c');
    expect(names(l)).toEqual([]);
  });

  it('shift on an empty list returns null and leaves it empty', () => {
    const l = new LinkedList<Item>();
    expect(l.shift()).toBeNull();
    expect([l.head, l.tail, l.size]).toEqual([null, null, 0]);
  });

  it.each([
    ['head', 0, ['b', 'c']],
    ['middle', 1, ['a', 'c']],
    ['tail', 2, ['a', 'b']],
  ] as const)('removes the %s', (_where, index, left) => {
    const [l, items] = listOf('a', 'b', 'c');
    const it = items[index]!;
    expect(l.remove(it)).toBe(true);
    expectDetached(it);
    expect(names(l)).toEqual(left);
    expect(l.remove(it)).toBe(false); // twice is a no-op
    expect(names(l)).toEqual(left);
  });

  it('removing the only item empties the list', () => {
    const [l, [a]] = listOf('a');
    expect(l.remove(a!)).toBe(true);
    expect([l.head, l.tail, l.size]).toEqual([null, null, 0]);
  });

  it('remove of an item held by another list is a no-op returning false, for both lists', () => {
    const [one, [a, b]] = listOf('a', 'b');
    const [two, [x]] = listOf('x');
    expect(two.remove(a!)).toBe(false);
    expect(one.remove(x!)).toBe(false);
    expect(names(one)).toEqual(['a', 'b']);
    expect(names(two)).toEqual(['x']);
    expect(a!.list).toBe(one);
    expect(b!.prev).toBe(a);
  });

  it('an item already in a list is not pushed again, into the same list or another', () => {
    const [l, [a, b]] = listOf('a', 'b');
    const other = new LinkedList<Item>();
    expect(l.push(a!)).toBe(false);
    expect(l.push(b!)).toBe(false);
    expect(other.push(a!)).toBe(false);
    expect(names(l)).toEqual(['a', 'b']);
    expect(names(other)).toEqual([]);
  });

  it('an item removed or shifted can be pushed again, here or elsewhere, and goes to the tail', () => {
    const [l, [a, b, c]] = listOf('a', 'b', 'c');
    l.remove(b!);
    expect(l.push(b!)).toBe(true);
    expect(names(l)).toEqual(['a', 'c', 'b']);
    const other = new LinkedList<Item>();
    expect(l.shift()).toBe(a);
    expect(other.push(a!)).toBe(true);
    expect(names(other)).toEqual(['a']);
    expect(names(l)).toEqual(['c', 'b']);
    expect(l.remove(a!)).toBe(false);
    expect(c!.prev).toBeNull();
  });
});
