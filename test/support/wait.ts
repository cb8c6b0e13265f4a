/** Polling for tests that wait on a condition instead of sleeping a fixed time. */

const POLL_MS = 20;
const pause = (): Promise<void> => new Promise((r) => setTimeout(r, POLL_MS));

/** Resolves once `check` holds (checked at least once, and once more at the deadline); rejects after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  await waitForValue(check, (held) => held, ms, what);
}

/** Calls `fn` until `ok` accepts its value and returns that value; rejects after `ms`, naming the last value. */
export async function waitForValue<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, ms: number, what: string): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (performance.now() > end) {
      const last = typeof v === 'boolean' ? '' : ` (last: ${JSON.stringify(v)})`;
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last}`);
    }
    await pause();
  }
}
