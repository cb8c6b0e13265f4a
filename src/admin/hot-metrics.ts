import type { Metric, Registry } from 'prom-client';

/** What prom-client's registry reads from a metric at scrape time. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}
interface Snapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: Sample[];
  aggregator: 'sum';
}

/**
 * Counters and histograms for the request path. prom-client hashes a child's
 * labels on every inc()/observe(); here a child is a plain object found once
 * per label set, inc() and observe() are field updates, and the registry
 * reads the totals at scrape time (through get(), the interface prom-client
 * asks of every metric). The exposition is the same as prom-client's own.
 */
abstract class HotMetric<Child> {
  private readonly children = new Map<string, { labels: Record<string, string>; child: Child }>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {
    // A custom metric: prom-client's registry only calls get() (and reset()).
    registry.registerMetric(this as unknown as Metric);
  }

  /** The child for these label values (in labelNames order); keep it, it is not looked up cheaply. */
  labels(...values: string[]): Child {
    const key = values.join('\u0000');
    let entry = this.children.get(key);
    if (entry === undefined) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i] ?? ''));
      entry = { labels, child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  reset(): void {
    this.children.clear();
  }

  protected abstract create(): Child;
  protected abstract valuesOf(child: Child, labels: Record<string, string>, out: Sample[]): void;

  get(): Promise<Snapshot> {
    const values: Sample[] = [];
    for (const { labels, child } of this.children.values()) this.valuesOf(child, labels, values);
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' });
  }

  protected abstract readonly type: Snapshot['type'];
}

export class HotCounterChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class HotCounter extends HotMetric<HotCounterChild> {
  protected readonly type = 'counter';
  protected create(): HotCounterChild {
    return new HotCounterChild();
  }
  protected valuesOf(child: HotCounterChild, labels: Record<string, string>, out: Sample[]): void {
    out.push({ labels, value: child.value });
  }
}

export class HotHistogramChild {
  /** counts[i]: observations ≤ bounds[i] and above bounds[i-1]; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class HotHistogram extends HotMetric<HotHistogramChild> {
  protected readonly type = 'histogram';
  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
  ) {
    super(registry, name, help, labelNames);
  }
  protected create(): HotHistogramChild {
    return new HotHistogramChild(this.bounds);
  }
  protected valuesOf(child: HotHistogramChild, labels: Record<string, string>, out: Sample[]): void {
    let cumulative = 0;
    this.bounds.forEach((le, i) => {
      cumulative += child.counts[i]!;
      out.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
    });
    out.push({ labels: { le: '+Inf', ...labels }, value: child.count, metricName: `${this.name}_bucket` });
    out.push({ labels, value: child.sum, metricName: `${this.name}_sum` });
    out.push({ labels, value: child.count, metricName: `${this.name}_count` });
  }
}
