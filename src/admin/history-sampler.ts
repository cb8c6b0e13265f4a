/**
 * Feeds the dashboard's History once a second (on the injected clock): the
 * status document (pods, autoscaler verdict, buffer, per-pod in-flight) plus
 * what the request metrics counted since the last sample (rate, p50/p99,
 * cold starts). Reads only what /status and /metrics already keep, so the
 * request path pays nothing for it.
 */
import type { Clock, Timer } from '../shared/clock.js';
import type { Config } from '../config/types.js';
import { resolveTarget } from '../autoscaler/targets.js';
import type { StatusDoc } from './status.js';
import { History, HISTORY_PERIOD_MS, bucketQuantile, type RevisionField, type RevisionSample } from './history.js';

/** What the sampler reads of a metric: prom-client's get(), also answered by hot-metrics.ts. */
export interface MetricSource {
  get(): Promise<{ values: readonly { labels: Partial<Record<string, string | number>>; value: number; metricName?: string }[] }>;
}

export interface SamplerSources {
  clock: Clock;
  config(): Config;
  status(): StatusDoc;
  /** tidegate_requests_total, tidegate_request_duration_seconds, tidegate_cold_start_seconds. */
  requests: MetricSource;
  duration: MetricSource;
  coldStart: MetricSource;
}

/** Cumulative figures per revision at one sample, to subtract from the next. */
interface Totals {
  requests: number;
  bounds: number[];
  /** Cumulative bucket counts, bounds order, +Inf last. */
  buckets: number[];
  coldCount: number;
  coldSum: number;
}

const ZERO: Totals = { requests: 0, bounds: [], buckets: [], coldCount: 0, coldSum: 0 };

export class HistorySampler {
  readonly history: History;
  private timer: Timer | null = null;
  private busy = false;
  private last = new Map<string, Totals>();
  private lastTime = 0;

  constructor(
    private readonly src: SamplerSources,
    history = new History(),
  ) {
    this.history = history;
  }

  start(): void {
    if (this.timer) return;
    this.timer = this.src.clock.setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.sample().then(
        () => (this.busy = false),
        () => (this.busy = false), // a failed read loses one sample, never the loop
      );
    }, HISTORY_PERIOD_MS);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) this.src.clock.clearInterval(this.timer);
    this.timer = null;
  }

  /** Takes one sample now (the timer calls this; tests call it on a fake clock). */
  async sample(): Promise<void> {
    const time = this.src.clock.now();
    const [requests, duration, cold] = await Promise.all([this.src.requests.get(), this.src.duration.get(), this.src.coldStart.get()]);
    const totals = new Map<string, Totals>();
    const of = (rev: string) => {
      let t = totals.get(rev);
      if (t === undefined) totals.set(rev, (t = { requests: 0, bounds: [], buckets: [], coldCount: 0, coldSum: 0 }));
      return t;
    };
    for (const v of requests.values) of(String(v.labels.revision)).requests += v.value;
    for (const v of duration.values) {
      if (!v.metricName?.endsWith('_bucket')) continue;
      // One revision is in one service: its buckets come in bounds order.
      const t = of(String(v.labels.revision));
      const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
      const i = t.bounds.indexOf(le);
      if (i >= 0) t.buckets[i]! += v.value;
      else {
        t.bounds.push(le);
        t.buckets.push(v.value);
      }
    }
    for (const v of cold.values) {
      if (v.metricName?.endsWith('_count')) of(String(v.labels.revision)).coldCount += v.value;
      else if (v.metricName?.endsWith('_sum')) of(String(v.labels.revision)).coldSum += v.value;
    }

    const config = this.src.config();
    const status = this.src.status();
    const seconds = this.lastTime > 0 ? Math.max(0.001, (time - this.lastTime) / 1000) : HISTORY_PERIOD_MS / 1000;
    const revisions: RevisionSample[] = status.revisions.map((r) => {
      const spec = config.revisions.get(r.name);
      const target = spec ? resolveTarget(spec).target : NaN;
      const now = totals.get(r.name) ?? ZERO;
      // A revision with nothing counted at the last sample starts from zero (unless this is the first sample).
      const before = this.last.get(r.name) ?? (this.lastTime > 0 ? ZERO : undefined);
      // A counter that went down was reset: count from zero.
      const dRequests = before && now.requests >= before.requests ? now.requests - before.requests : before ? now.requests : 0;
      const perBucket = bucketDeltas(now, before);
      const dCold = before ? now.coldCount - before.coldCount : 0;
      const dColdSum = before ? now.coldSum - before.coldSum : 0;
      const finite = now.bounds.filter((b) => Number.isFinite(b));
      const values: Record<RevisionField, number> = {
        desired: r.desiredPods < 0 ? NaN : r.desiredPods,
        ready: r.readyPods,
        stable: r.stableConcurrency,
        panic: r.panicConcurrency,
        target: target * r.readyPods,
        panicMode: r.mode === 'panic' ? 1 : 0,
        rps: dRequests / seconds,
        p50: bucketQuantile(finite, perBucket, 0.5) * 1000,
        p99: bucketQuantile(finite, perBucket, 0.99) * 1000,
        buffered: r.bufferedRequests,
        coldStarts: dCold > 0 ? dCold : 0,
        coldStartMs: dCold > 0 ? (dColdSum / dCold) * 1000 : NaN,
      };
      return {
        name: r.name,
        service: r.service,
        metric: spec?.autoscaling.metric ?? 'concurrency',
        targetPerPod: target,
        maxScale: spec?.autoscaling.maxScale ?? 0,
        values,
        pods: r.pods.map((p) => ({ id: p.id, inFlight: p.inFlight })),
      };
    });
    this.last = totals;
    this.lastTime = time;
    this.history.record({ time, revisions, services: status.services });
  }
}

/** Per-bucket counts of the period (bounds order, +Inf last) from two cumulative snapshots. */
function bucketDeltas(now: Totals, before: Totals | undefined): number[] {
  const out: number[] = [];
  if (before === undefined) return now.buckets.map(() => 0);
  let prevNow = 0;
  let prevBefore = 0;
  for (let i = 0; i < now.buckets.length; i++) {
    const cumNow = now.buckets[i]!;
    const cumBefore = before.bounds[i] === now.bounds[i] ? (before.buckets[i] ?? 0) : 0;
    const d = cumNow - prevNow - (cumBefore - prevBefore);
    out.push(d > 0 ? d : 0);
    prevNow = cumNow;
    prevBefore = cumBefore;
  }
  return out;
}
