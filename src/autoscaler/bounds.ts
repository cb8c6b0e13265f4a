/**
 * From the decider's recommendation to the count the actuator is told
 * (KNATIVE.md 1.5): min/max/initial scale, enable-scale-to-zero, and the
 * scale-to-zero rules. Pure, with `now`.
 *
 * tidegate has no ServerlessService: "the activator is in the path" is the
 * `activatorInPath` flag the runner publishes in the revision status. A
 * revision goes to 0 only after that flag was published on an earlier tick
 * (`proxySince`), so edges route through their activator before the last
 * pod goes.
 */
import type { ScalingParams } from './targets.js';

export type BoundsParams = Pick<
  ScalingParams,
  'minScale' | 'maxScale' | 'initialScale' | 'enableScaleToZero' | 'stableWindowMs' | 'scaleToZeroGracePeriodMs' | 'scaleToZeroPodRetentionPeriodMs'
>;

export interface BoundsState {
  /** Knative's PodAutoscaler "Active" condition: inactive = about to go to zero. */
  readonly phase: 'active' | 'inactive';
  /** When the phase began. */
  readonly since: number;
  /** Since when activatorInPath has been published true without a break (null: it is not). */
  readonly proxySince: number | null;
  /** Initial scale was reached once; from then on it no longer raises the minimum. */
  readonly initialReached: boolean;
  /** The count the actuator was last told. */
  readonly actuated: number;
}

export interface BoundsInput {
  readonly now: number;
  /** The decider's count, or null for an invalid tick (no change). */
  readonly recommendation: number | null;
  readonly readyPods: number;
  readonly reachable: boolean;
}

export interface BoundsResult {
  /** What the actuator should be told (equal to state.actuated when nothing changes). */
  readonly desired: number;
  /** The revision is on its way to zero: the activator must be in its path. */
  readonly needsActivator: boolean;
  readonly state: BoundsState;
}

/** The state for a revision seen for the first time: it starts at its initial scale (0 if not routed). */
export function freshBoundsState(p: BoundsParams, now: number, reachable: boolean): BoundsState {
  const actuated = reachable ? Math.max(p.initialScale, p.minScale) : 0;
  return { phase: actuated > 0 ? 'active' : 'inactive', since: now, proxySince: null, initialReached: false, actuated };
}

/**
 * The state for a revision another autoscaler already scaled (restart, new
 * leader): keep its count; the scale-to-zero clocks restart, which can only
 * delay a scale to zero, never hasten it.
 */
export function adoptedBoundsState(now: number, actuated: number): BoundsState {
  return { phase: actuated > 0 ? 'active' : 'inactive', since: now, proxySince: null, initialReached: true, actuated };
}

export function applyBounds(p: BoundsParams, s: BoundsState, input: BoundsInput): BoundsResult {
  const { now, recommendation, reachable } = input;
  const initialReached = s.initialReached || input.readyPods >= Math.max(1, p.initialScale);
  const keep = (state: BoundsState): BoundsResult => ({ desired: state.actuated, needsActivator: state.phase === 'inactive', state });
  const to = (desired: number, state: BoundsState): BoundsResult => ({ desired, needsActivator: state.phase === 'inactive', state: { ...state, actuated: desired } });
  const base = { ...s, initialReached };
  if (recommendation === null) return keep(base);

  let min = reachable ? p.minScale : 0;
  if (reachable && p.initialScale > 1 && !initialReached) min = Math.max(min, p.initialScale);
  let want = Math.max(recommendation, min);
  if (p.maxScale > 0) want = Math.min(want, p.maxScale);

  const active: BoundsState = { ...base, phase: 'active', since: s.phase === 'active' ? s.since : now };
  if (want > 0) return to(want, active);
  if (!p.enableScaleToZero) return to(1, active);

  if (s.phase === 'active') {
    // A revision must have been active for a whole stable window before it may start going to zero.
    if (now - s.since < p.stableWindowMs) return to(1, active);
    return keep({ ...base, phase: 'inactive', since: now });
  }

  // Inactive: the activator must already be in the path (published on an earlier tick).
  if (s.proxySince === null) return keep(base);
  const inactiveFor = now - s.since;
  const grace = p.scaleToZeroGracePeriodMs;
  const retention = p.scaleToZeroPodRetentionPeriodMs;
  if (inactiveFor >= Math.max(grace, retention)) return to(0, base);
  if (retention > 0 && inactiveFor < retention) return keep(base); // the last pod is kept at least this long
  // Fast path: the activator has been in the path for the grace period already.
  if (now - s.proxySince >= grace) return to(0, base);
  return keep(base);
}
