import type { Clock, Timer } from '../shared/clock.js';
import { probeOnce, type ProbeSpec } from '../shared/probe.js';

export interface ReadinessOptions {
  /** The app, "host:port". */
  readonly address: string;
  /** HTTP GET path that must answer 2xx; null = TCP connect. */
  readonly path: string | null;
  readonly clock: Clock;
  /** Pause between tries while not ready (Knative's aggressive probe: 50 ms). */
  readonly periodMs?: number;
  /** Each try gives up after this long (Knative: 100 ms). */
  readonly tryTimeoutMs?: number;
  /** Called once, when the app first passes. */
  readonly onReady?: () => void;
  /** The check itself; tests inject one. */
  readonly probe?: (spec: ProbeSpec) => Promise<boolean>;
}

/**
 * Whether the app behind the queue-proxy can take requests. Like Knative's
 * default (periodSeconds 0) user probe, it probes aggressively — every
 * 50 ms, 100 ms per try — from start() until the app first passes. Callers
 * never start a second probe while one is running: they share it.
 *
 * Once ready it stays ready (no re-probing): an app that dies later shows
 * up as 502 upstream-refused answers, and whoever runs the pod (kubelet,
 * the local actuator) restarts or replaces it. This keeps the probe
 * answer a field read.
 */
export class AppReadiness {
  private isReady = false;
  private running: Promise<boolean> | null = null;
  private timer: Timer | null = null;
  private stopped = true;
  private waiters: (() => void)[] = [];
  private readonly spec: ProbeSpec;
  private readonly clock: Clock;
  private readonly periodMs: number;
  private readonly probe: (spec: ProbeSpec) => Promise<boolean>;

  constructor(private readonly opts: ReadinessOptions) {
    this.clock = opts.clock;
    this.periodMs = opts.periodMs ?? 50;
    this.probe = opts.probe ?? probeOnce;
    this.spec = { address: opts.address, path: opts.path, timeoutMs: opts.tryTimeoutMs ?? 100 };
  }

  get ready(): boolean {
    return this.isReady;
  }

  /** Starts the aggressive probing loop (until the first pass, or stop()). */
  start(): void {
    if (!this.stopped || this.isReady) return;
    this.stopped = false;
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** true when ready; otherwise the result of the probe running now (started if none is). */
  check(): Promise<boolean> {
    if (this.isReady) return Promise.resolve(true);
    if (this.running !== null) return this.running;
    const p = this.probe(this.spec).then(
      (ok) => {
        this.running = null;
        if (ok) this.markReady();
        return ok;
      },
      () => {
        this.running = null;
        return false;
      },
    );
    this.running = p;
    return p;
  }

  /** Resolves when the app first passes. */
  whenReady(): Promise<void> {
    if (this.isReady) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped || this.isReady) return;
    void this.check().then((ok) => {
      if (!ok && !this.stopped && this.timer === null) this.timer = this.clock.setTimeout(() => this.tick(), this.periodMs);
    });
  }

  private markReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.stop();
    this.opts.onReady?.();
    for (const w of this.waiters.splice(0)) w();
  }
}
