import type { Clock, Timer } from '../shared/clock.js';

/** Something that can time out; the links are owned by Deadlines. */
export interface Deadlined {
  deadline: number;
  dPrev: Deadlined | null;
  dNext: Deadlined | null;
  dList: DeadlineList | null;
  onDeadline(): void;
}

interface DeadlineList {
  head: Deadlined | null;
  tail: Deadlined | null;
}

/**
 * Request timeouts without a timer per request: items with the same timeout
 * are appended to one list, so each list stays in deadline order and a
 * single sweep every `resolutionMs` pops the expired heads. Add and remove
 * are O(1) and allocate nothing.
 */
export class Deadlines {
  private lists = new Map<number, DeadlineList>();
  private timer: Timer;

  constructor(
    private clock: Clock,
    resolutionMs = 50,
  ) {
    this.timer = clock.setInterval(() => this.sweep(), resolutionMs);
    this.timer.unref?.();
  }

  add(item: Deadlined, timeoutMs: number): void {
    let list = this.lists.get(timeoutMs);
    if (!list) this.lists.set(timeoutMs, (list = { head: null, tail: null }));
    item.deadline = this.clock.now() + timeoutMs;
    item.dList = list;
    item.dNext = null;
    item.dPrev = list.tail;
    if (list.tail) list.tail.dNext = item;
    else list.head = item;
    list.tail = item;
  }

  remove(item: Deadlined): void {
    const list = item.dList;
    if (!list) return;
    if (item.dPrev) item.dPrev.dNext = item.dNext;
    else list.head = item.dNext;
    if (item.dNext) item.dNext.dPrev = item.dPrev;
    else list.tail = item.dPrev;
    item.dPrev = item.dNext = null;
    item.dList = null;
  }

  sweep(): void {
    const now = this.clock.now();
    for (const list of this.lists.values()) {
      while (list.head && list.head.deadline <= now) {
        const item = list.head;
        this.remove(item);
        item.onDeadline();
      }
    }
  }

  close(): void {
    this.clock.clearInterval(this.timer);
  }
}
