import { randomBytes } from 'node:crypto';
import { Counter, Registry } from 'prom-client';
import type { RevisionSpec } from '../config/types.js';
import type { Clock, Timer } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { Store } from '../store/store.js';
import type { Actuator } from './actuator.js';
import { freePorts } from './free-port.js';
import { LocalPod } from './local-pod.js';
import { Reaper } from './reaper.js';
import { pickVictim, restartDelayMs } from './scale-plan.js';
import { StatsScraper } from './stats-scraper.js';

export interface LocalActuatorOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** dist/cli.js: run as `node cliPath queue-proxy …` in front of pods of queueProxy revisions. */
  readonly cliPath: string;
  /** Working directory of every pod's command (default process.cwd()). */
  readonly cwd?: string;
  /** True when no edge has a request in flight on the pod (default: always idle). */
  readonly isIdle?: (podId: string) => boolean;
  /** SIGTERM → SIGKILL grace (default 10 s). */
  readonly stopGraceMs?: number;
  /**
   * Handed to queue-proxies so they register and report stats themselves.
   * Without it, this actuator scrapes their stats into `store` once a period.
   */
  readonly redisUrl?: string;
  /** How often queue-proxy stats are scraped without Redis (default 250 ms; see stats-scraper.ts). */
  readonly scrapeIntervalMs?: number;
  /** Where tidegate_pod_crashes_total is registered (default: a registry of its own). */
  readonly registry?: Registry;
  /** Address pods listen on (their HOST) and are reached at (default 127.0.0.1). */
  readonly host?: string;
}

interface RevisionPods {
  spec: RevisionSpec;
  desired: number;
  /** Pods that count towards the scale: starting or ready, not stopping. */
  pods: LocalPod[];
  crashes: number;
  /** Consecutive crashes of pods that never became ready (a crash loop). */
  failStreak: number;
  retry: Timer | null;
}

/**
 * The embedded default actuator: each pod is the revision's `command` as a
 * child process on a free port (see local-pod.ts). No process outlives
 * tidegate: every pod is its own process group, stopped on close(), and a
 * reaper process (reaper.ts) kills them if tidegate dies without cleaning up.
 */
export class LocalActuator implements Actuator {
  private readonly revisions = new Map<string, RevisionPods>();
  private readonly stopping = new Set<Promise<void>>();
  private readonly ports = new Set<number>();
  /** Every pod whose processes may still run (counted, or stopping). */
  private readonly live = new Set<LocalPod>();
  private readonly scraper: StatsScraper | null;
  private readonly reaper: Reaper;
  private readonly crashCounter: Counter<'revision'>;
  private readonly graceMs: number;
  private closed = false;

  constructor(private readonly o: LocalActuatorOptions) {
    this.graceMs = o.stopGraceMs ?? 10_000;
    this.reaper = new Reaper(o.logger, Math.min(this.graceMs, 5000));
    this.reaper.start();
    const registry = o.registry ?? new Registry();
    const existing = registry.getSingleMetric('tidegate_pod_crashes_total');
    this.crashCounter =
      (existing as Counter<'revision'> | undefined) ??
      new Counter({ name: 'tidegate_pod_crashes_total', help: 'Local pods whose process exited without being asked to', labelNames: ['revision'] as const, registers: [registry] });
    // With Redis the queue-proxies report themselves; without it their stats would go nowhere.
    this.scraper =
      o.redisUrl === undefined
        ? new StatsScraper({ store: o.store, clock: o.clock, logger: o.logger, targets: () => this.live, ...(o.scrapeIntervalMs !== undefined ? { intervalMs: o.scrapeIntervalMs } : {}) })
        : null;
  }

  async scale(spec: RevisionSpec, count: number): Promise<void> {
    if (this.closed) return;
    if (!spec.command) throw new Error(`revision ${spec.name} has no command: not a local revision`);
    const rev = this.revisionPods(spec);
    rev.spec = spec;
    rev.desired = Math.max(0, Math.floor(count));
    await this.reconcile(rev);
  }

  currentScale(revision: string): number {
    return this.revisions.get(revision)?.pods.length ?? 0;
  }

  /** Pods of `revision` whose process exited unexpectedly, since start. */
  crashes(revision: string): number {
    return this.revisions.get(revision)?.crashes ?? 0;
  }

  /** The pods counted by currentScale, for status pages and tests. */
  pods(revision: string): readonly { id: string; address: string; adminAddress: string | null; ready: boolean; pids: number[] }[] {
    return (this.revisions.get(revision)?.pods ?? []).map((p) => ({ id: p.id, address: p.address, adminAddress: p.adminAddress, ready: p.state === 'ready', pids: p.pids }));
  }

  /** The reaper process's pid once a pod has been started (tests check it goes too). */
  get reaperPid(): number | undefined {
    return this.reaper.pid;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const rev of this.revisions.values()) {
      if (rev.retry) this.o.clock.clearTimeout(rev.retry);
      rev.retry = null;
      // Edges are drained before the actuator closes: the idle wait is short.
      for (const pod of rev.pods.splice(0)) this.stopPod(pod, this.graceMs);
    }
    while (this.stopping.size > 0) await Promise.all([...this.stopping]);
    this.scraper?.stop();
    this.reaper.close();
  }

  private revisionPods(spec: RevisionSpec): RevisionPods {
    let rev = this.revisions.get(spec.name);
    if (!rev) this.revisions.set(spec.name, (rev = { spec, desired: 0, pods: [], crashes: 0, failStreak: 0, retry: null }));
    return rev;
  }

  private async reconcile(rev: RevisionPods): Promise<void> {
    const isIdle = this.o.isIdle ?? (() => true);
    while (rev.pods.length > rev.desired) {
      const i = pickVictim(rev.pods.map((p) => ({ ready: p.state === 'ready', idle: isIdle(p.id) })));
      const [victim] = rev.pods.splice(i, 1);
      this.stopPod(victim!, rev.spec.timeoutSeconds * 1000);
    }
    const missing = rev.desired - rev.pods.length;
    if (missing <= 0 || rev.retry || this.closed) return;
    const delay = restartDelayMs(rev.failStreak);
    if (delay > 0) {
      this.o.logger.warn({ revision: rev.spec.name, delayMs: delay, failStreak: rev.failStreak }, 'pods keep crashing before ready; backing off');
      rev.retry = this.o.clock.setTimeout(() => {
        rev.retry = null;
        this.reconcile(rev).catch((err: unknown) => this.o.logger.error({ err: String(err), revision: rev.spec.name }, 'pod start failed'));
      }, delay);
      return;
    }
    await Promise.all(Array.from({ length: missing }, () => this.startPod(rev)));
  }

  private async startPod(rev: RevisionPods): Promise<void> {
    const spec = rev.spec;
    const host = this.o.host ?? '127.0.0.1';
    // The app's port; with a queue-proxy also its port and its admin port, only ever read from here: loopback.
    const ports = await freePorts(spec.queueProxy ? [host, host, '127.0.0.1'] : [host], this.ports);
    for (const p of ports) this.ports.add(p);
    // Scaled down or closed while we looked for ports: nothing to start.
    if (this.closed || rev.pods.length >= rev.desired) {
      for (const p of ports) this.ports.delete(p);
      return;
    }
    const appPort = ports[0]!;
    const [queueProxyPort, adminPort] = spec.queueProxy ? [ports[1]!, ports[2]!] : [null, null];
    const pod = new LocalPod({
      id: this.podId(spec.name),
      revision: spec,
      appPort,
      queueProxyPort,
      adminPort,
      host,
      cwd: this.o.cwd ?? process.cwd(),
      cliPath: this.o.cliPath,
      redisUrl: this.o.redisUrl ?? null,
      store: this.o.store,
      clock: this.o.clock,
      logger: this.o.logger,
      reaper: this.reaper,
      isIdle: this.o.isIdle ?? (() => true),
      onReady: () => {
        rev.failStreak = 0;
      },
      onCrash: (p) => this.crashed(rev, p),
    });
    rev.pods.push(pod);
    this.live.add(pod);
    pod.start();
    if (pod.adminAddress !== null) this.scraper?.start();
  }

  private crashed(rev: RevisionPods, pod: LocalPod): void {
    rev.crashes++;
    this.crashCounter.labels(rev.spec.name).inc();
    if (!pod.everReady) rev.failStreak++;
    const i = rev.pods.indexOf(pod);
    if (i >= 0) rev.pods.splice(i, 1);
    this.stopPod(pod, 0);
    this.reconcile(rev).catch((err: unknown) => this.o.logger.error({ err: String(err), revision: rev.spec.name }, 'pod replacement failed'));
  }

  private podId(revision: string): string {
    for (;;) {
      const id = `${revision}-${randomBytes(3).toString('hex')}`;
      if (![...this.revisions.values()].some((r) => r.pods.some((p) => p.id === id))) return id;
    }
  }

  /** Stops a pod no longer counted; its ports are free again once it has exited. */
  private stopPod(pod: LocalPod, idleBoundMs: number): void {
    const done = pod
      .stop(idleBoundMs, this.graceMs)
      .then(() => {
        for (const port of pod.ports) this.ports.delete(port);
        this.live.delete(pod);
      })
      .catch((err: unknown) => this.o.logger.error({ err: String(err) }, 'pod stop failed')).finally(() => this.stopping.delete(done));
    this.stopping.add(done);
  }
}
