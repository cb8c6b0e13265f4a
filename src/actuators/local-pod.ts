import type { RevisionSpec } from '../config/types.js';
import type { Clock, Timer } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { probeOnce, type ProbeSpec } from '../shared/probe.js';
import type { PodRecord, Store } from '../store/store.js';
import { PodProcess, type ExitInfo } from './pod-process.js';
import type { Reaper } from './reaper.js';
import { OUTPUT_TRY_GAP_MS, startupRetryMs } from './startup-probe.js';

const PROBE_TIMEOUT_MS = 1000;
export const HEARTBEAT_MS = 1000;
export const POD_TTL_MS = 5000;
const IDLE_POLL_MS = 50;
/** Only this process reads a local queue-proxy's admin port. */
const ADMIN_HOST = '127.0.0.1';
/** A store that does not answer must not hold a scale-down up. */
const STORE_BOUND_MS = 2000;

export interface LocalPodOptions {
  readonly id: string;
  readonly revision: RevisionSpec;
  readonly appPort: number;
  /** Set when a queue-proxy runs in front of the app. */
  readonly queueProxyPort: number | null;
  /** The queue-proxy's admin port (healthz, metrics, stats), on 127.0.0.1; set with queueProxyPort. */
  readonly adminPort: number | null;
  /** Where the app and the queue-proxy listen (HOST for the app), and are reached at. */
  readonly host: string;
  readonly cwd: string;
  readonly cliPath: string;
  readonly redisUrl: string | null;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly reaper: Reaper;
  readonly isIdle: (podId: string) => boolean;
  readonly onReady: (pod: LocalPod) => void;
  /** A process of the pod exited while nobody asked it to. */
  readonly onCrash: (pod: LocalPod, container: string, info: ExitInfo) => void;
}

export type PodState = 'starting' | 'ready' | 'stopping' | 'exited';

/**
 * One local pod: the revision's command on its own port and, with
 * queueProxy, a `tidegate queue-proxy` in front of it. Registered at once
 * (not ready), probed from the moment it is spawned until it passes (a few
 * ms apart, and at once when it writes output: see startup-probe.ts), then
 * registered ready; refreshed every second with a 5 s TTL so a pod of a
 * dead tidegate ages out.
 */
export class LocalPod {
  state: PodState = 'starting';
  readonly address: string;
  readonly startedAt: number;
  private app: PodProcess | null = null;
  private qp: PodProcess | null = null;
  private probeTimer: Timer | null = null;
  /** When the armed start-up try is due (epoch ms). */
  private probeDueAt = 0;
  /** A start-up try is running; `tryAgain`: the pod wrote output meanwhile, so a failure is retried at once. */
  private trying = false;
  private tryAgain = false;
  private lastTryAt = -Infinity;
  private startupFailures = 0;
  private heartbeat: Timer | null = null;
  private stopped: Promise<void> | null = null;
  private readyAt: number | null = null;
  /** Ready and passing its probes: false while a ready pod fails them (out of rotation, not stopped). */
  private serving = true;
  private passes = 0;
  private failures = 0;

  constructor(private readonly o: LocalPodOptions) {
    this.address = `${o.host}:${o.queueProxyPort ?? o.appPort}`;
    this.startedAt = o.clock.now();
  }

  get id(): string {
    return this.o.id;
  }

  /** The ports this pod listens on. */
  get ports(): number[] {
    return [this.o.appPort, this.o.queueProxyPort, this.o.adminPort].filter((p): p is number => p !== null);
  }

  /** The queue-proxy's admin endpoint, "127.0.0.1:port" (null without a queue-proxy). */
  get adminAddress(): string | null {
    return this.o.adminPort === null ? null : `${ADMIN_HOST}:${this.o.adminPort}`;
  }

  /** Process ids (app first), for status pages and tests. */
  get pids(): number[] {
    return [this.app?.pid, this.qp?.pid].filter((p): p is number => p !== undefined);
  }

  get everReady(): boolean {
    return this.readyAt !== null;
  }

  start(): void {
    const { revision: rev, id } = this.o;
    const [command, ...args] = rev.command ?? [];
    if (command === undefined) throw new Error(`revision ${rev.name} has no command`);
    const log = this.o.logger;
    this.app = this.spawn('app', command, args, {
      ...process.env,
      ...rev.env,
      // Knative sets PORT; HOST keeps apps that honour it off the other interfaces.
      PORT: String(this.o.appPort),
      HOST: this.o.host,
      K_REVISION: rev.name,
      K_SERVICE: rev.service,
      K_CONFIGURATION: rev.service,
    });
    if (this.o.queueProxyPort !== null) {
      const qpArgs = [
        this.o.cliPath, 'queue-proxy',
        '--revision', rev.name,
        '--upstream', `${this.o.host}:${this.o.appPort}`,
        '--port', String(this.o.queueProxyPort),
        // Given as flags, so whatever serve's own environment says for itself
        // (TIDEGATE_ADDRESS=0.0.0.0 in a container) never widens these binds.
        '--address', this.o.host,
        '--admin-port', String(this.o.adminPort ?? 0),
        '--admin-address', ADMIN_HOST,
        '--container-concurrency', String(rev.containerConcurrency),
        '--pod-id', id,
        '--timeout-seconds', String(rev.timeoutSeconds),
        '--advertise', this.address,
      ];
      if (rev.readinessPath !== null) qpArgs.push('--readiness-path', rev.readinessPath);
      const probe = rev.readinessProbe;
      qpArgs.push(
        '--response-start-timeout-seconds', String(rev.responseStartTimeoutSeconds),
        '--idle-timeout-seconds', String(rev.idleTimeoutSeconds),
        '--readiness-period-seconds', String(probe.periodSeconds),
        '--readiness-timeout-seconds', String(probe.timeoutSeconds),
        '--readiness-success-threshold', String(probe.successThreshold),
        '--readiness-failure-threshold', String(probe.failureThreshold),
        // This pod leaves the store before its SIGTERM, and the edges route by the store: no drain period.
        '--drain-seconds', '0',
      );
      if (this.o.redisUrl !== null) qpArgs.push('--redis', this.o.redisUrl);
      // The two the flags cannot switch off: an empty variable counts as unset.
      this.qp = this.spawn('queue-proxy', process.execPath, qpArgs, { ...process.env, REDIS_URL: '', READINESS_PATH: '' });
    }
    log.info({ pod: id, revision: rev.name, address: this.address, pids: this.pids }, 'pod started');
    this.register();
    this.heartbeat = this.o.clock.setInterval(() => this.register(), HEARTBEAT_MS);
    this.startupTry();
  }

  /**
   * Out of routing first (the store), then wait until the edges have no
   * request in flight on it (bounded by idleBoundMs), then SIGTERM and, after
   * graceMs, SIGKILL. A queue-proxy is told first: it drains its own queue.
   */
  stop(idleBoundMs: number, graceMs: number): Promise<void> {
    return (this.stopped ??= this.doStop(idleBoundMs, graceMs));
  }

  private async doStop(idleBoundMs: number, graceMs: number): Promise<void> {
    const wasReady = this.state === 'ready';
    if (this.state !== 'exited') this.state = 'stopping';
    this.clearTimers();
    await this.bounded(this.o.store.removePod(this.o.revision.name, this.o.id), STORE_BOUND_MS);
    const deadline = this.o.clock.now() + idleBoundMs;
    if (this.qp?.running) {
      this.qp.signal('SIGTERM');
      await this.bounded(this.qp.exited, idleBoundMs);
    }
    if (wasReady) await this.waitIdle(deadline);
    await Promise.all([this.app?.terminate(this.o.clock, graceMs), this.qp?.terminate(this.o.clock, graceMs)]);
    this.state = 'exited';
    this.o.logger.info({ pod: this.o.id, revision: this.o.revision.name }, 'pod stopped');
  }

  private spawn(container: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv): PodProcess {
    const p = new PodProcess({ command, args, env, cwd: this.o.cwd, logger: this.o.logger, fields: { pod: this.o.id, container }, reaper: this.o.reaper, onOutput: () => this.onOutput() });
    void p.exited.then((info) => this.exitedOnItsOwn(container, info));
    return p;
  }

  private exitedOnItsOwn(container: string, info: ExitInfo): void {
    if (this.state === 'stopping' || this.state === 'exited') return;
    this.state = 'exited';
    this.clearTimers();
    this.o.logger.warn({ pod: this.o.id, revision: this.o.revision.name, container, ...info }, 'pod process exited unexpectedly');
    // Out of routing at once; the rest of the pod (the other process) goes too.
    this.o.store.removePod(this.o.revision.name, this.o.id).catch(() => undefined);
    this.stopped = Promise.all([this.app?.terminate(this.o.clock, 1000), this.qp?.terminate(this.o.clock, 1000)]).then(() => undefined);
    this.o.onCrash(this, container, info);
  }

  private record(): PodRecord {
    const base = { id: this.o.id, revision: this.o.revision.name, address: this.address, ready: this.state === 'ready' && this.serving };
    return this.o.queueProxyPort !== null ? { ...base, queueProxy: true } : base;
  }

  private register(): void {
    if (this.state !== 'starting' && this.state !== 'ready') return;
    this.o.store.registerPod(this.record(), POD_TTL_MS).catch((err: unknown) => this.o.logger.debug({ err: String(err), pod: this.o.id }, 'pod registration failed'));
  }

  private probeSpec(): ProbeSpec {
    if (this.o.queueProxyPort !== null) {
      return { address: this.address, path: '/', headers: { 'K-Network-Probe': 'queue' }, expectBody: 'queue', timeoutMs: PROBE_TIMEOUT_MS };
    }
    return { address: this.address, path: this.o.revision.readinessPath, timeoutMs: PROBE_TIMEOUT_MS };
  }

  /** One start-up try; a failure arms the next (startupRetryMs), a pass makes the pod ready. */
  private startupTry(): void {
    if (this.state !== 'starting' || this.trying) return;
    this.trying = true;
    this.tryAgain = false;
    this.lastTryAt = this.o.clock.now();
    void probeOnce(this.probeSpec()).then((ok) => {
      this.trying = false;
      if (this.state !== 'starting') return;
      if (ok) {
        this.becomeReady();
        return;
      }
      this.startupFailures++;
      this.tryAt(this.tryAgain ? this.lastTryAt + OUTPUT_TRY_GAP_MS : this.o.clock.now() + startupRetryMs(this.startupFailures));
    });
  }

  /**
   * The pod wrote a line: many apps say so when they listen. A try now
   * (after the one running, if it fails) finds it without waiting for the
   * next one on the schedule.
   */
  private onOutput(): void {
    if (this.state !== 'starting') return;
    if (this.trying) this.tryAgain = true;
    else this.tryAt(this.lastTryAt + OUTPUT_TRY_GAP_MS);
  }

  /** Arms the start-up try for `at` (epoch ms), unless one is armed sooner; at once when `at` has passed. */
  private tryAt(at: number): void {
    if (this.probeTimer !== null) {
      if (this.probeDueAt <= at) return;
      this.o.clock.clearTimeout(this.probeTimer);
      this.probeTimer = null;
    }
    const wait = at - this.o.clock.now();
    if (wait <= 0) {
      this.startupTry();
      return;
    }
    this.probeDueAt = at;
    this.probeTimer = this.o.clock.setTimeout(() => {
      this.probeTimer = null;
      this.startupTry();
    }, wait);
  }

  private becomeReady(): void {
    this.state = 'ready';
    this.readyAt = this.o.clock.now();
    this.register();
    this.o.logger.info({ pod: this.o.id, revision: this.o.revision.name, startupMs: this.readyAt - this.startedAt, tries: this.startupFailures + 1 }, 'pod ready');
    this.o.onReady(this);
    this.probeTimer = this.o.clock.setTimeout(() => this.reprobe(), this.reprobeMs());
  }

  /** Once ready, every periodSeconds (1 s for Knative's aggressive default). A queue-proxy applies the thresholds itself. */
  private reprobeMs(): number {
    const period = this.o.revision.readinessProbe.periodSeconds;
    return this.o.queueProxyPort === null && period > 0 ? period * 1000 : 1000;
  }

  /**
   * Knative probes a pod for its whole life: a ready pod that fails its
   * probe failureThreshold times in a row leaves rotation (registered not
   * ready, still running), and comes back after successThreshold passes.
   */
  private reprobe(): void {
    this.probeTimer = null;
    if (this.state !== 'ready') return;
    const rp = this.o.revision.readinessProbe;
    const viaQueueProxy = this.o.queueProxyPort !== null;
    const spec = viaQueueProxy ? this.probeSpec() : { address: this.address, path: rp.path, timeoutMs: rp.timeoutSeconds * 1000 };
    void probeOnce(spec).then((ok) => {
      if (this.state !== 'ready') return;
      const [failureThreshold, successThreshold] = viaQueueProxy ? [1, 1] : [rp.failureThreshold, rp.successThreshold];
      if (ok) {
        this.failures = 0;
        if (++this.passes >= successThreshold && !this.serving) this.setServing(true);
      } else {
        this.passes = 0;
        if (++this.failures >= failureThreshold && this.serving) this.setServing(false);
      }
      this.probeTimer = this.o.clock.setTimeout(() => this.reprobe(), this.reprobeMs());
    });
  }

  private setServing(serving: boolean): void {
    this.serving = serving;
    const fields = { pod: this.o.id, revision: this.o.revision.name };
    if (serving) this.o.logger.info(fields, 'pod passes its readiness probe again: back in rotation');
    else this.o.logger.warn(fields, 'pod failed its readiness probe: out of rotation until it passes again');
    this.register();
  }

  private async waitIdle(deadline: number): Promise<void> {
    while (!this.o.isIdle(this.o.id) && this.o.clock.now() < deadline) {
      await new Promise<void>((r) => this.o.clock.setTimeout(r, IDLE_POLL_MS));
    }
  }

  private async bounded(p: Promise<unknown>, ms: number): Promise<void> {
    let timer: Timer | null = null;
    await Promise.race([p.catch(() => undefined), new Promise<void>((r) => (timer = this.o.clock.setTimeout(r, ms)))]);
    if (timer) this.o.clock.clearTimeout(timer);
  }

  private clearTimers(): void {
    if (this.probeTimer) this.o.clock.clearTimeout(this.probeTimer);
    if (this.heartbeat) this.o.clock.clearInterval(this.heartbeat);
    this.probeTimer = this.heartbeat = null;
  }
}
