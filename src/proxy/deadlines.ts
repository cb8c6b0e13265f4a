import type { Clock, Timer } from '../shared/clock.js';
import { LinkedList, type Linked } from '../shared/linked-list.js';

/** Something that can time out; the links are owned by Deadlines. */
export interface Deadlined extends Linked<Deadlined> {
  deadline: number;
  onDeadline(): void;
}

/**
 * Request timeouts without a timer per request: a hashed wheel of
 * `resolutionMs` slots, each an intrusive list of the items whose deadline
 * falls in it. One sweep every `resolutionMs` empties the slots that have
 * passed. Any deadline can be set (an item with several timeouts keeps one
 * entry, at the nearest of them), and add and remove are O(1) and allocate
 * nothing but a slot's list, shared by every item in that slot.
 */
export class Deadlines {
  private slots = new Map<number, LinkedList<Deadlined>>();
  /** Every slot below this has been emptied. */
  private next: number;
  private timer: Timer;
  /** The clock as of the last sweep (or add): cheap to read for activity stamps. */
  now: number;

  constructor(
    private clock: Clock,
    private resolutionMs = 50,
  ) {
    this.now = clock.now();
    this.next = Math.floor(this.now / resolutionMs);
    this.timer = clock.setInterval(() => this.sweep(), resolutionMs);
    this.timer.unref?.();
  }

  /** The clock now (for activity stamps of items with an idle timeout). */
  stamp(): number {
    return this.clock.now();
  }

  /** Times `item` out `timeoutMs` from now. */
  add(item: Deadlined, timeoutMs: number): void {
    this.now = this.clock.now();
    this.addAt(item, this.now + timeoutMs);
  }

  /** Times `item` out at `deadline` (clock time); an item already in is moved. */
  addAt(item: Deadlined, deadline: number): void {
    this.remove(item);
    // A deadline in a slot already swept goes into the next one to be swept.
    const slot = Math.max(Math.floor(deadline / this.resolutionMs), this.next);
    let list = this.slots.get(slot);
    if (list === undefined) this.slots.set(slot, (list = new LinkedList()));
    item.deadline = deadline;
    list.push(item);
  }

  /** Stops timing `item`; a no-op when it is not in. */
  remove(item: Deadlined): void {
    item.list?.remove(item);
  }

  sweep(): void {
    const now = (this.now = this.clock.now());
    const current = Math.floor(now / this.resolutionMs);
    if (current - this.next > this.slots.size) {
      // A long gap (a suspended process, a scripted clock): visit the slots there are, not every slot number.
      for (const slot of [...this.slots.keys()].sort((a, b) => a - b)) if (slot <= current) this.expire(slot, now);
    } else {
      for (let slot = this.next; slot <= current; slot++) this.expire(slot, now);
    }
    // The current slot may still hold later deadlines: it is visited again next time.
    this.next = current;
  }

  /** Pops the items of one slot whose deadline has come; an item may add itself again (a later timeout). */
  private expire(slot: number, now: number): void {
    const list = this.slots.get(slot);
    if (list === undefined) return;
    let item = list.head;
    while (item !== null) {
      let after = item.next;
      if (item.deadline <= now) {
        list.remove(item);
        item.onDeadline();
        // Ending one request can end others (a freed slot granted, a connection failing): start over if the next one left.
        if (after !== null && after.list !== list) after = list.head;
      }
      item = after;
    }
    if (list.head === null) this.slots.delete(slot);
  }

  close(): void {
    this.clock.clearInterval(this.timer);
  }
}
