import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** The built CLI (`npm test` builds dist/ before running vitest). */
export const CLI = path.resolve('dist/cli.js');

export interface CliRun {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  out(): string;
  exit: Promise<number | null>;
}

/** Runs `tidegate ARGS…` as a real process, logging at info unless `env` says otherwise. */
export function runCli(args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exit };
}
