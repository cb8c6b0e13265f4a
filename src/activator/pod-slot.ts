import type { Timer } from '../shared/clock.js';
import type { SharedCapacity } from './shared-capacity.js';
/**
 * A pod as the throttler sees it: how many requests this edge has in flight
 * to it and how many it may have. The edge's own pod object (upstream pool,
 * stats, ...) hangs on `pod`, so the hot path reaches it without a Map lookup.
 * With several event loops in one process (`serve --workers N`) a limited
 * revision counts each pod in shared memory: `inFlight` is then the total of
 * every loop, `held` this loop's part of it.
 */

/** What the throttler needs to know about the edge's pod object. */
export interface PodLike {
  readonly id: string;
  /** "host:port"; subsetting sorts pods by it, so every edge sees one order. */
  readonly address: string;
  /** The pod's index in the process's SharedCapacity (SharedIndex.pod); absent or -1: counted by this loop alone. */
  readonly sharedIndex?: number;
}

export class PodSlot<P extends PodLike = PodLike> {
  readonly id: string;
  /** Follows the newest pod object with this id. */
  address: string;
  /** The edge's object; replaced when setPods passes a newer one with the same id. */
  pod: P;
  /** Requests this loop has sent to the pod and not yet released. */
  held = 0;
  /** How many of `held` the shared count holds: each gives back to it when released. */
  sharedHeld = 0;
  /** The shared counts while they limit new requests to this pod (a limited revision in a multi-loop process), else null. */
  shared: SharedCapacity | null = null;
  /** The pod's index in the shared counts (-1: none); fixed while any request is counted there. */
  sharedIndex: number;
  /** This edge's limit for the pod now: its share, or 0 while ejected. The policies read only this. */
  capacity: number;
  /** This edge's share of the pod's containerConcurrency (Infinity when CC = 0). */
  share: number;
  /** Refused connections in a row (passive health check); a response resets it. */
  refusals = 0;
  /** While ejected: the timer that puts the pod back in rotation. */
  ejectTimer: Timer | null = null;
  /** False once the pod left the ready set (or this edge's subset): no new requests. */
  active = true;
  /** Position in the throttler's active array (-1 when inactive); lets `exclude` be O(1). */
  index = -1;

  constructor(pod: P, capacity: number) {
    this.id = pod.id;
    this.address = pod.address;
    this.pod = pod;
    this.capacity = capacity;
    this.share = capacity;
    this.sharedIndex = pod.sharedIndex ?? -1;
  }

  /**
   * What the LB policies compare with `capacity`: requests in flight to the
   * pod from every loop when it is shared, else from this one. One branch on
   * a field that stays null keeps unshared revisions at a plain read.
   */
  get inFlight(): number {
    return this.shared === null ? this.held : this.shared.inFlight(this.sharedIndex);
  }

  get ejected(): boolean {
    return this.ejectTimer !== null;
  }

  get hasCapacity(): boolean {
    return this.inFlight < this.capacity;
  }
}
