/**
 * The local actuator's decisions, as pure functions of what it knows: which
 * pod a scale-down takes, and how long a crash-looping revision waits.
 */

/** A pod that never got ready and crashed makes the next start wait: 250 ms, doubling, up to 30 s. */
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 30_000;

/**
 * Delay before starting a replacement, given how many pods in a row crashed
 * before ever becoming ready. The first is replaced at once (a pod killed
 * under load must come back fast); a command that cannot start does not
 * spin the CPU.
 */
export function restartDelayMs(failStreak: number): number {
  if (failStreak <= 1) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failStreak - 2));
}

export interface VictimCandidate {
  readonly ready: boolean;
  /** No edge has a request in flight on it. */
  readonly idle: boolean;
}

/**
 * Index of the pod a scale-down stops: one not ready yet (it serves nothing),
 * else an idle one, else any; among equals the newest (last in the list),
 * which has the coldest caches. -1 for an empty list.
 */
export function pickVictim(pods: readonly VictimCandidate[]): number {
  const rank = (p: VictimCandidate) => (!p.ready ? 0 : p.idle ? 1 : 2);
  let best = pods.length - 1;
  for (let i = pods.length - 2; i >= 0; i--) if (rank(pods[i]!) < rank(pods[best]!)) best = i;
  return best;
}
