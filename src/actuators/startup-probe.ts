/**
 * When a starting pod is probed next, as a pure function of how many tries
 * have failed. The first try goes when the process is spawned; a fast app
 * (a Go binary listens within milliseconds) is then found within a
 * millisecond or two, and a slow one (node, the JVM) is tried every few
 * milliseconds, not more often: on a machine where tidegate and the app
 * share a CPU, every try is CPU the booting app does not get.
 */

/** The longest wait between two tries of a starting pod (Knative's aggressive probe waits 50 ms). */
export const STARTUP_MAX_RETRY_MS = 3;
/** Output from the pod (an app printing "listening on …") asks for a try at once, but never closer than this to the last one. */
export const OUTPUT_TRY_GAP_MS = 1;

/** Milliseconds from the end of failed try number `failures` (1 = the first) to the next: 1, 1, 2, 2, 3, 3, 3, … */
export function startupRetryMs(failures: number): number {
  return Math.min(STARTUP_MAX_RETRY_MS, Math.max(1, Math.ceil(failures / 2)));
}
