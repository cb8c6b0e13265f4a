/** Types for the tests of wrk.js (the bench itself is plain JS). */
export interface LoadResult {
  tool: 'wrk' | 'autocannon';
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  non2xx: number;
  seconds: number;
}
export function hasWrk(): boolean;
export function parseWrkOutput(stdout: string): LoadResult | null;
