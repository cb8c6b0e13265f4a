/** Types for the tests of stats.js (the bench itself is plain JS). */
export function median(values: number[]): number;
export function percentile(values: number[], p: number): number;
