/** One period's figures, as the autoscaler consumes them (PodStat without its identity). */
export interface RequestStatsReport {
  /** Time-weighted average of in-flight requests over the period. */
  readonly concurrency: number;
  /** Arrivals per second in the period. */
  readonly requests: number;
  /** The part of `concurrency` that came through the activator. */
  readonly proxiedConcurrency: number;
  /** The part of `requests` that came through the activator. */
  readonly proxiedRequests: number;
}

/**
 * Per-pod concurrency measurement as Knative's queue-proxy does it
 * (networking pkg/http/stats/request.go): the in-flight count is integrated
 * over time between events, so a report gives ∫in-flight·dt / period (two
 * 500 ms requests inside one second → 1.0), plus arrivals per second.
 * Requests that came through the activator are also counted apart, so the
 * autoscaler can subtract what the activator already reported.
 *
 * Every method takes `now` (epoch ms); nothing here reads a clock. in/out
 * only touch numbers, so the edge can call them on its hot path.
 */
export class RequestStats {
  private inFlightNow = 0;
  private proxiedInFlightNow = 0;
  /** ∫ in-flight dt over the current period, in request·ms. */
  private area = 0;
  private proxiedArea = 0;
  private arrivals = 0;
  private proxiedArrivals = 0;
  /** Time up to which `area` is integrated (NaN until the first event or report). */
  private lastChange: number;
  /** Start of the current period (NaN until the first report when no start was given). */
  private periodStart: number;

  /**
   * @param startedAt when measuring began (epoch ms); when omitted, the first
   *   period counts as `nominalPeriodMs` long, or longer if its events span more
   *   (nothing was in flight before the first event, so that is exact whenever
   *   reports come every `nominalPeriodMs`).
   * @param nominalPeriodMs the reporting period (Knative: 1 s).
   */
  constructor(
    startedAt = Number.NaN,
    private readonly nominalPeriodMs = 1000,
  ) {
    this.lastChange = startedAt;
    this.periodStart = startedAt;
  }

  /** Requests in flight right now. */
  get inFlight(): number {
    return this.inFlightNow;
  }

  /** In-flight requests that came through the activator. */
  get proxiedInFlight(): number {
    return this.proxiedInFlightNow;
  }

  requestIn(now: number, proxied: boolean): void {
    this.integrate(now);
    this.inFlightNow++;
    this.arrivals++;
    if (proxied) {
      this.proxiedInFlightNow++;
      this.proxiedArrivals++;
    }
  }

  requestOut(now: number, proxied: boolean): void {
    this.integrate(now);
    // Never below zero: a stray out (e.g. after a reset of the owner) must not poison later averages.
    if (this.inFlightNow > 0) this.inFlightNow--;
    if (proxied && this.proxiedInFlightNow > 0) this.proxiedInFlightNow--;
  }

  /** The figures for the period ending at `now`; starts the next one (open requests carry over). */
  report(now: number): RequestStatsReport {
    const start = Number.isNaN(this.periodStart) ? (Number.isNaN(this.lastChange) ? now : this.lastChange) : this.periodStart;
    this.integrate(now);
    let periodMs = now - start;
    if (Number.isNaN(this.periodStart)) periodMs = Math.max(periodMs, this.nominalPeriodMs);
    const out: RequestStatsReport =
      periodMs > 0
        ? {
            concurrency: this.area / periodMs,
            requests: (this.arrivals * 1000) / periodMs,
            proxiedConcurrency: this.proxiedArea / periodMs,
            proxiedRequests: (this.proxiedArrivals * 1000) / periodMs,
          }
        : { concurrency: this.inFlightNow, requests: 0, proxiedConcurrency: this.proxiedInFlightNow, proxiedRequests: 0 };
    this.area = this.proxiedArea = 0;
    this.arrivals = this.proxiedArrivals = 0;
    this.periodStart = this.lastChange = now;
    return out;
  }

  /** Adds the in-flight counts held since the last change to the period's area. */
  private integrate(now: number): void {
    const dt = now - this.lastChange;
    if (dt > 0) {
      this.area += this.inFlightNow * dt;
      this.proxiedArea += this.proxiedInFlightNow * dt;
      this.lastChange = now;
    } else if (Number.isNaN(dt)) {
      this.lastChange = now;
    }
  }
}
