/**
 * The link fields an item carries; only LinkedList writes them. T is the
 * item's own type (`class Job implements Linked<Job>`); the bound is the
 * one LinkedList needs, so that `list` can name the list type.
 */
export interface Linked<T extends Linked<T>> {
  prev: T | null;
  next: T | null;
  /** The list holding the item, or null. */
  list: LinkedList<T> | null;
}

/**
 * An intrusive doubly-linked list: the links live on the items, so push,
 * remove and shift are O(1) and allocate nothing. That is why the breaker
 * queue, the activator buffer and the deadline wheel use it on paths that
 * run once per request. An item is in at most one list at a time; its
 * `list` field says which, so remove can refuse an item it does not hold.
 */
export class LinkedList<T extends Linked<T>> {
  private first: T | null = null;
  private last: T | null = null;
  private count = 0;

  /** The oldest item, or null. */
  get head(): T | null {
    return this.first;
  }

  /** The newest item, or null. */
  get tail(): T | null {
    return this.last;
  }

  get size(): number {
    return this.count;
  }

  /** Appends; an item already in a list is not added again (returns false). */
  push(item: T): boolean {
    if (item.list !== null) return false;
    item.list = this;
    item.prev = this.last;
    item.next = null;
    if (this.last === null) this.first = item;
    else this.last.next = item;
    this.last = item;
    this.count++;
    return true;
  }

  /** Unlinks the item if it is in THIS list; returns whether it was. */
  remove(item: T): boolean {
    if (item.list !== this) return false;
    const prev = item.prev;
    const next = item.next;
    if (prev === null) this.first = next;
    else prev.next = next;
    if (next === null) this.last = prev;
    else next.prev = prev;
    item.prev = item.next = null;
    item.list = null;
    this.count--;
    return true;
  }

  /** Unlinks and returns the head, or null. */
  shift(): T | null {
    const item = this.first;
    if (item !== null) this.remove(item);
    return item;
  }
}
