/** Types for the tests of proc-stats.js (the bench itself is plain JS). */
export interface StatFields {
  ppid: number;
  sid: number;
  ticks: number;
  rssPages: number;
}
export function parseStat(text: string): StatFields;
export function treeOf(stats: Map<number, StatFields>, root: number): Set<number>;
export function measure(roots: number[]): { rssBytes: number; cpuSeconds: number; pids: number };
export class Sampler {
  constructor(roots: number[], everyMs?: number);
  stop(): { rssStartBytes: number; rssPeakBytes: number; rssEndBytes: number; cpuSeconds: number };
}
export function cpuTicks(cpus: string): { busy: number; total: number };
export class ForeignLoad {
  constructor(cpus: string, ownRoots: number[]);
  stop(): number;
}
