/**
 * One revision's autoscaling step: decider, then bounds and scale to zero,
 * then whether the activator must be in the path. Pure; the runner and
 * `tidegate simulate` both drive exactly this function.
 */
import type { RevisionStatus } from '../store/store.js';
import { applyBounds, adoptedBoundsState, freshBoundsState, type BoundsState } from './bounds.js';
import { decide, excessBurstCapacity, initialDeciderState, type DeciderState } from './decider.js';
import type { ScalingParams } from './targets.js';

export interface KpaState {
  readonly decider: DeciderState;
  readonly bounds: BoundsState;
}

export interface KpaInput {
  readonly now: number;
  /** Stable and panic window values; stable null = no data (no change this tick). */
  readonly stable: number | null;
  readonly panic: number | null;
  readonly readyPods: number;
  readonly reachable: boolean;
  /** Stats were missing lately (gap.ts): the count may go up but not below what runs. */
  readonly hold?: boolean;
}

export interface KpaResult {
  /** False when there was no data: nothing changed. */
  readonly valid: boolean;
  /** What the actuator must be told. */
  readonly desired: number;
  readonly mode: 'stable' | 'panic';
  readonly excessBurstCapacity: number;
  readonly activatorInPath: boolean;
  readonly state: KpaState;
}

/**
 * A revision's first state: adopt what a previous autoscaler decided, or
 * what the actuator already runs (the larger), else start at initial scale.
 * A store that came back empty must not make running pods look new.
 */
export function initialKpaState(
  p: ScalingParams,
  input: { now: number; readyPods: number; reachable: boolean; previous: RevisionStatus | null; running?: number },
): KpaState {
  const { now, previous } = input;
  const running = input.running ?? 0;
  const adopted = Math.max(previous?.desiredPods ?? -1, running > 0 ? running : -1);
  return {
    decider: initialDeciderState(input.readyPods, now),
    bounds: adopted >= 0 ? adoptedBoundsState(now, adopted) : freshBoundsState(p, now, input.reachable),
  };
}

export function kpaStep(p: ScalingParams, state: KpaState, input: KpaInput): KpaResult {
  const { now, readyPods } = input;
  const decision = decide(p, state.decider, input);
  let recommendation = decision.valid ? decision.desired : null;
  if (input.hold === true && recommendation !== null) recommendation = Math.max(recommendation, state.bounds.actuated);
  const bounds = applyBounds(p, state.bounds, {
    now,
    recommendation,
    readyPods,
    reachable: input.reachable,
  });
  const ebc = decision.valid ? decision.excessBurstCapacity : excessBurstCapacity(p, readyPods, input.panic ?? 0);
  // Knative's SKS rule: Proxy unless pods are wanted and the burst fits; with TBC −1 always Proxy.
  const activatorInPath = readyPods === 0 || bounds.desired === 0 || bounds.needsActivator || ebc < 0 || p.targetBurstCapacity === -1;
  const proxySince = activatorInPath ? (state.bounds.proxySince ?? now) : null;
  const mode = decision.valid ? decision.mode : state.decider.panicTime === null ? 'stable' : 'panic';
  return {
    valid: decision.valid,
    desired: bounds.desired,
    mode,
    excessBurstCapacity: ebc,
    activatorInPath,
    state: { decider: decision.state, bounds: { ...bounds.state, proxySince } },
  };
}
