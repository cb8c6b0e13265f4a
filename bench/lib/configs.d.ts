/** Types for the tests of configs.js (the bench itself is plain JS). */
export const BENCH_HOST: string;
export function tidegateStaticConfig(endpoints: string[]): string;
export function tidegateColdConfig(opts: { appPath: string; readyFile: string; maxScale?: number }): string;
export function nginxConfig(opts: { port: number; backendPort: number; dir: string; connections?: number; workers?: number }): string;
export function tidegateWarmConfig(opts: { backendPath: string }): string;
