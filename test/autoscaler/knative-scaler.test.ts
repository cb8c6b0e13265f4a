/**
 * Knative's pkg/reconciler/autoscaling/kpa/scaler_test.go (TestScaler,
 * TestDisableScaleToZero) and the table of kpa.go's computeActiveCondition,
 * ported case by case against bounds.ts; the labels are Knative's.
 *
 * Knative's test setting: stable window 5 min, a custom PA window of 45 s,
 * grace period 60 s, the progress deadline 600 s (+30 s activation buffer).
 * "SKS in proxy mode for d" is `proxySince = now − d` here (tidegate has
 * published activatorInPath that long); "the activator probe succeeds" is a
 * non-null proxySince (the flag was published on an earlier tick), and a
 * failing probe is a null one. Knative's "wantScaling: false" means the
 * actuator keeps its count: `desired` stays at startReplicas.
 */
import { describe, expect, it } from 'vitest';
import { ACTIVATION_TIMEOUT_BUFFER_MS, applyBounds, type BoundsParams, type BoundsState, type Phase } from '../../src/autoscaler/bounds.js';
import { progressDeadlineMs } from '../../src/autoscaler/targets.js';

const S = 1000;
const now = 1_700_000_000_000;
const stableWindow = 300 * S;
const paStableWindow = 45 * S;
const gracePeriod = 60 * S;
const progressDeadline = 600 * S;
const activationTimeout = progressDeadline + ACTIVATION_TIMEOUT_BUFFER_MS;

const P: BoundsParams = {
  minScale: 0,
  maxScale: 0,
  initialScale: 1,
  enableScaleToZero: true,
  stableWindowMs: stableWindow,
  scaleToZeroGracePeriodMs: gracePeriod,
  scaleToZeroPodRetentionPeriodMs: 0,
  progressDeadlineMs: progressDeadline,
};

interface Case {
  label: string;
  startReplicas: number;
  /** The decider's count; null = no metrics (Knative's −1). */
  scaleTo: number | null;
  wantReplicas: number;
  wantScaling: boolean;
  /** The PA's Active condition and its last transition; Knative's newKPA starts activating. */
  phase?: Phase;
  since?: number;
  /** null: the activator probe fails. */
  proxySince?: number | null;
  initialReached?: boolean;
  reachable?: boolean;
  readyPods?: number;
  p?: Partial<BoundsParams>;
  /** The phase after the tick, where Knative's case implies it. */
  wantPhase?: Phase;
}

const cases: Case[] = [
  { label: 'waits to scale to zero (just before idle period)', startReplicas: 1, scaleTo: 0, wantReplicas: 1, wantScaling: false, phase: 'active', since: now - stableWindow + S, wantPhase: 'active' },
  { label: 'waits to scale to zero (just before idle period), custom PA window', startReplicas: 1, scaleTo: 0, wantReplicas: 1, wantScaling: false, phase: 'active', since: now - paStableWindow + S, p: { stableWindowMs: paStableWindow } },
  { label: 'custom PA window, check for standard window, no probe', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: false, phase: 'active', since: now - stableWindow, p: { stableWindowMs: paStableWindow }, wantPhase: 'inactive' },
  { label: 'scale to 1 waiting for idle expires', startReplicas: 10, scaleTo: 0, wantReplicas: 1, wantScaling: true, phase: 'active', since: now - stableWindow + S },
  { label: 'waits to scale to zero after idle period', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: false, phase: 'active', since: now - stableWindow, wantPhase: 'inactive' },
  { label: 'waits to scale to zero after idle period; sks in proxy mode', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: false, phase: 'active', since: now - stableWindow, proxySince: now - 10 * S, wantPhase: 'inactive' },
  { label: 'waits to scale to zero after idle period (custom PA window)', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: false, phase: 'active', since: now - paStableWindow, p: { stableWindowMs: paStableWindow }, wantPhase: 'inactive' },
  // The annotation's 0 replaces the ConfigMap's 2 × grace: in tidegate the merged setting is 0.
  { label: 'can scale to zero after grace period, but 0 PA retention', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: true, phase: 'inactive', since: now - gracePeriod, proxySince: now - gracePeriod },
  { label: "can't scale to zero after grace period, but before last pod retention", startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: false, phase: 'inactive', since: now - gracePeriod, proxySince: now - gracePeriod, p: { scaleToZeroPodRetentionPeriodMs: 2 * gracePeriod } },
  { label: "can't scale to zero after grace period, but before last pod retention, pa defined", startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: false, phase: 'inactive', since: now - gracePeriod, proxySince: now - gracePeriod, p: { scaleToZeroPodRetentionPeriodMs: 2 * gracePeriod } },
  { label: 'scale to zero after grace period, and after last pod retention', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: true, phase: 'inactive', since: now - gracePeriod, proxySince: now - gracePeriod, p: { scaleToZeroPodRetentionPeriodMs: gracePeriod } },
  { label: 'scale to zero after grace period', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: true, phase: 'inactive', since: now - gracePeriod, proxySince: now - gracePeriod },
  { label: 'waits to scale to zero (just before grace period)', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: false, phase: 'inactive', since: now - gracePeriod + S, proxySince: now - gracePeriod + S },
  { label: 'waits to scale to zero (just before grace period, sks short)', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: false, phase: 'inactive', since: now - gracePeriod + S, proxySince: now - gracePeriod + S },
  { label: 'waits to scale to zero (just before grace period, sks in proxy long) and last pod timeout positive', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: true, phase: 'inactive', since: now - gracePeriod + S, proxySince: now - gracePeriod, p: { scaleToZeroPodRetentionPeriodMs: 42 * S } },
  { label: 'waits to scale to zero (just before grace period, sks in proxy long)', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: true, phase: 'inactive', since: now - gracePeriod + S, proxySince: now - gracePeriod },
  // TBC −1: the activator is always in the path, so activatorInPath has been published all along.
  { label: 'scale to zero with TBC=-1', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: true, phase: 'inactive', since: now - gracePeriod, proxySince: now - gracePeriod },
  { label: 'scale to zero after grace period, but fail prober', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: false, phase: 'inactive', since: now - gracePeriod, proxySince: null },
  { label: 'scale to zero after grace period, but wrong prober response', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: false, phase: 'inactive', since: now - gracePeriod, proxySince: null },
  { label: 'waits to scale to zero while activating until after deadline exceeded', startReplicas: 1, scaleTo: 0, wantReplicas: -1, wantScaling: false, phase: 'activating', since: now - activationTimeout / 2, readyPods: 0, wantPhase: 'activating' },
  { label: 'scale to zero while activating after deadline exceeded', startReplicas: 1, scaleTo: 0, wantReplicas: 0, wantScaling: true, phase: 'activating', since: now - (activationTimeout + S), readyPods: 0, wantPhase: 'inactive' },
  {
    label: 'scale to zero while activating after revision deadline exceeded',
    startReplicas: 1,
    scaleTo: 0,
    wantReplicas: 0,
    wantScaling: true,
    phase: 'activating',
    since: now - (5 * S + ACTIVATION_TIMEOUT_BUFFER_MS + S),
    readyPods: 0,
    p: { progressDeadlineMs: progressDeadlineMs({ 'serving.knative.dev/progress-deadline': '5s' }) },
  },
  { label: 'scale down to minScale before grace period', startReplicas: 10, scaleTo: 0, wantReplicas: 2, wantScaling: true, phase: 'inactive', since: now - gracePeriod + S, proxySince: now - gracePeriod + S, p: { minScale: 2 } },
  { label: 'scale down to minScale after grace period', startReplicas: 10, scaleTo: 0, wantReplicas: 2, wantScaling: true, phase: 'inactive', since: now - gracePeriod, proxySince: now - gracePeriod, p: { minScale: 2 } },
  { label: 'ignore minScale if unreachable', startReplicas: 10, scaleTo: 0, wantReplicas: 0, wantScaling: true, phase: 'inactive', since: now - gracePeriod, proxySince: now - gracePeriod, reachable: false, p: { minScale: 2 } },
  // "observe minScale if reachability unknown": not applicable, tidegate always knows from its
  // config whether a traffic target routes to a revision (docs/autoscaler.md).
  { label: 'scales up', startReplicas: 1, scaleTo: 10, wantReplicas: 10, wantScaling: true },
  { label: 'scales up to maxScale', startReplicas: 1, scaleTo: 10, wantReplicas: 8, wantScaling: true, p: { maxScale: 8 } },
  { label: 'scale up inactive revision', startReplicas: 1, scaleTo: 10, wantReplicas: 10, wantScaling: true, phase: 'inactive', since: now - gracePeriod / 2, proxySince: now - gracePeriod / 2 },
  { label: 'does not scale up from zero with no metrics', startReplicas: 0, scaleTo: null, wantReplicas: -1, wantScaling: false, phase: 'inactive', since: now, readyPods: 0, wantPhase: 'inactive' },
  { label: 'scales up from zero to desired one', startReplicas: 0, scaleTo: 1, wantReplicas: 1, wantScaling: true, readyPods: 0, wantPhase: 'activating' },
  { label: 'scales up from zero to desired high scale', startReplicas: 0, scaleTo: 10, wantReplicas: 10, wantScaling: true, readyPods: 0 },
  { label: 'negative scale does not scale', startReplicas: 12, scaleTo: null, wantReplicas: -1, wantScaling: false, phase: 'active', since: now },
  { label: 'initial scale attained, but now time to scale down', startReplicas: 2, scaleTo: 0, wantReplicas: 1, wantScaling: true, phase: 'active', since: now - 2 * 60 * S, initialReached: true, p: { initialScale: 2 } },
  { label: "haven't scaled to initial scale, override desired scale with initial scale", startReplicas: 0, scaleTo: 1, wantReplicas: 2, wantScaling: true, phase: 'activating', since: now, readyPods: 0, p: { initialScale: 2 } },
  // The 5 pods are ready on this tick; Knative marks the target initialized only after this scale, so the next tick may go to 1.
  { label: 'initial scale reached for the first time', startReplicas: 5, scaleTo: 1, wantReplicas: 5, wantScaling: false, phase: 'activating', since: now, readyPods: 5, p: { initialScale: 5 }, wantPhase: 'active' },
  { label: 'reaching initial scale zero', startReplicas: 0, scaleTo: 0, wantReplicas: 0, wantScaling: false, phase: 'inactive', since: now, readyPods: 0, p: { initialScale: 0 }, wantPhase: 'inactive' },
];

function run(c: Case) {
  const state: BoundsState = {
    phase: c.phase ?? 'activating',
    since: c.since ?? now,
    proxySince: c.proxySince === undefined ? null : c.proxySince,
    initialReached: c.initialReached ?? false,
    actuated: c.startReplicas,
  };
  return applyBounds({ ...P, ...c.p }, state, { now, recommendation: c.scaleTo, readyPods: c.readyPods ?? c.startReplicas, reachable: c.reachable ?? true });
}

describe('TestScaler', () => {
  it.each(cases.map((c) => [c.label, c] as const))('%s', (_label, c) => {
    const r = run(c);
    expect(r.desired).toBe(c.wantScaling ? c.wantReplicas : c.startReplicas);
    if (c.wantPhase) expect(r.state.phase).toBe(c.wantPhase);
  });

  it('initial scale reached for the first time: the tick after, the decider\'s 1 applies', () => {
    const first = run(cases.find((c) => c.label === 'initial scale reached for the first time') as Case);
    const next = applyBounds({ ...P, initialScale: 5 }, first.state, { now: now + 2 * S, recommendation: 1, readyPods: 5, reachable: true });
    expect(next.desired).toBe(1);
  });
});

describe('TestDisableScaleToZero', () => {
  const cs = [
    { label: 'EnableScaleToZero == false and minScale == 0', startReplicas: 10, scaleTo: 0, minScale: 0, want: 1 },
    { label: 'EnableScaleToZero == false and minScale == 2', startReplicas: 10, scaleTo: 0, minScale: 2, want: 2 },
    { label: 'EnableScaleToZero == false and desire pod is -1(initial value)', startReplicas: 10, scaleTo: null, minScale: 0, want: 10 },
  ];
  it.each(cs.map((c) => [c.label, c] as const))('%s', (_label, c) => {
    const state: BoundsState = { phase: 'active', since: now, proxySince: null, initialReached: true, actuated: c.startReplicas };
    const r = applyBounds({ ...P, enableScaleToZero: false, minScale: c.minScale }, state, { now, recommendation: c.scaleTo, readyPods: c.startReplicas, reachable: true });
    expect(r.desired).toBe(c.want);
  });
});

describe("computeActiveCondition (kpa.go's table: want, ready against the active threshold, status → new status)", () => {
  // want: 0 → the decider asks for 0 from an inactive revision (Knative's want 0); > 0 → 3 pods; −1 → no metrics.
  const table: [number | null, 'below' | 'at', Phase, Phase][] = [
    [0, 'below', 'active', 'inactive'],
    [3, 'below', 'inactive', 'activating'],
    [3, 'at', 'activating', 'active'],
    [null, 'below', 'inactive', 'inactive'],
    [null, 'below', 'activating', 'activating'],
    [null, 'below', 'active', 'activating'],
    [null, 'at', 'inactive', 'inactive'],
    [null, 'at', 'activating', 'active'],
    [null, 'at', 'active', 'active'],
  ];
  it.each(table)('want %s, ready %s min, %s → %s', (want, ready, from, to) => {
    // The threshold is min-scale 2; a want of 0 on an active revision comes from a whole stable window of no demand.
    const state: BoundsState = { phase: from, since: now - stableWindow, proxySince: null, initialReached: true, actuated: 2 };
    const r = applyBounds({ ...P, minScale: 2 }, state, { now, recommendation: want, readyPods: ready === 'at' ? 2 : 1, reachable: want !== 0 });
    expect(r.state.phase).toBe(to);
    expect(r.state.since).toBe(to === from ? now - stableWindow : now);
  });
});
