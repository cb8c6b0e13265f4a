/** Types for the tests of workers-layout.js (the bench itself is plain JS). */
export function parseCpus(text: string): number[];
export function formatCpus(cpus: number[]): string;
export function workersLayout(opts: { pinned: boolean; loadCpus?: string; serverCpusAsked?: string; cpuCount: number }): {
  serverCpus: string | undefined;
  shared: boolean;
  serverCpuCount: number;
  text: string;
};
