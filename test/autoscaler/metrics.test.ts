import { describe, expect, it } from 'vitest';
import { observe, perSecondTotals, SecondTotals, SETTLE_SECONDS } from '../../src/autoscaler/metrics.js';
import type { PodStat } from '../../src/store/store.js';

const t0 = 1_700_000_000_000;
const stat = (sec: number, pod: string, concurrency: number, extra: Partial<PodStat> = {}): PodStat => ({
  revision: 'r',
  pod,
  time: t0 + sec * 1000 + 400,
  concurrency,
  requests: 0,
  proxiedConcurrency: 0,
  proxiedRequests: 0,
  ...extra,
});
const spec = { metric: 'concurrency' as const, aggregation: 'linear' as const, stableWindowMs: 60_000, panicWindowMs: 6000 };

describe('stats → revision totals', () => {
  it('sums pods and activators per second, minus what came through the activator', () => {
    const totals = perSecondTotals(
      [stat(0, 'p1', 3), stat(0, 'p2', 4, { proxiedConcurrency: 2 }), stat(0, 'activator:e1', 10), stat(1, 'p1', 1)],
      'concurrency',
    );
    expect(totals.get(t0 / 1000)).toBe(15);
    expect(totals.get(t0 / 1000 + 1)).toBe(1);
  });

  it('rps uses requests − proxied requests', () => {
    const totals = perSecondTotals([stat(0, 'p1', 9, { requests: 20, proxiedRequests: 5 })], 'rps');
    expect(totals.get(t0 / 1000)).toBe(15);
  });

  it('a poke is demand of at least 1 in its second, so an empty window has data at once', () => {
    expect(observe(spec, new Map(), t0).stable).toBeNull();
    expect(observe(spec, new Map(), t0, [t0])).toEqual({ stable: 1, panic: 1 });
    // Not added on top of reported load in the same second.
    expect(observe(spec, new Map([[t0 / 1000, 5]]), t0, [t0]).stable).toBe(5);
  });
});

describe('SecondTotals across ticks', () => {
  it('reads only unsettled seconds after the first read, and keeps settled ones for the whole window', () => {
    const s = new SecondTotals('concurrency', 60_000);
    const now1 = t0 + 10_000;
    expect(s.readSince(now1)).toBeLessThan(t0 - 49_000);
    s.update(Array.from({ length: 11 }, (_, i) => stat(i, 'p', 6)), now1);
    // Next tick reads from the first unsettled second on.
    const since = s.readSince(now1 + 2000);
    expect(since).toBe(t0 + (10 - SETTLE_SECONDS + 1) * 1000 - 1);
    // The store has dropped old stats (short retention): only recent rows come back.
    const all = s.update([stat(8, 'p', 6), stat(9, 'p', 6), stat(10, 'p', 6), stat(11, 'p', 6), stat(12, 'p', 6)], now1 + 2000);
    expect(all.size).toBe(13);
    expect(observe(spec, all, now1 + 2000).stable).toBe(6);
  });

  it('a late stat for an unsettled second is still counted', () => {
    const s = new SecondTotals('concurrency', 60_000);
    s.update([stat(0, 'p1', 1)], t0 + 1000);
    const all = s.update([stat(0, 'p1', 1), stat(0, 'p2', 2)], t0 + 2000);
    expect(all.get(t0 / 1000)).toBe(3);
  });
});
