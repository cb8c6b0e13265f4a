/**
 * Knative's activator load-balancing policies (KNATIVE.md §3, lb_policy.go),
 * as pure functions over the active pods: each returns the index of a pod
 * with spare capacity, or -1. `exclude` (an index, -1 for none) is the pod a
 * retry must avoid. They allocate nothing: they run for every request.
 */

/** The two numbers a policy looks at. */
export interface LoadView {
  readonly inFlight: number;
  readonly capacity: number;
}

/** Mutable state a policy may keep between calls (owned by one throttler). */
export interface PolicyState {
  /** Round robin: where the next scan starts. */
  cursor: number;
  /** Uniform in [0, 1); injected so tests are deterministic. */
  readonly random: () => number;
}

export type LbPolicy = (pods: readonly LoadView[], exclude: number, state: PolicyState) => number;

/**
 * Power of two choices on in-flight requests: two distinct random pods, the
 * less loaded wins. Used when CC = 0 (capacity is infinite), where it spreads
 * load nearly as well as least-loaded without scanning every pod.
 */
export const powerOfTwoChoices: LbPolicy = (pods, exclude, state) => {
  const n = pods.length;
  const m = exclude >= 0 && exclude < n ? n - 1 : n; // candidates
  if (m <= 0) return -1;
  let a = Math.floor(state.random() * m);
  let b = m === 1 ? a : Math.floor(state.random() * (m - 1));
  if (m > 1 && b >= a) b++;
  // Map candidate numbers back to indices, skipping the excluded pod.
  if (m < n) {
    if (a >= exclude) a++;
    if (b >= exclude) b++;
  }
  const pa = pods[a]!;
  const pb = pods[b]!;
  const first = pb.inFlight < pa.inFlight ? b : a;
  const second = first === a ? b : a;
  if (pods[first]!.inFlight < pods[first]!.capacity) return first;
  if (pods[second]!.inFlight < pods[second]!.capacity) return second;
  // Only reachable with a finite capacity: fall back to any free pod.
  return firstFree(pods, exclude, state);
};

/**
 * The first pod (in address order) with spare capacity. Used for CC 1–3:
 * with so few slots per pod, packing requests onto the first pods leaves the
 * others idle for the autoscaler to see and reclaim.
 */
export const firstFree: LbPolicy = (pods, exclude) => {
  for (let i = 0; i < pods.length; i++) {
    if (i === exclude) continue;
    const p = pods[i]!;
    if (p.inFlight < p.capacity) return i;
  }
  return -1;
};

/** Round robin from the cursor, skipping full pods. Used for CC > 3. */
export const roundRobin: LbPolicy = (pods, exclude, state) => {
  const n = pods.length;
  if (n === 0) return -1;
  let i = state.cursor % n;
  for (let k = 0; k < n; k++) {
    const p = pods[i]!;
    if (i !== exclude && p.inFlight < p.capacity) {
      state.cursor = i + 1 === n ? 0 : i + 1;
      return i;
    }
    i = i + 1 === n ? 0 : i + 1;
  }
  return -1;
};

/** Knative's choice of policy by containerConcurrency. */
export function policyFor(containerConcurrency: number): LbPolicy {
  if (containerConcurrency <= 0) return powerOfTwoChoices;
  if (containerConcurrency <= 3) return firstFree;
  return roundRobin;
}
