import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../shared/log.js';
import { REAPER_SOURCE } from './reaper-source.js';

/**
 * Guarantees no pod outlives tidegate, even when tidegate is SIGKILLed and
 * runs no cleanup at all. One small process per actuator (not one per pod,
 * which would add a node boot to every cold start) watches a pipe from us
 * and kills the listed process groups when the pipe closes. See
 * reaper-source.ts for the protocol.
 */
export class Reaper {
  private child: ChildProcess | null = null;
  private readonly groups = new Set<number>();
  private closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly graceMs: number,
  ) {}

  /** The reaper process, for tests. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Starts the reaper process now, ahead of the first pod: otherwise the
   * first cold start pays a second fork (its event loop blocked until the
   * exec) and shares the CPU with a second node booting beside the app.
   */
  start(): void {
    if (!this.closed) this.child ??= this.spawn();
  }

  track(pgid: number): void {
    this.groups.add(pgid);
    this.send(`+${pgid}\n`);
  }

  untrack(pgid: number): void {
    if (!this.groups.delete(pgid)) return;
    this.send(`-${pgid}\n`);
  }

  /** Ends the pipe: the reaper kills whatever is still listed (normally nothing) and exits. */
  close(): void {
    this.closed = true;
    this.child?.stdin?.end();
    this.child = null;
  }

  private send(line: string): void {
    if (this.closed) return;
    const child = this.child ?? this.spawn();
    child.stdin?.write(line);
  }

  private spawn(): ChildProcess {
    const child = spawn(process.execPath, ['-e', REAPER_SOURCE, String(this.graceMs)], {
      detached: true, // own session: a signal to our process group must not reach it
      stdio: ['pipe', 'ignore', 'inherit'],
      env: reaperEnv(),
    });
    child.unref(); // it must never keep tidegate alive
    child.stdin?.on('error', () => undefined); // EPIPE if it died; the exit handler respawns it
    child.on('error', (err) => this.logger.error({ err: String(err) }, 'pod reaper failed to start'));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      if (this.closed) return;
      // Someone killed our guard: start another and tell it everything again.
      this.logger.warn({ code, signal }, 'pod reaper exited; restarting it');
      if (this.groups.size > 0) this.send([...this.groups].map((g) => `+${g}\n`).join(''));
    });
    this.child = child;
    return child;
  }
}

/**
 * tidegate's environment without what a bare node boot pays for and the
 * reaper has no use for: NODE_EXTRA_CA_CERTS is read and parsed at every
 * boot (tens of ms of CPU beside a booting app), and NODE_OPTIONS may
 * preload someone's code (an APM agent) into the one process that must
 * not fail.
 */
function reaperEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}
