import type { Clock, Timer } from '../shared/clock.js';

export type DrainOutcome = 'idle' | 'timeout';

/**
 * The queue-proxy's SIGTERM behaviour. Once begun, `draining` is true (the
 * probe handler answers 503 "shutting down", so no new traffic is routed
 * here) while requests keep being served; the drain completes as soon as
 * nothing is in flight or queued, or after the bound (timeoutSeconds: the
 * longest a request may take anyway).
 *
 * Knative instead waits for 30 s without a new request, because kube-proxy
 * and ingresses learn of the failing probe slowly. tidegate's edges drop a
 * pod from routing the moment it re-registers as not ready, so waiting for
 * idle is enough and shutdown takes as long as the work in hand.
 */
export class Drain {
  private started = false;
  private done: ((outcome: DrainOutcome) => void) | null = null;
  private timer: Timer | null = null;
  private promise: Promise<DrainOutcome> | null = null;

  /** @param active requests in flight plus queued, right now */
  constructor(
    private readonly clock: Clock,
    private readonly active: () => number,
  ) {}

  get draining(): boolean {
    return this.started;
  }

  /** Starts draining (idempotent); resolves 'idle' when nothing is left, or 'timeout' after timeoutMs. */
  begin(timeoutMs: number): Promise<DrainOutcome> {
    if (this.promise !== null) return this.promise;
    this.started = true;
    this.promise = new Promise<DrainOutcome>((resolve) => {
      this.done = resolve;
    });
    this.timer = this.clock.setTimeout(() => this.finish('timeout'), Math.max(0, timeoutMs));
    this.requestEnded();
    return this.promise;
  }

  /** The owner calls this after each request ends (and its counters went down). */
  requestEnded(): void {
    if (this.done !== null && this.active() === 0) this.finish('idle');
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
