import type { TidegateError } from '../shared/errors.js';
import type { Linked, LinkedList } from '../shared/linked-list.js';
import type { PodLike, PodSlot } from './pod-slot.js';

/**
 * A request held in a revision's buffer. The edge implements `grant` and
 * `reject` on its own per-request object (usually by extending WaiterBase);
 * the link fields make the queue an intrusive doubly-linked list, so
 * enqueue, grant and cancel (client abort) are O(1) and allocate nothing.
 */
export interface Waiter<P extends PodLike> extends Linked<Waiter<P>> {
  /** Declared body size (Content-Length, or 0); counts against max-buffered-bytes. */
  readonly bytes: number;
  /** A pod slot is reserved for this request; the caller must release it later. */
  grant(slot: PodSlot<P>): void;
  /** The request left the buffer without a pod (timeout, revision removed, shutdown). */
  reject(err: TidegateError): void;
  /** A pod not to grant while the revision has others (a retry after that pod failed it). */
  readonly avoid: PodSlot<P> | null;

  // Managed by the throttler; the edge only reads them.
  /** Epoch ms when it was queued (for the cold-start histogram). */
  enqueuedAt: number;
  deadline: number;
  // prev, next and list (the buffer holding it, or null) belong to the throttler's LinkedList.
}

/** Convenience base: initialises the link fields. */
export abstract class WaiterBase<P extends PodLike> implements Waiter<P> {
  enqueuedAt = 0;
  deadline = 0;
  prev: Waiter<P> | null = null;
  next: Waiter<P> | null = null;
  list: LinkedList<Waiter<P>> | null = null;

  constructor(
    public bytes = 0,
    readonly avoid: PodSlot<P> | null = null,
  ) {}

  abstract grant(slot: PodSlot<P>): void;
  abstract reject(err: TidegateError): void;
}
