/** Types for the tests of check.js (the bench itself is plain JS). */
export const POST_BYTES: number;
export function checkTarget(target: { port: number; host?: string | undefined }, opts?: { sleepMs?: number }): Promise<string[]>;
