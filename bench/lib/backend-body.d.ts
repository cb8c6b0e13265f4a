/** Types for the tests (the bench itself is plain JS). */
export const BODY: string;
export const COLD_BODY: string;
export function sleepMs(query: string | undefined): number;
