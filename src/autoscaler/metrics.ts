/**
 * From the Store's per-pod stat rows to the revision's windows. Each row
 * adds (concurrency − proxied concurrency), or (requests − proxied requests)
 * for RPS, to its 1-second bucket, so requests the activator already
 * reported are not counted twice; rows from "activator:<edge>" are the
 * edges' buffered demand and simply add in.
 */
import type { PodStat } from '../store/store.js';
import { BucketWindow, BUCKET_MS, type Aggregation } from './window.js';

export type Metric = 'concurrency' | 'rps';

export interface Observation {
  /** Stable-window value, null = no data. */
  readonly stable: number | null;
  /** Panic-window value, null = no data in the panic window. */
  readonly panic: number | null;
}

export interface WindowSpec {
  readonly metric: Metric;
  readonly aggregation: Aggregation;
  readonly stableWindowMs: number;
  readonly panicWindowMs: number;
}

export function statValue(stat: PodStat, metric: Metric): number {
  const v = metric === 'rps' ? stat.requests - stat.proxiedRequests : stat.concurrency - stat.proxiedConcurrency;
  return Math.max(0, v);
}

/** Revision totals per second (bucket index = epoch seconds). */
export function perSecondTotals(stats: readonly PodStat[], metric: Metric, into = new Map<number, number>()): Map<number, number> {
  for (const s of stats) {
    const b = Math.floor(s.time / BUCKET_MS);
    into.set(b, (into.get(b) ?? 0) + statValue(s, metric));
  }
  return into;
}

/**
 * Stable and panic values at `now` from per-second totals. `demand` are
 * times at which an edge poked the revision: the first buffered request is
 * demand of at least 1 in its second even before the edge's next stats
 * report (Knative's activator sends such a stat at once), so a scale from
 * zero need not wait for one.
 */
export function observe(spec: WindowSpec, totals: ReadonlyMap<number, number>, now: number, demand: readonly number[] = []): Observation {
  const perSecond = new Map(totals);
  for (const t of demand) {
    const b = Math.floor(t / BUCKET_MS);
    perSecond.set(b, Math.max(1, perSecond.get(b) ?? 0));
  }
  const stable = new BucketWindow(spec.stableWindowMs, spec.aggregation);
  const panic = new BucketWindow(spec.panicWindowMs, spec.aggregation);
  for (const b of [...perSecond.keys()].sort((x, y) => x - y)) {
    const v = perSecond.get(b) ?? 0;
    stable.record(b * BUCKET_MS, v);
    panic.record(b * BUCKET_MS, v);
  }
  return { stable: stable.average(now), panic: panic.average(now) };
}

/** Seconds this recent may still receive stats from slower reporters; older ones are final. */
export const SETTLE_SECONDS = 3;

/**
 * One revision's per-second totals across ticks. Settled seconds are kept
 * here, so each tick reads only the last few seconds from the store, and a
 * stable window longer than the store's stats retention still sees its
 * whole length. A new leader starts from whatever the store still holds.
 */
export class SecondTotals {
  private readonly settled = new Map<number, number>();
  /** Last settled second (−∞: nothing read yet). */
  private settledUpTo = Number.NEGATIVE_INFINITY;

  constructor(
    readonly metric: Metric,
    readonly windowMs: number,
  ) {}

  /** The `sinceMs` to read stats from (exclusive). */
  readSince(now: number): number {
    const oldest = Math.floor((now - this.windowMs) / BUCKET_MS) - 1;
    return Math.max(oldest, this.settledUpTo + 1) * BUCKET_MS - 1;
  }

  /** Adds the stats read since readSince(now); returns every second's total. */
  update(stats: readonly PodStat[], now: number): Map<number, number> {
    const fresh = perSecondTotals(
      stats.filter((s) => Math.floor(s.time / BUCKET_MS) > this.settledUpTo),
      this.metric,
    );
    const nowSec = Math.floor(now / BUCKET_MS);
    const settleUpTo = nowSec - SETTLE_SECONDS;
    for (const [b, v] of fresh) if (b <= settleUpTo) this.settled.set(b, v);
    this.settledUpTo = Math.max(this.settledUpTo, settleUpTo);
    const oldest = nowSec - Math.ceil(this.windowMs / BUCKET_MS) - 1;
    for (const b of this.settled.keys()) if (b < oldest) this.settled.delete(b);
    const all = new Map(this.settled);
    for (const [b, v] of fresh) if (b > settleUpTo) all.set(b, v);
    return all;
  }
}
