/**
 * The dashboard's memory: the last 15 minutes of every revision's figures,
 * one sample a second, in fixed-size rings (a Float64Array per series, NaN
 * where there was no value). Memory is bounded by the window: a series whose
 * last value has aged out is dropped, and a revision keeps at most
 * MAX_PODS_PER_REVISION pod series. Pure: the sampler (history-sampler.ts)
 * hands it samples with their time.
 */

export const HISTORY_PERIOD_MS = 1000;
export const HISTORY_WINDOW_MS = 15 * 60_000;
/** A long run scales through many pod ids; the oldest-seen pod's series goes first. */
export const MAX_PODS_PER_REVISION = 64;

/** Per-revision series, in the order the JSON lists them. */
export const REVISION_FIELDS = [
  'desired', // pods the autoscaler wants (NaN until it decided)
  'ready', // ready pods
  'stable', // stable-window concurrency (or rps, see `metric`)
  'panic', // panic-window concurrency
  'target', // per-pod target × ready pods: where the stable figure sits when the scale is right
  'panicMode', // 1 while in panic mode
  'rps', // requests answered in the period, per second
  'p50', // latency of those requests, ms (from the duration histogram's buckets)
  'p99',
  'buffered', // requests waiting in the activator buffer
  'coldStarts', // cold starts that ended in the period
  'coldStartMs', // their mean duration, ms
] as const;
export type RevisionField = (typeof REVISION_FIELDS)[number];

export interface RevisionSample {
  readonly name: string;
  readonly service: string;
  readonly metric: 'concurrency' | 'rps';
  readonly targetPerPod: number;
  /** autoscaling max-scale (0 = unbounded). */
  readonly maxScale: number;
  readonly values: Readonly<Record<RevisionField, number>>;
  readonly pods: readonly { readonly id: string; readonly inFlight: number }[];
}

export interface ServiceSample {
  readonly name: string;
  readonly traffic: readonly { readonly revisionName: string; readonly percent: number; readonly tag: string | null }[];
}

export interface Sample {
  /** Epoch ms. */
  readonly time: number;
  readonly revisions: readonly RevisionSample[];
  readonly services: readonly ServiceSample[];
}

/** GET /history?since=T: the samples with time > T, oldest first; null where a series had no value. */
export interface HistoryDoc {
  periodMs: number;
  windowMs: number;
  /** Sample times, epoch ms. */
  t: number[];
  revisions: {
    name: string;
    service: string;
    metric: 'concurrency' | 'rps';
    targetPerPod: number;
    maxScale: number;
    series: Record<RevisionField, (number | null)[]>;
    pods: { id: string; inFlight: (number | null)[] }[];
  }[];
  /** The traffic split at the last sample. */
  services: ServiceSample[];
}

interface PodSeries {
  readonly ring: Float64Array;
  /** Sample number of its last value. */
  lastSeen: number;
}

interface RevisionSeries {
  service: string;
  metric: 'concurrency' | 'rps';
  targetPerPod: number;
  maxScale: number;
  readonly rings: Record<RevisionField, Float64Array>;
  readonly pods: Map<string, PodSeries>;
  lastSeen: number;
}

export class History {
  readonly capacity: number;
  private readonly times: Float64Array;
  /** Samples recorded so far; slot of sample n is n % capacity. */
  private count = 0;
  private readonly revisions = new Map<string, RevisionSeries>();
  private services: ServiceSample[] = [];

  constructor(capacity = HISTORY_WINDOW_MS / HISTORY_PERIOD_MS) {
    this.capacity = capacity;
    this.times = new Float64Array(capacity);
  }

  get size(): number {
    return Math.min(this.count, this.capacity);
  }

  /** Series held now (revisions, pods): what bounds the memory. */
  get seriesCount(): { revisions: number; pods: number } {
    let pods = 0;
    for (const r of this.revisions.values()) pods += r.pods.size;
    return { revisions: this.revisions.size, pods };
  }

  record(sample: Sample): void {
    const n = this.count;
    const slot = n % this.capacity;
    this.times[slot] = sample.time;
    for (const r of this.revisions.values()) {
      for (const f of REVISION_FIELDS) r.rings[f][slot] = NaN;
      for (const p of r.pods.values()) p.ring[slot] = NaN;
    }
    for (const s of sample.revisions) {
      let r = this.revisions.get(s.name);
      if (r === undefined) this.revisions.set(s.name, (r = this.newRevision()));
      r.service = s.service;
      r.metric = s.metric;
      r.targetPerPod = s.targetPerPod;
      r.maxScale = s.maxScale;
      r.lastSeen = n;
      for (const f of REVISION_FIELDS) r.rings[f][slot] = s.values[f];
      for (const p of s.pods) {
        let ps = r.pods.get(p.id);
        if (ps === undefined) {
          if (r.pods.size >= MAX_PODS_PER_REVISION) dropOldestPod(r.pods);
          r.pods.set(p.id, (ps = { ring: new Float64Array(this.capacity).fill(NaN), lastSeen: n }));
        }
        ps.ring[slot] = p.inFlight;
        ps.lastSeen = n;
      }
    }
    this.services = sample.services.map((s) => ({ name: s.name, traffic: s.traffic.map((t) => ({ ...t })) }));
    this.count = n + 1;
    // Whatever has no value left in the window goes.
    const oldest = this.count - this.capacity;
    for (const [name, r] of this.revisions) {
      if (r.lastSeen < oldest) {
        this.revisions.delete(name);
        continue;
      }
      for (const [id, p] of r.pods) if (p.lastSeen < oldest) r.pods.delete(id);
    }
  }

  /** The samples with time > sinceMs (all of them for 0), oldest first. */
  since(sinceMs: number): HistoryDoc {
    const first = Math.max(0, this.count - this.capacity);
    let start = first;
    while (start < this.count && this.times[start % this.capacity]! <= sinceMs) start++;
    const slots: number[] = [];
    for (let i = start; i < this.count; i++) slots.push(i % this.capacity);
    const pick = (ring: Float64Array) => slots.map((s) => (Number.isNaN(ring[s]!) ? null : ring[s]!));
    return {
      periodMs: HISTORY_PERIOD_MS,
      windowMs: this.capacity * HISTORY_PERIOD_MS,
      t: slots.map((s) => this.times[s]!),
      revisions: [...this.revisions].map(([name, r]) => ({
        name,
        service: r.service,
        metric: r.metric,
        targetPerPod: r.targetPerPod,
        maxScale: r.maxScale,
        series: Object.fromEntries(REVISION_FIELDS.map((f) => [f, pick(r.rings[f])])) as Record<RevisionField, (number | null)[]>,
        pods: [...r.pods].map(([id, p]) => ({ id, inFlight: pick(p.ring) })),
      })),
      services: this.services,
    };
  }

  private newRevision(): RevisionSeries {
    const rings = {} as Record<RevisionField, Float64Array>;
    for (const f of REVISION_FIELDS) rings[f] = new Float64Array(this.capacity).fill(NaN);
    return { service: '', metric: 'concurrency', targetPerPod: 0, maxScale: 0, rings, pods: new Map(), lastSeen: 0 };
  }
}

function dropOldestPod(pods: Map<string, PodSeries>): void {
  let oldestId: string | null = null;
  let oldest = Infinity;
  for (const [id, p] of pods) {
    if (p.lastSeen < oldest) {
      oldest = p.lastSeen;
      oldestId = id;
    }
  }
  if (oldestId !== null) pods.delete(oldestId);
}

/**
 * The q-quantile (0..1) of the observations in one period, from a histogram's
 * per-bucket counts (counts[i] ≤ bounds[i], the last slot +Inf), interpolated
 * linearly inside the bucket as Prometheus' histogram_quantile does. NaN when
 * the period had no observation; the highest bound when it falls in +Inf.
 */
export function bucketQuantile(bounds: readonly number[], counts: readonly number[], q: number): number {
  let total = 0;
  for (const c of counts) total += c;
  if (total <= 0) return NaN;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && below + c >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? NaN;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + (bounds[i]! - lower) * ((rank - below) / c);
    }
    below += c;
  }
  return bounds[bounds.length - 1] ?? NaN;
}
