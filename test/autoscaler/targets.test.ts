import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTOSCALER } from '../../src/config/defaults.js';
import type { AutoscalerSettings } from '../../src/config/types.js';
import { panicWindowMs, resolveTarget, scalingParams } from '../../src/autoscaler/targets.js';

const TU = 'autoscaling.knative.dev/target-utilization-percentage';
const rev = (cc: number, s: Partial<AutoscalerSettings> = {}, annotations: Record<string, string> = {}) => ({
  containerConcurrency: cc,
  autoscaling: { ...DEFAULT_AUTOSCALER, ...s },
  annotations,
});

describe('target resolution (KNATIVE.md 1.2, scenario 19)', () => {
  const cases: [string, ReturnType<typeof rev>, number, number][] = [
    ['19: defaults → 70 / 100', rev(0), 70, 100],
    ['19: RPS → 140 / 200', rev(0, { metric: 'rps' }), 140, 200],
    ['19: RPS ignores the concurrency percentage from the config', rev(0, { metric: 'rps', targetUtilizationPercentage: 50, containerConcurrencyTargetPercentage: 50 }), 140, 200],
    ['19: RPS with an annotated utilization', rev(0, { metric: 'rps', target: 10, targetUtilizationPercentage: 50 }, { [TU]: '50' }), 5, 10],
    ['19: CC=10 + target 1 at TU 100 → 1 / 1', rev(10, { target: 1, targetUtilizationPercentage: 100 }), 1, 1],
    ['19: CC=1 + target 10 (capped at CC) at TU 100 → 1 / 1', rev(1, { target: 10, targetUtilizationPercentage: 100 }), 1, 1],
    ['19: target 1 at TU 0.1 % → floor 0.01', rev(0, { target: 1, targetUtilizationPercentage: 0.1 }), 0.01, 1],
    ['19: CC=12 + TU 75 → 9 / 12', rev(12, { targetUtilizationPercentage: 75 }), 9, 12],
    ['CC=0 + target 10 → 7 / 10', rev(0, { target: 10 }), 7, 10],
    ['container-concurrency-target-default 50 → 35 / 50', rev(0, { containerConcurrencyTargetDefault: 50 }), 35, 50],
  ];
  it.each(cases)('%s', (_name, r, target, total) => {
    const got = resolveTarget(r);
    expect(got.target).toBeCloseTo(target, 9);
    expect(got.total).toBe(total);
  });
});

describe('windows and thresholds', () => {
  it('panic window = round(stable × pct / 100), whole seconds, at least 1 s', () => {
    expect(panicWindowMs(60_000, 10)).toBe(6000);
    expect(panicWindowMs(6000, 10)).toBe(1000);
    expect(panicWindowMs(6000, 1)).toBe(1000);
    expect(panicWindowMs(65_000, 10)).toBe(7000); // 6.5 s rounds up
    expect(panicWindowMs(3_600_000, 100)).toBe(3_600_000);
  });

  it('scalingParams reads the revision settings (threshold as a fraction, zero initial scale only when allowed)', () => {
    const p = scalingParams(rev(0, { panicThresholdPercentage: 300, stableWindowMs: 120_000, panicWindowPercentage: 5, initialScale: 0 }));
    expect(p.panicThreshold).toBe(3);
    expect(p.panicWindowMs).toBe(6000);
    expect(p.initialScale).toBe(1);
    expect(scalingParams(rev(0, { initialScale: 0, allowZeroInitialScale: true })).initialScale).toBe(0);
  });
});
