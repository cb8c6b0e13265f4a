import type { Timer } from '../shared/clock.js';
/**
 * A pod as the throttler sees it: how many requests this edge has in flight
 * to it and how many it may have. The edge's own pod object (upstream pool,
 * stats, ...) hangs on `pod`, so the hot path reaches it without a Map lookup.
 */

/** What the throttler needs to know about the edge's pod object. */
export interface PodLike {
  readonly id: string;
  /** "host:port"; subsetting sorts pods by it, so every edge sees one order. */
  readonly address: string;
}

export class PodSlot<P extends PodLike = PodLike> {
  readonly id: string;
  /** Follows the newest pod object with this id. */
  address: string;
  /** The edge's object; replaced when setPods passes a newer one with the same id. */
  pod: P;
  /** Requests this edge has sent to the pod and not yet released. */
  inFlight = 0;
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
  }

  get ejected(): boolean {
    return this.ejectTimer !== null;
  }

  get hasCapacity(): boolean {
    return this.inFlight < this.capacity;
  }
}
