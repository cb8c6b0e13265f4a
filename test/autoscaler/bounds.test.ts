import { describe, expect, it } from 'vitest';
import { applyBounds, freshBoundsState, type BoundsParams, type BoundsState } from '../../src/autoscaler/bounds.js';

const t0 = 1_700_000_000_000;
const P: BoundsParams = {
  minScale: 0,
  maxScale: 0,
  initialScale: 1,
  enableScaleToZero: true,
  stableWindowMs: 60_000,
  scaleToZeroGracePeriodMs: 30_000,
  scaleToZeroPodRetentionPeriodMs: 0,
  progressDeadlineMs: 600_000,
};
const active = (actuated: number, extra: Partial<BoundsState> = {}): BoundsState => ({
  phase: 'active',
  since: t0 - 3_600_000,
  proxySince: null,
  initialReached: true,
  actuated,
  ...extra,
});
const run = (p: Partial<BoundsParams>, s: BoundsState, recommendation: number | null, o: { readyPods?: number; reachable?: boolean; now?: number } = {}) =>
  applyBounds({ ...P, ...p }, s, { now: o.now ?? t0, recommendation, readyPods: o.readyPods ?? s.actuated, reachable: o.reachable ?? true });

describe('bounds: min, max and initial scale (KNATIVE.md 1.5)', () => {
  it('max-scale caps; 0 means no cap', () => {
    expect(run({ maxScale: 5 }, active(3), 12).desired).toBe(5);
    expect(run({ maxScale: 0 }, active(3), 12).desired).toBe(12);
  });

  it('min-scale raises the count only while the revision is routed', () => {
    expect(run({ minScale: 2 }, active(2), 0).desired).toBe(2);
    expect(run({ minScale: 2 }, active(2), 1).desired).toBe(2);
    expect(run({ minScale: 2 }, active(2), 1, { reachable: false }).desired).toBe(1);
  });

  it('22: min-scale 2 keeps 2 pods at zero load; unreachable it heads for zero', () => {
    expect(run({ minScale: 2 }, active(2), 0).desired).toBe(2);
    const r = run({ minScale: 2 }, active(2), 0, { reachable: false });
    expect(r.state.phase).toBe('inactive');
    expect(r.desired).toBe(2); // no replica change on the tick it turns inactive
  });

  it('initial scale > 1 is a minimum until it has been reached once, and counts as reached one tick after the pods are ready', () => {
    const fresh = freshBoundsState({ ...P, initialScale: 3 }, t0, true);
    expect(fresh.actuated).toBe(3);
    const before = run({ initialScale: 3 }, fresh, 1, { readyPods: 2 });
    expect(before.desired).toBe(3);
    const reached = run({ initialScale: 3 }, before.state, 1, { readyPods: 3 });
    expect(reached.desired).toBe(3); // Knative marks ScaleTargetInitialized after this reconcile's scale
    expect(reached.state.initialReached).toBe(true);
    expect(run({ initialScale: 3 }, reached.state, 1, { readyPods: 3 }).desired).toBe(1);
  });

  it('a new revision starts at its initial scale even when traffic does not reach it; a routed one at max(initial, min)', () => {
    expect(freshBoundsState({ ...P, initialScale: 2 }, t0, false)).toMatchObject({ actuated: 2, phase: 'activating' });
    expect(freshBoundsState({ ...P, initialScale: 2, minScale: 4 }, t0, false).actuated).toBe(2);
    expect(freshBoundsState({ ...P, initialScale: 1, minScale: 4 }, t0, true).actuated).toBe(4);
    expect(freshBoundsState({ ...P, initialScale: 0 }, t0, true)).toMatchObject({ actuated: 0, phase: 'inactive' });
  });

  it('enable-scale-to-zero false turns 0 into 1', () => {
    expect(run({ enableScaleToZero: false }, active(1), 0).desired).toBe(1);
  });

  it('an invalid tick (no data) changes nothing', () => {
    const s = active(4);
    const r = run({}, s, null, { readyPods: 4 });
    expect(r.desired).toBe(4);
    expect(r.state.phase).toBe('active');
  });

  it('demand while inactive makes the revision active again at once', () => {
    const s: BoundsState = { ...active(1), phase: 'inactive', since: t0 - 10_000, proxySince: t0 - 10_000 };
    const r = run({}, s, 3);
    expect(r.desired).toBe(3);
    expect(r.state).toMatchObject({ phase: 'active', since: t0 });
    expect(r.needsActivator).toBe(false);
  });
});
