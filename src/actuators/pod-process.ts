import { spawn, type ChildProcess } from 'node:child_process';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { pipeLines } from './child-output.js';
import type { Reaper } from './reaper.js';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started (e.g. ENOENT). */
  readonly error?: string;
}

export interface PodProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly logger: Logger;
  /** Log fields of every output line, e.g. { pod, container: 'app' }. */
  readonly fields: Readonly<Record<string, string>>;
  readonly reaper: Reaper;
  /** The process wrote to stdout or stderr (a starting pod is probed at once: it may have said it listens). */
  readonly onOutput?: () => void;
}

/**
 * One child process in its own process group (detached), so a signal
 * reaches everything the command started (a shell wrapper's children
 * too). Its output goes to the logger, line by line; the reaper knows its
 * group for as long as it runs.
 */
export class PodProcess {
  readonly pid: number | undefined;
  /** Resolves once, when the process has exited (or failed to start). */
  readonly exited: Promise<ExitInfo>;
  private exit: ExitInfo | null = null;
  private readonly child: ChildProcess;

  constructor(private readonly opts: PodProcessOptions) {
    this.child = spawn(opts.command, [...opts.args], { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    if (this.pid !== undefined) opts.reaper.track(this.pid);
    if (this.child.stdout) pipeLines(this.child.stdout, opts.logger, { ...opts.fields, stream: 'stdout' }, opts.onOutput);
    if (this.child.stderr) pipeLines(this.child.stderr, opts.logger, { ...opts.fields, stream: 'stderr' }, opts.onOutput);
    this.exited = new Promise((resolve) => {
      const done = (info: ExitInfo) => {
        if (this.exit) return;
        this.exit = info;
        if (this.pid !== undefined) {
          // The leader is gone; anything it left in its group goes too.
          this.signal('SIGKILL');
          opts.reaper.untrack(this.pid);
        }
        resolve(info);
      };
      this.child.once('exit', (code, signal) => done({ code, signal }));
      this.child.once('error', (err) => {
        if (this.pid === undefined) done({ code: null, signal: null, error: err.message });
      });
    });
  }

  get running(): boolean {
    return this.exit === null && this.pid !== undefined;
  }

  /** Sends `sig` to the whole process group; a no-op once it is gone. */
  signal(sig: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      // ESRCH: already gone
    }
  }

  /** SIGTERM, then SIGKILL if still running after graceMs; resolves when exited. */
  async terminate(clock: Clock, graceMs: number): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    const timer = clock.setTimeout(() => {
      if (this.running) this.opts.logger.warn({ ...this.opts.fields, graceMs }, 'did not exit after SIGTERM; sending SIGKILL');
      this.signal('SIGKILL');
    }, graceMs);
    const info = await this.exited;
    clock.clearTimeout(timer);
    return info;
  }
}
