import type { Clock, Timer } from '../shared/clock.js';

export type DrainOutcome = 'idle' | 'timeout';

/**
 * The queue-proxy's SIGTERM behaviour, as Knative's (network/handlers
 * Drainer, queue sharedmain): once begun, `draining` is true (the probe
 * handler answers 503 "shutting down", so the pod leaves rotation) while
 * requests keep being served. The drain period (`quietMs`; Knative's
 * queue-proxy: 15 s) runs until that long has passed with no new request —
 * each request starts it over, since kube-proxy and ingresses learn of the
 * failing probe late. Then it waits for the requests in flight and queued,
 * up to `boundMs` (timeoutSeconds: the longest a request may take anyway).
 *
 * tidegate's own local pods drain with quietMs 0: their edges drop a pod
 * from routing the moment it leaves the store, before the signal.
 */
export class Drain {
  private started = false;
  private quiet = false;
  private done: ((outcome: DrainOutcome) => void) | null = null;
  private timer: Timer | null = null;
  private promise: Promise<DrainOutcome> | null = null;
  private lastRequest = 0;
  private quietMs = 0;
  private boundMs = 0;

  /** @param active requests in flight plus queued, right now */
  constructor(
    private readonly clock: Clock,
    private readonly active: () => number,
  ) {}

  get draining(): boolean {
    return this.started;
  }

  /** The drain, once begun (null before): resolves when it has finished. */
  get finished(): Promise<DrainOutcome> | null {
    return this.promise;
  }

  /**
   * Starts draining (idempotent): the drain period first, then the wait for
   * what is in flight; resolves 'idle' when nothing is left, or 'timeout'
   * `boundMs` after the drain period.
   */
  begin(boundMs: number, quietMs = 0): Promise<DrainOutcome> {
    if (this.promise !== null) return this.promise;
    this.started = true;
    this.boundMs = Math.max(0, boundMs);
    this.quietMs = Math.max(0, quietMs);
    this.promise = new Promise<DrainOutcome>((resolve) => {
      this.done = resolve;
    });
    if (this.quietMs > 0) {
      this.quiet = true;
      this.lastRequest = this.clock.now();
      this.timer = this.clock.setTimeout(() => this.quietCheck(), this.quietMs);
    } else this.waitForInFlight();
    return this.promise;
  }

  /** The owner calls this for each request that arrives while draining: the drain period starts over. */
  requestStarted(): void {
    if (this.quiet) this.lastRequest = this.clock.now();
  }

  /** The owner calls this after each request ends (and its counters went down). */
  requestEnded(): void {
    if (this.done !== null && !this.quiet && this.active() === 0) this.finish('idle');
  }

  private quietCheck(): void {
    this.timer = null;
    const left = this.lastRequest + this.quietMs - this.clock.now();
    // A request came meanwhile: the period runs on from it (one timer, not one per request).
    if (left > 0) {
      this.timer = this.clock.setTimeout(() => this.quietCheck(), left);
      return;
    }
    this.quiet = false;
    this.waitForInFlight();
  }

  private waitForInFlight(): void {
    this.timer = this.clock.setTimeout(() => this.finish('timeout'), this.boundMs);
    this.requestEnded();
  }

  private finish(outcome: DrainOutcome): void {
    const done = this.done;
    if (done === null) return;
    this.done = null;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    done(outcome);
  }
}
