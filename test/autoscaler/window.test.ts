import { describe, expect, it } from 'vitest';
import { BucketWindow, smoothingCoefficient } from '../../src/autoscaler/window.js';

const t0 = 1_700_000_000_000;
const s = (n: number) => t0 + n * 1000;

describe('linear window (KNATIVE.md 1.3, scenario 20: 5 s window)', () => {
  it('20: one value at t0 averages to itself', () => {
    const w = new BucketWindow(5000);
    w.record(s(0), 1);
    expect(w.average(s(0))).toBe(1);
  });

  it('20: 1..5 at t0..t4 → 3; at t6 the two oldest drop out → (15−1−2)/3 = 4', () => {
    const w = new BucketWindow(5000);
    for (let i = 0; i < 5; i++) w.record(s(i), i + 1);
    expect(w.average(s(4))).toBe(3);
    expect(w.average(s(6))).toBe(4);
  });

  it('20: nothing written for more than a whole window → no data (null), not 0; exactly one window later it reads 0', () => {
    const w = new BucketWindow(5000);
    for (let i = 0; i < 5; i++) w.record(s(i), i + 1);
    expect(w.average(s(8))).toBe(5); // only t4 is left in the divisor and sum
    expect(w.average(s(9))).toBe(0); // Knative: now − lastWrite = window is not empty yet, the average is 0
    expect(w.average(s(10))).toBeNull();
    expect(w.average(s(11))).toBeNull();
    expect(new BucketWindow(5000).average(s(0))).toBeNull();
  });

  it('a young window averages over its own length, not the whole window', () => {
    const w = new BucketWindow(60_000);
    w.record(s(0), 10);
    w.record(s(1), 20);
    expect(w.average(s(1))).toBe(15);
  });

  it('values in the same second sum (pods and activators): 1 + 10 → 11', () => {
    const w = new BucketWindow(60_000);
    w.record(s(0) + 100, 1);
    w.record(s(0) + 900, 10);
    expect(w.average(s(0))).toBe(11);
  });

  it('a full window of zeros averages to 0 (data), and one busy second is diluted over 60', () => {
    const w = new BucketWindow(60_000);
    for (let i = 0; i < 60; i++) w.record(s(i), i === 59 ? 60 : 0);
    expect(w.average(s(59))).toBe(1);
    for (let i = 60; i < 119; i++) w.record(s(i), 0);
    expect(w.average(s(118))).toBe(1);
    w.record(s(119), 0);
    expect(w.average(s(119))).toBe(0);
  });

  it('a write after a pause longer than the window starts afresh', () => {
    const w = new BucketWindow(5000);
    w.record(s(0), 100);
    w.record(s(20), 2);
    expect(w.average(s(20))).toBe(2);
  });

  it('a write exactly one window after the last one starts afresh too (Knative: gap ≥ window)', () => {
    const w = new BucketWindow(6000);
    w.record(s(0), 0);
    w.record(s(6), 60);
    expect(w.average(s(6))).toBe(60); // not 60 / 6 = 10: the idle second 0 is not part of the new window
  });

  it('rounds to 6 decimals', () => {
    const w = new BucketWindow(5000);
    w.record(s(0), 1);
    w.record(s(1), 0);
    w.record(s(2), 0);
    expect(w.average(s(2))).toBe(0.333333);
  });
});

describe('weighted-exponential window', () => {
  it('smoothing coefficient: 60 buckets → 0.2, 40 → 0.20567, 6 → 0.78456', () => {
    expect(smoothingCoefficient(60)).toBeCloseTo(0.2, 5);
    expect(smoothingCoefficient(40)).toBeCloseTo(0.20567, 5);
    expect(smoothingCoefficient(6)).toBeCloseTo(0.78456, 5);
  });

  it('newest first, weights α(1−α)^k, idle seconds count as zero buckets', () => {
    const w = new BucketWindow(6000, 'weighted-exponential');
    const a = smoothingCoefficient(6);
    w.record(s(0), 10);
    w.record(s(1), 20);
    expect(w.average(s(1))).toBeCloseTo(20 * a + 10 * a * (1 - a), 9);
    expect(w.average(s(3))).toBeCloseTo(20 * a * (1 - a) ** 2 + 10 * a * (1 - a) ** 3, 9);
    expect(w.average(s(7))).toBe(0); // idle for exactly the window: every weight is past it
    expect(w.average(s(8))).toBeNull();
  });
});
