/**
 * The KPA decision for one tick (KNATIVE.md 1.4): a pure function of the
 * scaling parameters, the observed stable and panic values (revision
 * totals), the ready pods, the previous state and `now`.
 */
import type { ScalingParams } from './targets.js';

/** The scale-down delay keeps the max recommendation per 2 s slot (the tick interval). */
export const DELAY_GRANULARITY_MS = 2000;

export type DeciderParams = Pick<
  ScalingParams,
  'target' | 'total' | 'panicThreshold' | 'maxScaleUpRate' | 'maxScaleDownRate' | 'stableWindowMs' | 'activationScale' | 'scaleDownDelayMs' | 'targetBurstCapacity'
>;

export interface DeciderState {
  /** When the last over-threshold tick was (null: not in panic). */
  readonly panicTime: number | null;
  /** Panic never scales down: the most pods asked for since panic began. */
  readonly maxPanicPods: number;
  /** Recent recommendations for the scale-down delay: [2 s slot, max value]. */
  readonly delayed: readonly (readonly [number, number])[];
}

export interface DeciderInput {
  readonly now: number;
  /** Stable-window value; null = no data (the tick is invalid). */
  readonly stable: number | null;
  /** Panic-window value (no data in the panic window alone counts as 0). */
  readonly panic: number | null;
  /** Ready pods; null when the count could not be read (the tick is invalid). */
  readonly readyPods: number | null;
  /** Routed by some traffic target: only then may min-scale and the scale-down rate and delay apply. */
  readonly reachable: boolean;
}

export type Decision =
  | { readonly valid: false; readonly state: DeciderState }
  | {
      readonly valid: true;
      readonly desired: number;
      readonly mode: 'stable' | 'panic';
      readonly excessBurstCapacity: number;
      readonly state: DeciderState;
    };

/**
 * A decider that starts with more than one ready pod starts in panic, so an
 * autoscaler that lost its history (restart, new leader) keeps the current
 * scale until it has seen enough data.
 */
export function initialDeciderState(readyPods: number, now: number): DeciderState {
  return { panicTime: readyPods > 1 ? now : null, maxPanicPods: readyPods, delayed: [] };
}

/** EBC = floor(ready × total − TBC − panic); TBC 0 → 0 and −1 → −1 (activator always in the path). */
export function excessBurstCapacity(p: Pick<DeciderParams, 'targetBurstCapacity' | 'total'>, readyPods: number, panic: number): number {
  if (p.targetBurstCapacity === 0) return 0;
  if (p.targetBurstCapacity < 0) return -1;
  return Math.floor(readyPods * p.total - p.targetBurstCapacity - panic);
}

export function decide(p: DeciderParams, state: DeciderState, input: DeciderInput): Decision {
  const { now, stable, readyPods: actualReady } = input;
  if (stable === null || actualReady === null) return { valid: false, state };
  const panic = input.panic ?? 0;
  const ready = Math.max(1, actualReady); // with no pods, rates apply as if there were one
  const maxUp = Math.ceil(p.maxScaleUpRate * ready);
  const maxDown = input.reachable ? Math.floor(ready / p.maxScaleDownRate) : 0;

  const rawStable = Math.ceil(stable / p.target);
  const rawPanic = Math.ceil(panic / p.target);
  const clamp = (x: number) => Math.min(Math.max(x, maxDown), maxUp);
  let stablePods = clamp(rawStable);
  let panicPods = clamp(rawPanic);
  if (p.activationScale > 1) {
    if (rawStable > 0) stablePods = Math.max(stablePods, p.activationScale);
    if (rawPanic > 0) panicPods = Math.max(panicPods, p.activationScale);
  }

  // Panic compares a pod count with the ready pods, not the raw load.
  const hot = rawPanic / ready >= p.panicThreshold;
  let panicTime = state.panicTime;
  let maxPanicPods = state.maxPanicPods;
  if (hot) panicTime = now;
  else if (panicTime !== null && panicTime + p.stableWindowMs < now) {
    panicTime = null; // the surge has reached the stable window
    maxPanicPods = 0;
  }

  let desired = stablePods;
  if (panicTime !== null) {
    maxPanicPods = Math.max(maxPanicPods, stablePods, panicPods);
    desired = maxPanicPods;
  }

  let delayed = state.delayed;
  if (input.reachable && p.scaleDownDelayMs > 0) {
    [delayed, desired] = delay(delayed, now, desired, p.scaleDownDelayMs);
  }

  return {
    valid: true,
    desired,
    mode: panicTime === null ? 'stable' : 'panic',
    excessBurstCapacity: excessBurstCapacity(p, actualReady, panic),
    state: { panicTime, maxPanicPods, delayed },
  };
}

/** Records `value` and returns the max over the last `delayMs` (in 2 s slots). */
function delay(entries: DeciderState['delayed'], now: number, value: number, delayMs: number): [DeciderState['delayed'], number] {
  const slot = Math.floor(now / DELAY_GRANULARITY_MS);
  const oldest = slot - Math.ceil(delayMs / DELAY_GRANULARITY_MS); // exclusive
  const kept = entries.filter(([s]) => s > oldest && s !== slot);
  const same = entries.find(([s]) => s === slot);
  kept.push([slot, Math.max(value, same?.[1] ?? value)]);
  return [kept, Math.max(...kept.map(([, v]) => v))];
}
