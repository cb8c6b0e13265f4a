/**
 * From the decider's recommendation to the count the actuator is told
 * (KNATIVE.md 1.5; Knative's kpa/scaler.go `scale` and kpa.go
 * `computeActiveCondition`): min/max/initial scale, enable-scale-to-zero,
 * the scale-to-zero rules, and the PodAutoscaler's Active condition with
 * its three phases. Pure, with `now`.
 *
 * tidegate has no ServerlessService: "the activator is in the path" is the
 * `activatorInPath` flag the runner publishes in the revision status. A
 * revision goes to 0 only after that flag was published on an earlier tick
 * (`proxySince`), so edges route through their activator before the last
 * pod goes; that replaces Knative's activator probe.
 */
import type { ScalingParams } from './targets.js';

export type BoundsParams = Pick<
  ScalingParams,
  | 'minScale'
  | 'maxScale'
  | 'initialScale'
  | 'enableScaleToZero'
  | 'stableWindowMs'
  | 'scaleToZeroGracePeriodMs'
  | 'scaleToZeroPodRetentionPeriodMs'
  | 'progressDeadlineMs'
>;

/**
 * Knative's activationTimeoutBuffer: a revision still activating this long
 * after its progress deadline, with nothing asking for pods, goes to 0.
 */
export const ACTIVATION_TIMEOUT_BUFFER_MS = 30_000;

/**
 * Knative's PodAutoscaler "Active" condition: `activating` (Unknown: pods
 * asked for, fewer ready than needed), `active` (True), `inactive` (False:
 * on its way to, or at, zero).
 */
export type Phase = 'activating' | 'active' | 'inactive';

export interface BoundsState {
  readonly phase: Phase;
  /** When the phase began (the condition's last transition). */
  readonly since: number;
  /** Since when activatorInPath has been published true without a break (null: it is not). */
  readonly proxySince: number | null;
  /** Knative's ScaleTargetInitialized: the ready pods once reached the active threshold (initial scale). */
  readonly initialReached: boolean;
  /** The count the actuator was last told. */
  readonly actuated: number;
}

export interface BoundsInput {
  readonly now: number;
  /** The decider's count, or null for an invalid tick (no data: Knative's desired scale −1). */
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

/**
 * The state for a revision seen for the first time. It starts at its
 * initial scale whether or not traffic reaches it (Knative creates the
 * Deployment with initial-scale replicas, so a staged revision's pods are
 * started and checked), raised to min-scale when routed; and it starts
 * *activating*, as a new PodAutoscaler does.
 */
export function freshBoundsState(p: BoundsParams, now: number, reachable: boolean): BoundsState {
  const actuated = reachable ? Math.max(p.initialScale, p.minScale) : p.initialScale;
  return { phase: actuated > 0 ? 'activating' : 'inactive', since: now, proxySince: null, initialReached: false, actuated };
}

/**
 * The state for a revision another autoscaler already scaled (restart, new
 * leader): keep its count; the scale-to-zero clocks restart, which can only
 * delay a scale to zero, never hasten it.
 */
export function adoptedBoundsState(now: number, actuated: number): BoundsState {
  return { phase: actuated > 0 ? 'active' : 'inactive', since: now, proxySince: null, initialReached: true, actuated };
}

/** Knative's scaleUnknown: no count wanted this tick. */
const UNKNOWN = -1;

interface Wanted {
  /** Knative's `want`: the count asked for (−1: unknown), which drives the phase. */
  readonly want: number;
  /** Whether the actuator is told `want` (false: it keeps what it runs). */
  readonly apply: boolean;
}

export function applyBounds(p: BoundsParams, s: BoundsState, input: BoundsInput): BoundsResult {
  const { now, readyPods } = input;
  const { want, apply } = scale(p, s, input);
  const actuated = apply ? want : s.actuated;

  // computeActiveCondition: the threshold uses the initialized flag from before this tick, so initial
  // scale counts as reached one tick after the pods are ready, as Knative's reconciler sees it.
  const minReady = activeThreshold(p, s.initialReached, input.reachable);
  const initialReached = s.initialReached || readyPods >= minReady;
  let phase: Phase = s.phase;
  if (want === 0 || minReady === 0) phase = 'inactive';
  else if (readyPods < minReady) phase = want > 0 || s.phase !== 'inactive' ? 'activating' : 'inactive';
  else if (want > 0 || s.phase !== 'inactive') phase = 'active';
  const since = phase === s.phase ? s.since : now;
  const state: BoundsState = { phase, since, proxySince: s.proxySince, initialReached, actuated };
  return { desired: actuated, needsActivator: phase === 'inactive', state };
}

/** Ready pods needed to be active: min-scale (while routed), and initial scale until it was reached; at least 1 after that. */
function activeThreshold(p: BoundsParams, initialReached: boolean, reachable: boolean): number {
  const min = reachable ? p.minScale : 0;
  return initialReached ? Math.max(min, 1) : Math.max(min, p.initialScale);
}

/** Knative's scaler.scale + handleScaleToZero. */
function scale(p: BoundsParams, s: BoundsState, input: BoundsInput): Wanted {
  const { now, reachable } = input;
  let desired = input.recommendation ?? UNKNOWN;
  // No data: nothing to do, unless the revision is activating (then the bounds and the deadline still apply).
  if (desired < 0 && s.phase !== 'activating') return { want: UNKNOWN, apply: false };

  let min = reachable ? p.minScale : 0;
  // Until initial scale was reached once it is a minimum, for routed revisions only (Knative #16327).
  if (reachable && p.initialScale > 1 && !s.initialReached) min = Math.max(min, p.initialScale);
  if (desired < min) desired = min;
  else if (p.maxScale > 0 && desired > p.maxScale) desired = p.maxScale;
  if (desired !== 0) return { want: desired, apply: true };
  if (!p.enableScaleToZero) return { want: 1, apply: true };

  const inPhaseFor = now - s.since;
  switch (s.phase) {
    case 'activating':
      // Stuck activating past the progress deadline (+30 s): presume it cannot start, and let it go to 0.
      if (inPhaseFor > p.progressDeadlineMs + ACTIVATION_TIMEOUT_BUFFER_MS) return { want: 0, apply: true };
      return { want: UNKNOWN, apply: false };
    case 'active':
      // Active for a whole stable window: turn inactive (no replica change this tick); before that keep 1 pod.
      return inPhaseFor >= p.stableWindowMs ? { want: 0, apply: false } : { want: 1, apply: true };
    case 'inactive': {
      // The activator must already be in the path (published on an earlier tick).
      if (s.proxySince === null) return { want: 0, apply: false };
      const grace = p.scaleToZeroGracePeriodMs;
      // Knative keeps no last pod for a revision traffic no longer reaches (#15161).
      const retention = reachable ? p.scaleToZeroPodRetentionPeriodMs : 0;
      if (inPhaseFor >= Math.max(grace, retention)) return { want: 0, apply: true };
      if (retention > 0 && inPhaseFor < retention) return { want: 0, apply: false }; // the last pod is kept at least this long
      // Fast path: the activator has been in the path for the grace period already.
      return { want: 0, apply: now - s.proxySince >= grace };
    }
  }
}
