import type { Clock, Timer } from '../shared/clock.js';
import { TidegateError } from '../shared/errors.js';
import { LinkedList } from '../shared/linked-list.js';
import { type LbPolicy, type PolicyState, policyFor } from './lb-policy.js';
import { type PodLike, PodSlot } from './pod-slot.js';
import { podShare, subsetIndices } from './subset.js';
import type { Waiter } from './waiter.js';

export interface ThrottlerOptions {
  /** Per-pod limit; 0 = unlimited. */
  readonly containerConcurrency: number;
  /** max-buffered-requests: waiters beyond it are refused (503). */
  readonly maxQueued: number;
  /** max-buffered-bytes: declared body bytes of all waiters. */
  readonly maxQueuedBytes: number;
  /** buffer-timeout: a waiter not granted by then is rejected (504). */
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** Uniform in [0, 1) for power-of-two choices; Math.random by default. */
  readonly random?: () => number;
  /** The buffer went from empty to non-empty: the edge pokes the autoscaler. */
  readonly onFirstQueued?: () => void;
}

export type ThrottlerLimits = Pick<
  ThrottlerOptions,
  'containerConcurrency' | 'maxQueued' | 'maxQueuedBytes' | 'timeoutMs'
>;

function byAddress(a: PodLike, b: PodLike): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** How long a pod that refused a connection is left out, the first time and at most. */
export const FIRST_EJECT_MS = 1000;
export const MAX_EJECT_MS = 30_000;

/**
 * One revision's pod picker and activator buffer (KNATIVE.md §3 Throttler).
 * Every request of the revision goes through it, warm or cold: tryAcquire
 * reserves a pod slot synchronously (the warm path, allocation-free); when
 * none is free the request waits here in arrival order and is granted the
 * moment a slot appears (release, or a new ready pod). No pod ever has more
 * than its capacity in flight from this edge.
 */
export class RevisionThrottler<P extends PodLike> {
  private cc: number;
  private policy: LbPolicy;
  private maxQueued: number;
  private maxQueuedBytes: number;
  private timeoutMs: number;
  private readonly clock: Clock;
  private readonly onFirstQueued: (() => void) | undefined;
  private readonly state: PolicyState;

  /** Pods this edge may send new requests to, sorted by address. */
  private active: PodSlot<P>[] = [];
  /** Active slots plus retired ones that still have requests in flight. */
  private readonly slots = new Map<string, PodSlot<P>>();
  private lastPods: readonly P[] = [];
  private edgeIndex = 0;
  private edgeCount = 1;
  private total = 0;

  /** The buffer, oldest first; rejectAll swaps in a fresh one. */
  private waiters = new LinkedList<Waiter<P>>();
  private bytes = 0;
  private timer: Timer | null = null;
  private dispatching = false;

  constructor(opts: ThrottlerOptions) {
    this.cc = opts.containerConcurrency;
    this.policy = policyFor(this.cc);
    this.maxQueued = opts.maxQueued;
    this.maxQueuedBytes = opts.maxQueuedBytes;
    this.timeoutMs = opts.timeoutMs;
    this.clock = opts.clock;
    this.onFirstQueued = opts.onFirstQueued;
    this.state = { cursor: 0, random: opts.random ?? Math.random };
  }

  /** Requests waiting in the buffer. */
  get queued(): number {
    return this.waiters.size;
  }

  /** Declared body bytes of the waiting requests. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Requests in flight to this revision's pods (including pods that left). */
  get inFlight(): number {
    return this.total;
  }

  get containerConcurrency(): number {
    return this.cc;
  }

  /** Pods taking new requests, in address order (for status pages). */
  get pods(): readonly PodSlot<P>[] {
    return this.active;
  }

  /** Sum of this edge's per-pod capacities (Infinity when CC = 0 and a pod is ready). */
  get capacity(): number {
    let c = 0;
    for (const s of this.active) c += s.capacity;
    return c;
  }

  inFlightOf(podId: string): number {
    return this.slots.get(podId)?.inFlight ?? 0;
  }

  /**
   * Replaces the ready set. Pods that stay keep their in-flight counts (and
   * their slot; the newer pod object is hung on it). Pods that leave get no
   * new requests; their in-flight requests are counted until released, so a
   * pod that comes back never exceeds its capacity. Waiters leave at once if
   * capacity appeared.
   */
  setPods(pods: readonly P[]): void {
    this.lastPods = pods;
    this.rebuild();
    this.dispatch();
  }

  /** This edge is `index` of `count` edges (subsetting); -1 takes every pod. */
  setEdges(index: number, count: number): void {
    if (index === this.edgeIndex && count === this.edgeCount) return;
    this.edgeIndex = index;
    this.edgeCount = Math.max(1, count);
    this.rebuild();
    this.dispatch();
  }

  /** Applies reloaded settings. A new timeout applies to requests queued after. */
  reconfigure(limits: ThrottlerLimits): void {
    this.maxQueued = limits.maxQueued;
    this.maxQueuedBytes = limits.maxQueuedBytes;
    this.timeoutMs = limits.timeoutMs;
    if (limits.containerConcurrency !== this.cc) {
      this.cc = limits.containerConcurrency;
      this.policy = policyFor(this.cc);
      this.rebuild();
    }
    this.dispatch();
  }

  /**
   * The warm path: reserves a slot on a pod with spare capacity, or returns
   * null. Always null while requests are waiting, so a newcomer never
   * overtakes them. `exclude` is the pod a retry must avoid.
   */
  tryAcquire(exclude?: PodSlot<P> | null): PodSlot<P> | null {
    if (this.waiters.head !== null) return null;
    const ex = exclude != null && exclude.active ? exclude.index : -1;
    const i = this.policy(this.active, ex, this.state);
    if (i < 0) return null;
    const slot = this.active[i]!;
    slot.inFlight++;
    this.total++;
    return slot;
  }

  /**
   * Reserves one request on pod `id` as the main process decided for this
   * loop (`serve --workers N`): no policy and no capacity check here, the
   * main process's throttler made both for every loop. Null when this loop
   * does not list the pod.
   */
  claim(id: string): PodSlot<P> | null {
    const slot = this.slots.get(id);
    if (slot === undefined || !slot.active) return null;
    slot.inFlight++;
    this.total++;
    return slot;
  }

  /** Frees a slot from tryAcquire or grant; call exactly once per reservation. */
  release(slot: PodSlot<P>): void {
    if (slot.inFlight <= 0) return; // a double release must not corrupt the counts
    slot.inFlight--;
    this.total--;
    if (!slot.active) {
      if (slot.inFlight === 0 && this.slots.get(slot.id) === slot) this.forgetSlot(slot);
      return;
    }
    if (this.waiters.head !== null) this.dispatch();
  }

  /**
   * Buffers a request. False when the buffer is full by count or by bytes
   * (the caller answers 503 + Retry-After). If a slot is free (the caller
   * skipped tryAcquire) the waiter is granted before this returns.
   */
  enqueue(w: Waiter<P>): boolean {
    if (w.list !== null) return false;
    if (this.waiters.size >= this.maxQueued || this.bytes + w.bytes > this.maxQueuedBytes) return false;
    const now = this.clock.now();
    w.enqueuedAt = now;
    w.deadline = now + this.timeoutMs;
    this.waiters.push(w);
    this.bytes += w.bytes;
    if (this.waiters.size === 1) {
      this.dispatch();
      if (w.list === this.waiters) {
        if (this.timer === null) this.armTimer(now);
        this.onFirstQueued?.();
      }
    }
    return true;
  }

  /**
   * Passive health check: a pod that refused a connection gets no new
   * requests for a while, 1 s at first, doubling while it keeps refusing, up
   * to 30 s; then it is tried again. Requests with no other pod wait in the
   * buffer meanwhile (and fail with buffer-timeout if none comes back).
   * True only when this starts a new failure of the pod: the refusals of
   * connections already under way when it was ejected, and its refusals
   * when it is tried again later, belong to the same failure (it ends when
   * the pod answers).
   */
  eject(slot: PodSlot<P>): boolean {
    if (slot.ejected || this.slots.get(slot.id) !== slot) return false;
    const fresh = slot.refusals === 0;
    slot.refusals++;
    slot.capacity = 0;
    const ms = Math.min(MAX_EJECT_MS, FIRST_EJECT_MS * 2 ** Math.min(slot.refusals - 1, 16));
    slot.ejectTimer = this.clock.setTimeout(() => {
      slot.ejectTimer = null;
      slot.capacity = slot.share;
      this.dispatch();
    }, ms);
    slot.ejectTimer.unref?.();
    return fresh;
  }

  /** Every pod taking requests is ejected (false with no pods: that is a cold revision, not a dead one). */
  get allEjected(): boolean {
    const active = this.active;
    if (active.length === 0) return false;
    for (let i = 0; i < active.length; i++) if (!active[i]!.ejected) return false;
    return true;
  }

  /** The pod answered: it is healthy again as far as ejection goes. */
  answered(slot: PodSlot<P>): void {
    slot.refusals = 0;
  }

  private forgetSlot(slot: PodSlot<P>): void {
    this.slots.delete(slot.id);
    if (slot.ejectTimer !== null) this.clock.clearTimeout(slot.ejectTimer);
    slot.ejectTimer = null;
  }

  /** Removes a waiting request (client abort); O(1). False if it was not waiting here. */
  cancel(w: Waiter<P>): boolean {
    if (!this.unlink(w)) return false;
    if (this.waiters.head === null) this.clearTimer();
    return true;
  }

  /** Rejects every waiting request (revision removed, shutdown). */
  rejectAll(err: TidegateError): void {
    // The buffer is swapped for an empty one first, so a reject callback that
    // enqueues again lands in the new one and is not swept up. Waiters still
    // to be rejected are in neither: cancel() or enqueue() of one is refused.
    this.clearTimer();
    const old = this.waiters;
    if (old.head === null) return;
    this.waiters = new LinkedList();
    this.bytes = 0;
    let w: Waiter<P> | null;
    while ((w = old.shift()) !== null) w.reject(err);
  }

  /** Grants waiters, oldest first, while some pod has spare capacity. */
  private dispatch(): void {
    if (this.dispatching || this.waiters.head === null) return;
    this.dispatching = true;
    try {
      let w: Waiter<P> | null;
      while ((w = this.waiters.head) !== null) {
        const avoid = w.avoid !== null && w.avoid.active && this.active.length > 1 ? w.avoid.index : -1;
        const i = this.policy(this.active, avoid, this.state);
        if (i < 0) break;
        const slot = this.active[i]!;
        this.unlink(w);
        slot.inFlight++;
        this.total++;
        // May re-enter release/enqueue/cancel/setPods; the loop re-reads state.
        w.grant(slot);
      }
    } finally {
      this.dispatching = false;
    }
    if (this.waiters.head === null) this.clearTimer();
  }

  /** Takes a waiter out of the buffer; false when it is not in it. */
  private unlink(w: Waiter<P>): boolean {
    if (!this.waiters.remove(w)) return false;
    this.bytes -= w.bytes;
    return true;
  }

  /**
   * One timer for the whole queue, set for the head's deadline: FIFO order
   * makes the head the first to expire. A timer left over from a head that
   * has since been granted just fires early and re-arms.
   */
  private armTimer(now: number): void {
    const head = this.waiters.head;
    if (head === null) return;
    const wait = Math.max(1, head.deadline - now);
    this.timer = this.clock.setTimeout(this.onTimer, wait);
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    const now = this.clock.now();
    let w = this.waiters.head;
    while (w !== null && w.deadline <= now) {
      this.unlink(w);
      w.reject(
        new TidegateError(
          'TG_ERR_BUFFER_TIMEOUT',
          `no pod had capacity within ${now - w.enqueuedAt} ms (buffer-timeout)`,
        ),
      );
      w = this.waiters.head;
    }
    if (this.waiters.head !== null && this.timer === null) this.armTimer(now);
  };

  private clearTimer(): void {
    if (this.timer === null) return;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private rebuild(): void {
    const sorted = this.lastPods.slice().sort(byAddress);
    const subset = this.cc > 0 ? subsetIndices(sorted.length, this.edgeIndex, this.edgeCount) : null;
    const capacity = podShare(this.cc, sorted.length, this.edgeIndex, this.edgeCount);
    const previous = this.active;
    for (const s of previous) {
      s.active = false;
      s.index = -1;
    }
    const next: PodSlot<P>[] = [];
    const n = subset === null ? sorted.length : subset.length;
    for (let k = 0; k < n; k++) {
      const pod = sorted[subset === null ? k : subset[k]!]!;
      let slot = this.slots.get(pod.id);
      if (slot === undefined) {
        slot = new PodSlot(pod, capacity);
        this.slots.set(pod.id, slot);
      } else if (slot.active) {
        continue; // the same id listed twice
      } else {
        slot.pod = pod;
        slot.address = pod.address;
        slot.share = capacity;
        slot.capacity = slot.ejected ? 0 : capacity;
      }
      slot.active = true;
      slot.index = next.length;
      next.push(slot);
    }
    for (const s of previous) {
      if (!s.active && s.inFlight === 0) this.forgetSlot(s);
    }
    this.active = next;
    if (this.state.cursor >= next.length) this.state.cursor = 0;
  }
}
