/** What the bench backend answers, shared by the backend and the correctness checks. */

/** Exactly 100 bytes, so "small GET" means the same thing as in ../shared/anchors. */
export const BODY = 'tidegate bench backend: a fixed response body for every GET request, exactly 100 bytes long .......\n';

/** `sleep=200` or `a=1&sleep=200` → 200 (capped at 10 min); anything else → 0. */
export function sleepMs(query) {
  const m = /(?:^|&)sleep=(\d+)/.exec(query ?? '');
  return m ? Math.min(Number(m[1]), 600_000) : 0;
}

/** What bench/cold-app.js answers. */
export const COLD_BODY = 'cold app says hello\n';
