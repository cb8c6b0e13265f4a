import { describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from '../../src/admin/hot-metrics.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];

describe('hot metrics', () => {
  it('expose exactly what prom-client would for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const hc = new HotCounter(ours, 'x_requests_total', 'Requests', ['revision', 'code']);
    const pc = new Counter({ name: 'x_requests_total', help: 'Requests', labelNames: ['revision', 'code'], registers: [theirs] });
    const hh = new HotHistogram(ours, 'x_duration_seconds', 'Duration', ['revision'], BUCKETS);
    const ph = new Histogram({ name: 'x_duration_seconds', help: 'Duration', labelNames: ['revision'], buckets: BUCKETS, registers: [theirs] });

    const samples: [string, string, number][] = [
      ['a', '200', 0.0005],
      ['a', '200', 0.001], // on a bound: counted in that bucket
      ['a', '503', 0.05],
      ['b', '200', 2.5], // above every bound: only in +Inf
      ['b', '0', 0.1],
    ];
    for (const [rev, code, seconds] of samples) {
      hc.labels(rev, code).inc();
      pc.labels(rev, code).inc();
      hh.labels(rev).observe(seconds);
      ph.labels(rev).observe(seconds);
    }
    hc.labels('a', '200').inc(3);
    pc.labels('a', '200').inc(3);

    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('x_duration_seconds_bucket{le="0.001",revision="a"} 2');
  });

  it('hands out one child per label set, and reset() forgets them', async () => {
    const reg = new Registry();
    const c = new HotCounter(reg, 'y_total', 'Y', ['code']);
    expect(c.labels('200')).toBe(c.labels('200'));
    expect(c.labels('200')).not.toBe(c.labels('404'));
    c.labels('200').inc(2);
    expect(await reg.metrics()).toContain('y_total{code="200"} 2');
    reg.resetMetrics();
    expect(await reg.metrics()).not.toContain('y_total{');
  });
});
