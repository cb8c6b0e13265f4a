import { LinkedList, type Linked } from '../shared/linked-list.js';

/**
 * A request waiting for a breaker slot. The link fields make the queue an
 * intrusive list (enqueue, grant and cancel are O(1) and allocate nothing);
 * only the breaker's list writes them.
 */
export interface BreakerWaiter extends Linked<BreakerWaiter> {
  /** A slot is now held for this waiter; it must call release() when done. */
  grant(): void;
}

/**
 * The queue-proxy's containerConcurrency limit (Knative pkg/queue/breaker.go):
 * `capacity` requests run at once, up to `maxQueued` (10 × capacity) wait
 * in FIFO order, and anything beyond is refused at once. A released slot
 * goes straight to the oldest waiter, so a newcomer cannot overtake the
 * queue. containerConcurrency 0 means no breaker at all: see createBreaker.
 */
export class Breaker {
  private running = 0;
  private readonly waiters = new LinkedList<BreakerWaiter>();

  constructor(
    readonly capacity: number,
    readonly maxQueued = 10 * capacity,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`breaker capacity must be an integer >= 1, got ${capacity}`);
    if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new RangeError(`breaker queue must be an integer >= 0, got ${maxQueued}`);
  }

  /** Requests holding a slot. */
  get inFlight(): number {
    return this.running;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiters.size;
  }

  /** Takes a slot when one is free and nobody is waiting for it. */
  tryAcquire(): boolean {
    if (this.running >= this.capacity || this.waiters.size > 0) return false;
    this.running++;
    return true;
  }

  /** Queues a waiter; false when the queue is full (the caller answers 503 at once). */
  enqueue(w: BreakerWaiter): boolean {
    // Already waiting: it keeps its place rather than being refused.
    if (w.list !== null) return true;
    if (this.waiters.size >= this.maxQueued) return false;
    return this.waiters.push(w);
  }

  /** Takes a waiter out of the queue (client gone, timed out); no-op when it is not queued here. */
  cancel(w: BreakerWaiter): void {
    this.waiters.remove(w);
  }

  /** Gives a slot back; the oldest waiter, if any, gets it at once. */
  release(): void {
    const w = this.waiters.shift();
    if (w === null) {
      if (this.running > 0) this.running--;
      return;
    }
    // The slot passes to the waiter: `running` stays the same.
    w.grant();
  }
}

/** containerConcurrency → a breaker, or null for 0 (no limit, as in Knative). */
export function createBreaker(containerConcurrency: number): Breaker | null {
  return containerConcurrency > 0 ? new Breaker(containerConcurrency) : null;
}
