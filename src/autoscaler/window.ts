/**
 * A window of 1-second buckets over a revision's metric (KNATIVE.md 1.3),
 * with the edges of Knative's TimedFloat64Buckets (aggregation/bucketing.go):
 * a write at least one window after the last one starts afresh, and the
 * window holds "no data" only once more than a window has passed since the
 * last write (exactly one window later it still averages, to 0).
 * Pure: every call takes the time it is about. `average(now)` is null for
 * no data ("no data" is a value, not 0: a decision must never scale down
 * because stats stopped arriving).
 */
export type Aggregation = 'linear' | 'weighted-exponential';

export const BUCKET_MS = 1000;

const bucketOf = (timeMs: number): number => Math.floor(timeMs / BUCKET_MS);
/** Knative's roundToNDigits(6, x): it truncates (math.Floor), it does not round. */
export const round6 = (x: number): number => Math.floor(x * 1e6) / 1e6;

/** Knative's smoothing coefficient: weights fall to 1e-4 over the window, but never below 0.2. */
export function smoothingCoefficient(buckets: number): number {
  return Math.max(1 - Math.pow(0.0001, 1 / buckets), 0.2);
}

export class BucketWindow {
  /** Window length in buckets (seconds). */
  readonly size: number;
  private readonly buckets = new Map<number, number>();
  private first = 0;
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    windowMs: number,
    readonly aggregation: Aggregation = 'linear',
  ) {
    this.size = Math.max(1, Math.round(windowMs / BUCKET_MS));
  }

  /** Adds `value` to the bucket of `timeMs`; values in one second sum (pods, activators). */
  record(timeMs: number, value: number): void {
    const b = bucketOf(timeMs);
    if (b <= this.last - this.size) return; // older than the window: nothing to add it to
    if (b - this.last >= this.size) {
      // First write, or after a pause of a whole window or more: start afresh (Knative: gap ≥ window).
      this.buckets.clear();
      this.first = b;
    }
    if (b > this.last) {
      this.last = b;
      for (const k of this.buckets.keys()) if (k <= b - this.size) this.buckets.delete(k);
    }
    if (b < this.first) this.first = b;
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + value);
  }

  /** The window's average at `nowMs`, or null when nothing was written for more than a window. */
  average(nowMs: number): number | null {
    const now = bucketOf(nowMs);
    const idle = now - this.last; // whole seconds since the last write
    if (!Number.isFinite(idle) || idle > this.size) return null; // Knative's IsEmpty: now − lastWrite > window
    if (idle === this.size) return 0; // every bucket has left the window, but it is not empty yet
    return this.aggregation === 'linear' ? this.linear(now, idle) : this.weighted(idle);
  }

  /**
   * Sum over the buckets still inside the window, divided by the number of
   * valid buckets: a young window divides by its own age, and seconds after
   * the last write push old buckets out of both the sum and the divisor.
   */
  private linear(now: number, idle: number): number {
    const from = Math.max(now, this.last) - this.size; // exclusive
    let sum = 0;
    for (const [k, v] of this.buckets) if (k > from) sum += v;
    const valid = Math.min(this.last - this.first + 1, this.size - Math.max(0, idle));
    return round6(sum / valid);
  }

  /** Newest first, weights α(1−α)^k, not normalised; idle seconds count as zero buckets. */
  private weighted(idle: number): number {
    const alpha = smoothingCoefficient(this.size);
    const skipped = Math.max(0, idle);
    let weight = alpha * Math.pow(1 - alpha, skipped);
    let sum = 0;
    for (let i = 0; i < this.size - skipped; i++) {
      sum += (this.buckets.get(this.last - i) ?? 0) * weight;
      weight *= 1 - alpha;
    }
    return sum;
  }
}
