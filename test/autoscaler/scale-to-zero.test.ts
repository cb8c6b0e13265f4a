/**
 * Scale-to-zero timing on a scripted clock: grace period, pod retention,
 * and the rule that the activator is published in the path on an earlier
 * tick than the one that actuates 0 (KNATIVE.md 1.5, scenario 22).
 */
import { describe, expect, it } from 'vitest';
import { applyBounds, type BoundsParams, type BoundsState } from '../../src/autoscaler/bounds.js';
import { initialKpaState, kpaStep, type KpaState } from '../../src/autoscaler/kpa.js';
import { scalingParams } from '../../src/autoscaler/targets.js';
import { DEFAULT_AUTOSCALER } from '../../src/config/defaults.js';
import type { AutoscalerSettings } from '../../src/config/types.js';

const t0 = 1_700_000_000_000;
const S = 1000;

describe('22: the reconciler rules (grace 60 s, stable window 5 m)', () => {
  const P: BoundsParams = {
    minScale: 0,
    maxScale: 0,
    initialScale: 1,
    enableScaleToZero: true,
    stableWindowMs: 300 * S,
    scaleToZeroGracePeriodMs: 60 * S,
    scaleToZeroPodRetentionPeriodMs: 0,
    progressDeadlineMs: 600_000,
  };
  const at = (p: Partial<BoundsParams>, s: BoundsState, now: number) => applyBounds({ ...P, ...p }, s, { now, recommendation: 0, readyPods: s.actuated, reachable: true });
  const activeSince = (since: number): BoundsState => ({ phase: 'active', since, proxySince: null, initialReached: true, actuated: 1 });
  const inactiveSince = (since: number, proxySince: number | null): BoundsState => ({ phase: 'inactive', since, proxySince, initialReached: true, actuated: 1 });

  it('active for window − 1 s → 1 and stays active', () => {
    const r = at({}, activeSince(t0), t0 + 299 * S);
    expect(r.desired).toBe(1);
    expect(r.state.phase).toBe('active');
  });

  it('active ≥ window → inactive, no replica change, activator needed', () => {
    const r = at({}, { ...activeSince(t0), actuated: 3 }, t0 + 300 * S);
    expect(r.desired).toBe(3);
    expect(r.state).toMatchObject({ phase: 'inactive', since: t0 + 300 * S });
    expect(r.needsActivator).toBe(true);
  });

  it('inactive ≥ grace with the activator in the path → 0', () => {
    expect(at({}, inactiveSince(t0, t0), t0 + 60 * S).desired).toBe(0);
  });

  it('inactive for grace − 1 s → wait, unless the activator has been in the path ≥ grace (fast path) → 0', () => {
    expect(at({}, inactiveSince(t0, t0), t0 + 59 * S).desired).toBe(1);
    expect(at({}, inactiveSince(t0, t0 - 10 * S), t0 + 59 * S).desired).toBe(0);
    expect(at({}, inactiveSince(t0, t0 - 60 * S), t0 + 2 * S).desired).toBe(0);
    expect(at({}, inactiveSince(t0, t0 - 10 * S), t0 + 2 * S).desired).toBe(1);
  });

  it('retention 2 × grace → wait until the revision has been inactive that long, even on the fast path', () => {
    const p = { scaleToZeroPodRetentionPeriodMs: 120 * S };
    expect(at(p, inactiveSince(t0, t0 - 600 * S), t0 + 119 * S).desired).toBe(1);
    expect(at(p, inactiveSince(t0, t0 - 600 * S), t0 + 120 * S).desired).toBe(0);
  });

  it('never 0 before the activator was published in the path', () => {
    expect(at({}, inactiveSince(t0 - 600 * S, null), t0).desired).toBe(1);
  });
});

describe('whole KPA step: load stops → 0 after the stable window plus the grace period', () => {
  const settings = (s: Partial<AutoscalerSettings> = {}) => scalingParams({ containerConcurrency: 0, annotations: {}, autoscaling: { ...DEFAULT_AUTOSCALER, target: 10, targetUtilizationPercentage: 100, ...s } });

  /** Ticks every 2 s with `observe(t)` giving [stable, panic]; pods follow the desired count at once. */
  function script(p: ReturnType<typeof settings>, observe: (t: number) => [number, number], seconds: number) {
    let ready = 1;
    let state: KpaState = initialKpaState(p, { now: t0, readyPods: ready, reachable: true, previous: null });
    const rows: { t: number; desired: number; inPath: boolean }[] = [];
    for (let t = 0; t <= seconds; t += 2) {
      const [stable, panic] = observe(t);
      const r = kpaStep(p, state, { now: t0 + t * S, stable, panic, readyPods: ready, reachable: true });
      state = r.state;
      ready = r.desired;
      rows.push({ t, desired: r.desired, inPath: r.activatorInPath });
    }
    return rows;
  }
  const firstZero = (rows: { t: number; desired: number }[]) => rows.find((r) => r.desired === 0)?.t;

  it('with 5 pods (activator out of the path at load): zero 30 s after the stable average reaches 0, and the activator is in the path first', () => {
    // Stable average 50 until t=100, then 0 (as a 60 s window would show it by then).
    // target 20 × 50 % = 10 per pod, capacity 20 per pod: EBC = 5 × 20 − 20 − 50 = 30 ≥ 0.
    const p = settings({ target: 20, targetUtilizationPercentage: 50, targetBurstCapacity: 20 });
    const rows = script(p, (t) => (t < 100 ? [50, 50] : [0, 0]), 200);
    expect(rows.find((r) => r.t === 98)).toMatchObject({ desired: 5, inPath: false });
    // The scale-down rate (2) halves the pods per tick: 5 → 2 → 1.
    expect(rows.find((r) => r.t === 100)).toMatchObject({ desired: 2, inPath: false });
    expect(rows.find((r) => r.t === 102)).toMatchObject({ desired: 1, inPath: false });
    // t=104: the recommendation is 0: inactive, no replica change, the activator goes in the path.
    expect(rows.find((r) => r.t === 104)).toMatchObject({ desired: 1, inPath: true });
    expect(rows.find((r) => r.t === 132)).toMatchObject({ desired: 1, inPath: true });
    expect(firstZero(rows)).toBe(134);
    const zeroAt = rows.findIndex((r) => r.desired === 0);
    expect(rows[zeroAt - 1]?.inPath).toBe(true);
  });

  it('with 1 pod and TBC 211 the activator is already in the path: zero on the tick after inactive (fast path)', () => {
    const p = settings();
    const rows = script(p, (t) => (t < 100 ? [5, 5] : [0, 0]), 200);
    expect(rows.every((r) => r.inPath)).toBe(true);
    expect(firstZero(rows)).toBe(102);
  });

  it('scale-to-zero-pod-retention-period 60 s keeps the last pod 60 s after going inactive', () => {
    const p = settings({ scaleToZeroPodRetentionPeriodMs: 60_000 });
    const rows = script(p, (t) => (t < 100 ? [5, 5] : [0, 0]), 240);
    expect(firstZero(rows)).toBe(160);
  });

  it('enable-scale-to-zero false: never below 1', () => {
    const p = settings({ enableScaleToZero: false });
    const rows = script(p, (t) => (t < 100 ? [50, 50] : [0, 0]), 300);
    expect(firstZero(rows)).toBeUndefined();
    expect(rows.at(-1)?.desired).toBe(1);
  });

  it('a new idle revision: initial scale 1, then 0 after a stable window active plus the grace period', () => {
    const p = settings({ targetBurstCapacity: 0 }); // activator not in the path while pods are up
    const rows = script(p, () => [0, 0], 200);
    expect(rows[0]?.desired).toBe(1);
    expect(firstZero(rows)).toBe(90);
  });
});

describe('activator in the path (target-burst-capacity)', () => {
  const params = (tbc: number) =>
    scalingParams({ containerConcurrency: 0, annotations: {}, autoscaling: { ...DEFAULT_AUTOSCALER, target: 10, targetUtilizationPercentage: 100, targetBurstCapacity: tbc } });
  const step = (tbc: number, readyPods: number, load: number) => {
    const p = params(tbc);
    const state = initialKpaState(p, { now: t0, readyPods, reachable: true, previous: { desiredPods: readyPods, mode: 'stable', stableConcurrency: load, panicConcurrency: load, excessBurstCapacity: 0, activatorInPath: false, time: t0 } });
    return kpaStep(p, state, { now: t0 + 2000, stable: load, panic: load, readyPods, reachable: true });
  };
  it.each([
    ['TBC 211, 3 pods of 10, load 5: EBC 30 − 211 − 5 < 0 → in the path', 211, 3, 5, true],
    ['TBC 20, 3 pods of 10, load 5: EBC 30 − 20 − 5 = 5 ≥ 0 → out', 20, 3, 5, false],
    ['TBC 0: out of the path whenever a pod is ready', 0, 1, 9, false],
    ['TBC 0 but no ready pod: in the path', 0, 0, 9, true],
    ['TBC −1: always in the path', -1, 10, 5, true],
  ] as const)('%s', (_name, tbc, ready, load, inPath) => {
    expect(step(tbc, ready, load).activatorInPath).toBe(inPath);
  });
});
