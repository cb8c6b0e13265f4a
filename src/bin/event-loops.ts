/**
 * `serve`'s event loops as the rest of the composition root sees them: with
 * `--workers 1` (the default) a pass-through to the one Edge; with N, the
 * main process's Edge plus N − 1 child processes (worker-set.ts) on the same
 * data port. Everything that must add up across loops goes through here:
 * pods and config out; stats, counts, metrics and pokes in; and admission
 * for revisions with a containerConcurrency, which the main process's
 * throttlers decide for every loop (admission.ts), so a pod's limit holds
 * across them. Revisions without a limit never leave their loop.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from '../config/types.js';
import type { EdgeMetrics } from '../admin/metrics.js';
import type { WriteFn } from '../observe/line-writer.js';
import type { MetricSource } from '../admin/history-sampler.js';
import type { Edge } from '../router/edge.js';
import type { EdgeServer } from '../router/edge-server.js';
import { ensurePortFree, freePort } from '../shared/listen.js';
import type { Logger } from '../shared/log.js';
import type { PodRecord, PodStat, RevisionStatus } from '../store/store.js';
import { LoopAdmission } from './admission.js';
import type { WorkerInit } from './worker-protocol.js';
import { WorkerSet } from './worker-set.js';

/** What /metrics and the dashboard read: the process's figures, every loop's added up. */
export interface ProcessMetrics {
  metrics(): Promise<string>;
  readonly contentType: string;
  /** One metric for the dashboard's sampler (`own`: this loop's, when there is no other). */
  metric(name: string, own: MetricSource): MetricSource;
}

export class EventLoops {
  private readonly set: WorkerSet | null;
  private admission: LoopAdmission | null = null;
  /** Access-log lines from the other loops, written one chunk at a time. */
  private readonly logQueue: Buffer[] = [];
  private logWriting = false;

  constructor(
    readonly workers: number,
    logger: Logger,
    poke: (revision: string) => void,
    edgeMetrics: EdgeMetrics,
    /** Where the other loops' access-log lines go (the main process's own writer: stdout). */
    private readonly writeLines: WriteFn,
  ) {
    this.set =
      workers <= 1
        ? null
        : new WorkerSet({
            count: workers - 1,
            logger,
            onPoke: poke,
            onLog: (chunk) => this.writeLog(chunk),
            onAdmission: (loop, request, answer) => this.admission?.handle(loop, request, answer),
            onCrash: (loop, lost) => {
              this.admission?.forget(loop);
              edgeMetrics.workerRestarts.inc();
              edgeMetrics.lostRequests.inc(lost);
            },
          });
  }

  /**
   * Binds the data port: exclusively with one loop; with several, shared
   * (SO_REUSEPORT) by this process's loops, after checking that no other
   * process holds it (which SO_REUSEPORT alone would let through).
   */
  async listen(server: EdgeServer, host: string, port: number): Promise<number> {
    if (this.set === null) return server.listen(host, port);
    // Port 0 (tests): a port the kernel picked for a socket with SO_REUSEPORT cannot be joined by the
    // next one on Linux, so the loops agree on a free port first.
    const target = port === 0 ? await freePort(host) : port;
    await ensurePortFree(host, target, 'data port');
    return server.listen(host, target, true);
  }

  /** Starts the other loops on the bound port (resolves once each listens). */
  async start(init: Omit<WorkerInit, 'index' | 'edgeShare'>, edge: Edge): Promise<void> {
    if (this.set === null) return;
    this.admission = new LoopAdmission(edge);
    await this.set.start({ ...init, edgeShare: [0, 1] });
  }

  /** A revision's pods (ready or not) and status, to every loop. */
  pods(edge: Edge, revision: string, records: readonly PodRecord[], status: RevisionStatus | null): void {
    edge.updateRevision(revision, records, status);
    this.set?.podsOf({ type: 'pods', revision, pods: records, status });
  }

  config(edge: Edge, config: Config): void {
    edge.setConfig(config);
    this.set?.config(config);
  }

  edges(index: number, count: number): void {
    this.set?.edges(index, count);
  }

  /** This period's per-pod stats of every loop, one entry per pod as one loop would report it. */
  async collectStats(edge: Edge, edgeId: string): Promise<PodStat[]> {
    const own = edge.collectStats(edgeId);
    if (this.set === null) return own;
    return mergeStats([...own, ...(await this.set.collect(edgeId))]);
  }

  /** The other loops' buffered requests for a revision (as of their last report). */
  buffered(revision: string): number {
    let n = 0;
    for (const r of this.set?.reports ?? []) for (const [rev, k] of r.counts.buffered) if (rev === revision) n += k;
    return n;
  }

  /** The other loops' requests in flight at a pod (as of their last report). */
  inFlight(revision: string, pod: string): number {
    let n = 0;
    for (const r of this.set?.reports ?? []) for (const [rev, id, k] of r.counts.pods) if (rev === revision && id === pod) n += k;
    return n;
  }

  /** No other loop had a request in flight at the pod at its last report. */
  idle(pod: string): boolean {
    for (const r of this.set?.reports ?? []) for (const [, id] of r.counts.pods) if (id === pod) return false;
    return true;
  }

  metricsOf(registry: Registry): ProcessMetrics {
    const set = this.set;
    if (set === null) return { metrics: () => registry.metrics(), contentType: registry.contentType, metric: (_name, own) => own };
    const aggregated = async (): Promise<Registry> => {
      const all = [await registry.getMetricsAsJSON(), ...set.reports.map((r) => r.metrics)];
      return AggregatorRegistry.aggregate(all);
    };
    return {
      metrics: async () => (await aggregated()).metrics(),
      contentType: registry.contentType,
      metric: (name) => ({
        get: async () => {
          const m = (await aggregated()).getSingleMetric(name);
          return m === undefined ? { values: [] } : m.get();
        },
      }),
    };
  }

  /** SIGTERM to every other loop; resolves when each finished its requests (or `timeoutMs` passed) and exited. */
  drain(timeoutMs: number): Promise<void> {
    return this.set?.drain(timeoutMs) ?? Promise.resolve();
  }

  /** Loops serving the data port now, this process's own included. */
  get listening(): number {
    return 1 + (this.set?.listening ?? 0);
  }

  /** Ends loop `index` (1…N−1) abruptly, as a crash would: it is started again. For tests and drills. */
  crash(index: number): void {
    this.set?.crash(index);
  }

  terminate(): void {
    this.set?.terminate();
  }

  private writeLog(chunk: Buffer): void {
    this.logQueue.push(chunk);
    if (this.logWriting) return;
    this.logWriting = true;
    const next = (): void => {
      const c = this.logQueue.shift();
      if (c === undefined) {
        this.logWriting = false;
        return;
      }
      this.writeLines(c, () => next());
    };
    next();
  }
}

/** Adds up the loops' entries for one pod (concurrency and rates are additive across loops). */
export function mergeStats(stats: readonly PodStat[]): PodStat[] {
  const byPod = new Map<string, PodStat>();
  for (const s of stats) {
    const key = `${s.revision}\0${s.pod}`;
    const had = byPod.get(key);
    byPod.set(
      key,
      had === undefined
        ? s
        : {
            revision: s.revision,
            pod: s.pod,
            time: Math.max(had.time, s.time),
            concurrency: had.concurrency + s.concurrency,
            requests: had.requests + s.requests,
            proxiedConcurrency: had.proxiedConcurrency + s.proxiedConcurrency,
            proxiedRequests: had.proxiedRequests + s.proxiedRequests,
          },
    );
  }
  return [...byPod.values()];
}
