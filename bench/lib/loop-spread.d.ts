/** Types for the tests of loop-spread.js (the bench itself is plain JS). */
export function establishedInodes(tables: string[], port: number): Set<string>;
export function connectionsByPid(pids: number[], port: number): Map<number, number>;
export class LoopSpread {
  constructor(roots: number[], port: number, everyMs?: number);
  sample(): void;
  stop(): { pid: number; conns: number; cpuShare: number }[];
}
