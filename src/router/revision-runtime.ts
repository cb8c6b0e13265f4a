import type { RevisionSpec, ActivatorSettings } from '../config/types.js';
import type { Clock } from '../shared/clock.js';
import type { PodRecord, PodStat } from '../store/store.js';
import { RevisionThrottler } from '../activator/throttler.js';
import { RemoteQueue, type RemoteAdmission } from './remote-admission.js';
import type { PodSlot } from '../activator/pod-slot.js';
import { RequestStats } from '../queue/request-stats.js';
import { PodHandle } from './pod-handle.js';
import type { EdgeMetrics } from '../admin/metrics.js';
import type { HotCounterChild, HotHistogramChild } from '../admin/hot-metrics.js';
import { PerStatus } from '../admin/per-status.js';
import { requestTimeouts, type RequestTimeouts } from '../proxy/timeouts.js';
import type { UpstreamRuntime } from '../upstream/runtime.js';

/** The revision's timeouts as its requests read them: one frozen object, shared by all of them. */
function timeoutsOf(spec: RevisionSpec): RequestTimeouts {
  return requestTimeouts(spec.timeoutSeconds, spec.responseStartTimeoutSeconds, spec.idleTimeoutSeconds);
}

interface WebSocketCounters {
  readonly toAppMessages: HotCounterChild;
  readonly toAppBytes: HotCounterChild;
  readonly toClientMessages: HotCounterChild;
  readonly toClientBytes: HotCounterChild;
}

/**
 * Everything the edge keeps per revision across config reloads: its ready
 * pods (with their pools and stats), the throttler that enforces
 * containerConcurrency and holds the activator buffer, and the stats of
 * requests that waited in that buffer.
 */
export class RevisionRuntime {
  spec: RevisionSpec;
  readonly throttler: RevisionThrottler<PodHandle>;
  private pods = new Map<string, PodHandle>();
  /** Requests that went through the activator buffer, counted from arrival to end. */
  readonly activatorStats = new RequestStats();
  /** The autoscaler's verdict: EBC < 0 or no ready pod (true until known). */
  activatorInPath = true;
  /** When the buffer last went from empty to non-empty while no pod was ready (cold start), else 0. */
  coldSince = 0;
  /** timeoutSeconds, responseStartTimeoutSeconds, idleTimeoutSeconds: each counted from the request's arrival. */
  timeouts: RequestTimeouts;
  readonly extraHeaders = 'k-proxy-request: activator\r\n';
  /** `--workers N`, outside the main process: where requests wait for the main process to admit them. */
  private readonly remoteQueue: RemoteQueue | null;
  /** WebSockets open to this revision's pods. */
  openWebSockets = 0;
  private byStatus: PerStatus<HotCounterChild> | null = null;
  private ws: WebSocketCounters | null = null;
  private duration: HotHistogramChild | null = null;

  constructor(
    spec: RevisionSpec,
    activator: ActivatorSettings,
    clock: Clock,
    private readonly upstream: UpstreamRuntime,
    onFirstQueued: () => void,
    random: () => number,
    remote: RemoteAdmission | null = null,
  ) {
    this.spec = spec;
    this.timeouts = timeoutsOf(spec);
    this.throttler = new RevisionThrottler<PodHandle>({
      containerConcurrency: spec.containerConcurrency,
      maxQueued: activator.maxBufferedRequests,
      maxQueuedBytes: activator.maxBufferedBytes,
      timeoutMs: activator.bufferTimeoutMs,
      clock,
      random,
      onFirstQueued,
    });
    this.remoteQueue = remote === null ? null : new RemoteQueue(remote, this);
  }

  /**
   * The main process admits this loop's requests (another loop of
   * `serve --workers N`, and the revision has a containerConcurrency), or null.
   */
  get remote(): RemoteQueue | null {
    return this.spec.containerConcurrency > 0 ? this.remoteQueue : null;
  }

  /** Requests of this revision waiting for a pod here: in the throttler's buffer, or for the main process. */
  get queued(): number {
    return this.throttler.queued + (this.remoteQueue?.size ?? 0);
  }

  get name(): string {
    return this.spec.name;
  }

  get service(): string {
    return this.spec.service;
  }

  /** Pods that tidegate starts (local processes, Kubernetes), as opposed to static endpoints nobody replaces. */
  get managed(): boolean {
    return this.spec.endpoints === null;
  }

  /** Static pods that all refuse connections: nobody restarts them, so nothing is worth waiting for. */
  get unreachable(): boolean {
    return !this.managed && this.throttler.allEjected;
  }

  reconfigure(spec: RevisionSpec, activator: ActivatorSettings): void {
    this.spec = spec;
    this.timeouts = timeoutsOf(spec);
    this.throttler.reconfigure({
      containerConcurrency: spec.containerConcurrency,
      maxQueued: activator.maxBufferedRequests,
      maxQueuedBytes: activator.maxBufferedBytes,
      timeoutMs: activator.bufferTimeoutMs,
    });
  }

  /** Replaces the ready set from the store view; pods that stay keep their pool and counters. */
  setPods(records: readonly PodRecord[]): void {
    const next = new Map<string, PodHandle>();
    for (const r of records) {
      if (!r.ready) continue;
      const old = this.pods.get(r.id);
      next.set(r.id, old && old.address === r.address && old.protocol === this.spec.protocol ? old : new PodHandle(r, this.upstream, this.spec.protocol));
    }
    for (const [id, old] of this.pods) if (next.get(id) !== old) old.pool.close();
    this.pods = next;
    this.throttler.setPods([...next.values()]);
  }

  get readyPods(): number {
    return this.pods.size;
  }

  podHandles(): IterableIterator<PodHandle> {
    return this.pods.values();
  }

  /** Per-pod stats for the pods whose stats the edge reports (no queue-proxy), plus the buffer's. */
  report(now: number, edgeId: string, out: PodStat[]): void {
    for (const pod of this.pods.values()) {
      const r = pod.stats.report(now);
      if (pod.queueProxy) continue;
      out.push({ revision: this.name, pod: pod.id, time: now, ...r });
    }
    const a = this.activatorStats.report(now);
    if (a.concurrency > 0 || a.requests > 0) out.push({ revision: this.name, pod: `activator:${edgeId}`, time: now, ...a });
  }

  /** Counts one answered request in the metrics. */
  observe(metrics: EdgeMetrics, status: number, seconds: number): void {
    (this.byStatus ??= new PerStatus((code) => metrics.requests.labels(this.service, this.name, code))).of(status).inc();
    (this.duration ??= metrics.duration.labels(this.service, this.name)).observe(seconds);
  }

  /** Counts a relayed WebSocket message (or piece): `toApp` from the client. */
  relayed(metrics: EdgeMetrics, toApp: boolean, bytes: number): void {
    const c = (this.ws ??= {
      toAppMessages: metrics.wsMessages.labels(this.name, 'to_app'),
      toAppBytes: metrics.wsBytes.labels(this.name, 'to_app'),
      toClientMessages: metrics.wsMessages.labels(this.name, 'to_client'),
      toClientBytes: metrics.wsBytes.labels(this.name, 'to_client'),
    });
    if (toApp) {
      c.toAppMessages.inc();
      c.toAppBytes.inc(bytes);
    } else {
      c.toClientMessages.inc();
      c.toClientBytes.inc(bytes);
    }
  }

  close(): void {
    for (const pod of this.pods.values()) pod.pool.close();
    this.pods.clear();
  }
}

export type Slot = PodSlot<PodHandle>;
