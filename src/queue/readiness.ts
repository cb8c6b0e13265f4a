import type { Clock, Timer } from '../shared/clock.js';
import { probeOnce, type ProbeSpec } from '../shared/probe.js';

export interface ReadinessOptions {
  /** The app, "host:port". */
  readonly address: string;
  /** HTTP GET path that must answer 200–399; null = TCP connect. */
  readonly path: string | null;
  readonly clock: Clock;
  /** readinessProbe.periodSeconds in ms; 0 (default) = Knative's aggressive probe. */
  readonly periodMs?: number;
  /** readinessProbe.timeoutSeconds in ms, per try (default 1 s). */
  readonly timeoutMs?: number;
  /** Consecutive passes to become ready (default 1). */
  readonly successThreshold?: number;
  /** Consecutive failures, once ready, to leave rotation (default 3). */
  readonly failureThreshold?: number;
  /** Called on every change: ready (the first pass included) and not ready again. */
  readonly onChange?: (ready: boolean) => void;
  /** The check itself; tests inject one. */
  readonly probe?: (spec: ProbeSpec) => Promise<boolean>;
}

/** Knative's aggressive probe (readiness/probe.go): a try every 50 ms, 100 ms each, until ready. */
const AGGRESSIVE_RETRY_MS = 50;
const AGGRESSIVE_TRY_MS = 100;
/** With the aggressive probe, kubelet probes the queue-proxy every second once it is ready (revision/resources/queue.go). */
const AGGRESSIVE_READY_PERIOD_MS = 1000;

/**
 * Whether the app behind the queue-proxy can take requests, for the pod's
 * whole life, as Knative's queue-proxy and kubelet decide it together: a
 * try every periodSeconds (timeoutSeconds each), ready after
 * successThreshold passes in a row, out of rotation after failureThreshold
 * failures in a row, and back when it passes again. With periodSeconds 0
 * (Knative's default) it probes aggressively — every 50 ms, 100 ms a try —
 * while not ready, and every second once ready. Callers never start a
 * second try while one is running: they share it.
 */
export class AppReadiness {
  private isReady = false;
  private running: Promise<boolean> | null = null;
  private timer: Timer | null = null;
  private stopped = true;
  private passes = 0;
  private failures = 0;
  private waiters: (() => void)[] = [];
  private readonly clock: Clock;
  private readonly periodMs: number;
  private readonly successThreshold: number;
  private readonly failureThreshold: number;
  private readonly probe: (spec: ProbeSpec) => Promise<boolean>;
  private readonly aggressiveSpec: ProbeSpec;
  private readonly spec: ProbeSpec;

  constructor(private readonly opts: ReadinessOptions) {
    this.clock = opts.clock;
    this.periodMs = opts.periodMs ?? 0;
    this.successThreshold = opts.successThreshold ?? 1;
    this.failureThreshold = opts.failureThreshold ?? 3;
    this.probe = opts.probe ?? probeOnce;
    this.aggressiveSpec = { address: opts.address, path: opts.path, timeoutMs: AGGRESSIVE_TRY_MS };
    this.spec = { address: opts.address, path: opts.path, timeoutMs: opts.timeoutMs ?? 1000 };
  }

  get ready(): boolean {
    return this.isReady;
  }

  /** Starts the probing loop (until stop()). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** true when ready; otherwise the result of the try running now (started if none is). */
  check(): Promise<boolean> {
    if (this.isReady) return Promise.resolve(true);
    return this.tryOnce().then(() => this.isReady);
  }

  /** Resolves when the app is ready (at once if it is). */
  whenReady(): Promise<void> {
    if (this.isReady) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private get aggressive(): boolean {
    return this.periodMs === 0;
  }

  /** One try, shared by whoever asks while it runs; counts towards the thresholds. */
  private tryOnce(): Promise<boolean> {
    if (this.running !== null) return this.running;
    const spec = this.aggressive && !this.isReady ? this.aggressiveSpec : this.spec;
    const p = this.probe(spec).then(
      (ok) => this.counted(ok),
      () => this.counted(false),
    );
    this.running = p;
    return p;
  }

  private counted(ok: boolean): boolean {
    this.running = null;
    if (ok) {
      this.failures = 0;
      this.passes++;
      if (!this.isReady && this.passes >= this.successThreshold) this.setReady(true);
    } else {
      this.passes = 0;
      this.failures++;
      if (this.isReady && this.failures >= this.failureThreshold) this.setReady(false);
    }
    return ok;
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    void this.tryOnce().then(() => {
      if (this.stopped || this.timer !== null) return;
      const wait = !this.aggressive ? this.periodMs : this.isReady ? AGGRESSIVE_READY_PERIOD_MS : AGGRESSIVE_RETRY_MS;
      this.timer = this.clock.setTimeout(() => this.tick(), wait);
    });
  }

  private setReady(ready: boolean): void {
    this.isReady = ready;
    this.passes = this.failures = 0;
    this.opts.onChange?.(ready);
    if (ready) for (const w of this.waiters.splice(0)) w();
  }
}
