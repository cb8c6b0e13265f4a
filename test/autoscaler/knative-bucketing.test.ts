/**
 * Knative's pkg/autoscaler/aggregation/bucketing_test.go, ported case by
 * case (the names are Knative's, so each can be found there). The values
 * are Knative's facts; tidegate's window has no bucket accessor, so a case
 * that sums buckets in Knative checks the same sum through the average.
 * Where tidegate differs on purpose, the case says so and docs/autoscaler.md
 * ("Ported Knative tests") gives the reason.
 */
import { describe, expect, it } from 'vitest';
import { observe } from '../../src/autoscaler/metrics.js';
import { BucketWindow, round6 } from '../../src/autoscaler/window.js';

const t0 = 1_700_000_000_000; // a whole second
const at = (seconds: number) => t0 + seconds * 1000;

describe('TestTimedFloat64BucketsSimple', () => {
  it('granularity = 1s: values in one second sum (1 from the activator + 10 from a pod = 11), empty seconds add nothing', () => {
    const w = new BucketWindow(120_000);
    w.record(at(0), 1);
    w.record(at(0) + 100, 10);
    w.record(at(1), 1);
    w.record(at(3), 1);
    // Buckets 11, 1, 0, 1 over the 4 seconds since the first write.
    expect(w.average(at(3))).toBe(13 / 4);
  });

  it('granularity = 5s: not applicable, tidegate buckets are always 1 s (Knative\'s BucketSize constant)', () => {
    expect(new BucketWindow(5000).size).toBe(5);
  });

  it('empty: a window nothing was written to has no data', () => {
    expect(new BucketWindow(120_000).average(at(0))).toBeNull();
  });
});

describe('TestTimedFloat64BucketsManyReps', () => {
  it('five writes in each of five seconds: buckets 10, 15, 20, 25, 30 (sum 100)', () => {
    const w = new BucketWindow(60_000);
    for (let p = 0; p < 5; p++) for (let t = 0; t < 5; t++) w.record(at(p + 1), p + t);
    expect(w.average(at(5))).toBe(100 / 5);
  });
});

describe('TestTimedFloat64BucketsManyRepsWithNonMonotonicalOrder', () => {
  it('the same writes in the seconds 0, 3, 2, 1, 4: still 100 in all', () => {
    const w = new BucketWindow(60_000);
    const d = [0, 3, 2, 1, 4];
    for (let p = 0; p < 5; p++) for (let t = 0; t < 5; t++) w.record(at(d[p] ?? 0), p + t);
    expect(w.average(at(4))).toBe(100 / 5);
  });
});

describe('TestTimedFloat64BucketsWindowAverage', () => {
  it('first write, full window, lagging now, short and long holes, late and too-early writes (5 s window)', () => {
    const w = new BucketWindow(5000);
    w.record(at(0), 1);
    expect(w.average(at(0))).toBe(1); // firstWrite is used: not 1/5
    for (let i = 1; i < 5; i++) w.record(at(i), i + 1);
    expect(w.average(at(4))).toBe(15 / 5);
    expect(w.average(at(3.6))).toBe(15 / 5); // `now` lags behind the last write
    expect(w.average(at(6))).toBe((15 - 1 - 2) / (5 - 2)); // short hole
    // Long hole: Knative's WindowAverage reads 0 and its IsEmpty is true, so the collector reports
    // no data; tidegate's average folds both into null.
    expect(w.average(at(10))).toBeNull();
    w.record(at(6), 91); // write with holes
    expect(w.average(at(6))).toBe((15 - 1 - 2 + 91) / 5);
    const later = 60; // advance much farther
    w.record(at(later), 1984);
    expect(w.average(at(later))).toBe(1984);
    w.record(at(later - 3), 4); // an earlier time
    expect(w.average(at(later))).toBe((4 + 1984) / 4);
    w.record(at(later + 1), 5); // one more second passes
    expect(w.average(at(later + 1))).toBe((4 + 1984 + 5) / 5);
    w.record(at(later + 1 - 3), 10); // an earlier time again
    expect(w.average(at(later + 1))).toBe((4 + 10 + 1984 + 5) / 5);
    w.record(at(later + 1 - 6), 10); // too early: ignored
    expect(w.average(at(later + 1))).toBe((4 + 10 + 1984 + 5) / 5);
  });
});

describe('TestDescendingRecord', () => {
  it('5 written every second from 8 s down to 0 s: the average is 5', () => {
    const w = new BucketWindow(5000);
    for (let i = 8; i >= 0; i--) w.record(at(i), 5);
    expect(w.average(at(5))).toBe(5);
  });
});

describe('TestTimedFloat64BucketsHoles', () => {
  it('1..5 in seconds 0..4 → 15; a write of 2 at 8 s leaves second 4 (5) and second 8 (2): sum 7', () => {
    const w = new BucketWindow(5000);
    for (let i = 0; i < 5; i++) w.record(at(i), i + 1);
    expect(w.average(at(4))).toBe(15 / 5);
    w.record(at(8), 2);
    // Knative sums 5 (second 4) + 2 (second 8) = 7 over the full 5 buckets.
    expect(w.average(at(8))).toBe(7 / 5);
  });
});

describe('TestTimedFloat64BucketsWindowUpdate (ResizeWindow)', () => {
  // tidegate has no ResizeWindow: its windows are rebuilt from the per-second totals on every tick
  // (metrics.ts observe), so a reload that changes the window reads the same seconds at the new length.
  const totals = new Map<number, number>();
  for (let i = 0; i <= 5; i++) totals.set(t0 / 1000 + i, i + 1); // 1..6 in seconds 0..5
  const spec = (stableWindowMs: number) => ({ metric: 'concurrency' as const, aggregation: 'linear' as const, stableWindowMs, panicWindowMs: 1000 });

  it('initial data set: a 5 s window at 5 s holds 2..6 → 20 / 5', () => {
    expect(observe(spec(5000), totals, at(5)).stable).toBe(20 / 5);
  });

  it('shrink to 4 s: only the last 4 seconds remain (3..6 → 18 / 4), as after Knative\'s shrink', () => {
    expect(observe(spec(4000), totals, at(5)).stable).toBe(18 / 4);
  });

  it('grow to 10 s: deviation, tidegate still has second 0 (21 / 6) where Knative\'s ring had overwritten it (20 / 5)', () => {
    expect(observe(spec(10_000), totals, at(5)).stable).toBe(round6(21 / 6));
  });
});

describe('TestTimedFloat64BucketsWindowUpdate3sGranularity', () => {
  it('not applicable: tidegate buckets are always 1 s', () => {
    expect(new BucketWindow(5000).size).toBe(5);
  });
});

describe('TestTimedFloat64BucketsWindowUpdateNoOp', () => {
  it('a write a minute ago: a longer window has no valid data either', () => {
    const w = new BucketWindow(10_000);
    w.record(at(-60), 19.82);
    expect(w.average(at(0))).toBeNull();
  });
});

describe('TestRoundToNDigits (6 digits, as WindowAverage uses it)', () => {
  it('truncates rather than rounds', () => {
    expect(round6(3.6e-17)).toBe(0);
    expect(round6(12345)).toBe(12345);
    expect(round6(1.2345678)).toBe(1.234567); // rounding would give 1.234568
    expect(round6(700 / 13)).toBe(53.846153);
  });
});

describe('window edges (issue 14, difference 1): Knative\'s `>=` reset and `>` emptiness', () => {
  const spec = { metric: 'concurrency' as const, aggregation: 'linear' as const, stableWindowMs: 60_000, panicWindowMs: 6000 };
  const sec = (n: number) => t0 / 1000 + n;

  it('an idle stat exactly one panic window old: the panic window starts afresh and reads 60/60/60 (not 10/30/50)', () => {
    const totals = new Map<number, number>([[sec(0), 0]]);
    const panic: (number | null)[] = [];
    for (let s = 6; s <= 10; s++) {
      totals.set(sec(s), 60);
      if (s % 2 === 0) panic.push(observe(spec, totals, at(s)).panic);
    }
    expect(panic).toEqual([60, 60, 60]);
  });

  it('"no data" comes no earlier than in Knative: exactly a stable window after the last stat the average is 0, one second later there is no data', () => {
    const totals = new Map<number, number>([[sec(0), 30]]);
    expect(observe(spec, totals, at(59)).stable).toBe(30);
    expect(observe(spec, totals, at(60)).stable).toBe(0);
    expect(observe(spec, totals, at(61)).stable).toBeNull();
  });
});
