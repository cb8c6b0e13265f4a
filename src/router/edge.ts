import type { Config, ServiceSpec, TrafficTarget } from '../config/types.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { TidegateError } from '../shared/errors.js';
import type { HttpRequest, HttpResponse } from '../shared/uws.js';
import type { PodStat, PodRecord, RevisionStatus } from '../store/store.js';
import type { EdgeMetrics } from '../admin/metrics.js';
import { Deadlines } from '../upstream/deadlines.js';
import { Exchange, type ExchangeOwner } from '../upstream/exchange.js';
import { writeError } from '../upstream/respond.js';
import { WaiterBase } from '../activator/waiter.js';
import { RouteTable, targetRevision, type EffectiveTarget } from './route-table.js';
import { RolloutDriver } from './rollout-driver.js';
import { RevisionRuntime, type Slot } from './revision-runtime.js';
import type { PodHandle } from './pod-handle.js';
import type { AccessLog } from '../observe/access-log.js';
import type { Tracer, TraceState } from '../observe/spans.js';
import { clientAddress } from '../upstream/request-head.js';

/** Tries for an idempotent request whose pod refused or reset it before answering (the first one included). */
const MAX_ATTEMPTS = 3;

export interface EdgeOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: EdgeMetrics;
  /** Tells the autoscaler a revision has demand now (fire and forget). */
  readonly poke: (revision: string) => void;
  readonly random?: () => number;
  /** `--access-log`: a line per finished request. */
  readonly accessLog?: AccessLog | null;
  /** `--otlp-endpoint`: spans, and the pod's traceparent. */
  readonly tracer?: Tracer | null;
}

/** A request waiting in a revision's buffer (the activator): only cold or saturated paths allocate one. */
class BufferedRequest extends WaiterBase<PodHandle> {
  constructor(
    readonly edge: Edge,
    readonly ex: Exchange,
    readonly rev: RevisionRuntime,
    avoid: Slot | null,
  ) {
    super(Math.max(0, ex.head.contentLength), avoid);
  }

  grant(slot: Slot): void {
    this.edge.released(this, slot);
  }

  reject(err: TidegateError): void {
    // The route stays: exchangeDone counts the request for its revision and takes it out of the buffer's stats.
    this.ex.fail(err);
  }
}

/**
 * The data-plane handler: Host → route → revision → pod, through the
 * revision's throttler (containerConcurrency per pod, and the activator
 * buffer when no pod has room), then the upstream exchange. It also owns
 * each exchange's ending: counters released, metrics, retries.
 */
export class Edge implements ExchangeOwner {
  private table: RouteTable<RevisionRuntime> | null = null;
  private revisions = new Map<string, RevisionRuntime>();
  private config: Config | null = null;
  /** Revisions that have had a ready pod: `latestRevision: true` follows the latest of them (Knative's latest Ready revision). */
  private readonly everReady = new Set<string>();
  private readonly routeState = {
    everReady: (name: string): boolean => this.everReady.has(name),
    rollout: (service: string, tag: string) => this.rollouts.shares(service, tag),
  };
  /** rollout-duration: the split of a rollout in progress, and the one timer that steps it (rebuilding the table). */
  private readonly rollouts: RolloutDriver;
  private readonly latest = (svc: ServiceSpec, t: TrafficTarget): string => targetRevision(svc, t, this.routeState);
  private readonly deadlines: Deadlines;
  private readonly random: () => number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: EdgeMetrics;
  private readonly accessLog: AccessLog | null;
  private readonly tracer: Tracer | null;
  private inFlight = 0;
  private edgeIndex = 0;
  private edgeCount = 1;
  private draining: (() => void) | null = null;
  /** Stop taking new requests (graceful shutdown). */
  closed = false;

  constructor(private opts: EdgeOptions) {
    this.clock = opts.clock;
    this.log = opts.logger;
    this.metrics = opts.metrics;
    this.random = opts.random ?? Math.random;
    this.accessLog = opts.accessLog ?? null;
    this.tracer = opts.tracer ?? null;
    this.deadlines = new Deadlines(opts.clock);
    this.rollouts = new RolloutDriver(opts.clock, () => {
      if (this.config !== null) this.rebuildTable(this.config);
    });
  }

  /** Swaps in a new config: one new route table, revision runtimes kept by name. */
  setConfig(config: Config): void {
    const next = new Map<string, RevisionRuntime>();
    for (const spec of config.revisions.values()) {
      let rt = this.revisions.get(spec.name);
      if (rt) rt.reconfigure(spec, config.activator);
      else {
        const name = spec.name;
        rt = new RevisionRuntime(spec, config.activator, this.clock, () => this.onFirstQueued(name), this.random);
        rt.throttler.setEdges(this.edgeIndex, this.edgeCount);
      }
      next.set(spec.name, rt);
    }
    this.rollouts.reconcile(config, this.latest);
    const table = new RouteTable(config, (spec) => next.get(spec.name)!, this.routeState);
    for (const [name, rt] of this.revisions) {
      if (next.has(name)) continue;
      rt.throttler.rejectAll(new TidegateError('TG_ERR_NO_ROUTE', `revision ${name} was removed from the config`));
      rt.close();
    }
    this.revisions = next;
    this.table = table;
    this.config = config;
  }

  /** This edge is number `index` of `count` sharing the pods (Knative's activator subsetting). */
  setEdges(index: number, count: number): void {
    this.edgeIndex = index;
    this.edgeCount = count;
    for (const rt of this.revisions.values()) rt.throttler.setEdges(index, count);
  }

  /** How many edges share the pods' capacity, as this edge last learned it. */
  get edges(): number {
    return this.edgeCount;
  }

  revision(name: string): RevisionRuntime | undefined {
    return this.revisions.get(name);
  }

  allRevisions(): IterableIterator<RevisionRuntime> {
    return this.revisions.values();
  }

  /** Pods (ready or not) and the autoscaler's status for one revision, from the store view. */
  updateRevision(name: string, pods: readonly PodRecord[], status: RevisionStatus | null): void {
    const rt = this.revisions.get(name);
    if (!rt) return;
    rt.setPods(pods);
    if (rt.readyPods > 0 && !this.everReady.has(name)) {
      // A revision became Ready for the first time: latestRevision targets may move to it.
      this.everReady.add(name);
      if (this.config !== null) this.rebuildTable(this.config);
    }
    rt.activatorInPath = rt.readyPods === 0 || (status?.activatorInPath ?? true);
  }

  /** A new table for the same config: a revision became Ready, or a rollout step is due. */
  private rebuildTable(config: Config): void {
    this.rollouts.reconcile(config, this.latest);
    this.table = new RouteTable(config, (spec) => this.revisions.get(spec.name)!, this.routeState);
  }

  /** What a service's hosts route now, a rollout's split included (/status). */
  effectiveTraffic(service: string): readonly EffectiveTarget[] | null {
    return this.table?.effectiveTraffic(service) ?? null;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** The uWS handler for every data-plane request. */
  handle = (res: HttpResponse, req: HttpRequest): void => {
    if (this.table === null || this.config === null) {
      writeError(res, new TidegateError('TG_ERR_SHUTTING_DOWN', 'no configuration loaded yet'));
      return;
    }
    let ex: Exchange;
    try {
      ex = new Exchange(res, req, this.config.limits, this, this.deadlines, this.clock.now(), this.tracer !== null);
    } catch (err) {
      const e = err instanceof TidegateError ? err : new TidegateError('TG_ERR_BAD_REQUEST', String(err));
      this.metrics.errors.labels(e.hop).inc();
      this.log.debug({ err: e.message, code: e.code }, 'request refused');
      if (this.accessLog !== null) this.logRefused(res, req, e);
      writeError(res, e);
      return;
    }
    if (this.tracer !== null) {
      const t = this.tracer.start(ex.head.traceparent, ex.head.tracestate);
      ex.trace = t;
      ex.head.headerBlock += t.headerLines();
    }
    this.inFlight++;
    if (this.closed) {
      ex.fail(new TidegateError('TG_ERR_SHUTTING_DOWN', 'tidegate is shutting down'));
      return;
    }
    const rev = this.table.lookup(ex.head.host, this.config.tagHeaderRouting ? ex.head.tag : '', this.random);
    if (rev === null) {
      ex.fail(new TidegateError('TG_ERR_NO_ROUTE', `no service for host ${JSON.stringify(ex.head.host)}`));
      return;
    }
    ex.route = rev;
    // Every timeout runs from arrival, so a wait in the buffer counts too (Knative's activator timeout handler).
    ex.arm(rev.timeouts);
    const slot = rev.throttler.tryAcquire();
    if (slot !== null) {
      this.dispatch(ex, rev, slot, false, ex.startedAt);
      return;
    }
    this.buffer(ex, rev);
  };

  /** Holds a request until a pod of `rev` is free (`avoid`: the pod a retry failed on, while there are others). */
  private buffer(ex: Exchange, rev: RevisionRuntime, avoid: Slot | null = null): void {
    if (rev.unreachable) {
      // Static pods come back on their own or not at all: waiting for an ejection to end only hangs the client.
      ex.fail(new TidegateError('TG_ERR_UPSTREAM_REFUSED', `every pod of revision ${rev.name} refuses connections`));
      return;
    }
    const w = new BufferedRequest(this, ex, rev, avoid);
    const now = this.clock.now();
    // Its timeouts run on (from arrival); timeoutSeconds passing here is the activator's (504 activator-timeout).
    ex.waiting = true;
    if (rev.readyPods === 0 && rev.throttler.queued === 0) rev.coldSince = now;
    // While buffered, `slot` is the buffer entry so an abort can cancel it. Set before enqueue:
    // when a pod is free (a retry whose failed pod is the free one) enqueue grants at once, and
    // the grant replaces it with the pod's slot.
    ex.slot = w;
    // The wait starts before enqueue too: a grant inside it ends the wait at once.
    const trace = ex.trace as TraceState | null;
    if (trace !== null) this.tracer!.bufferStart(trace, now);
    if (!rev.throttler.enqueue(w)) {
      ex.slot = null;
      if (trace !== null) trace.bufferStart = 0; // refused, never waited
      ex.fail(new TidegateError('TG_ERR_BUFFER_FULL', `revision ${rev.name} has ${rev.throttler.queued} requests (${rev.throttler.queuedBytes} body bytes) buffered; try again`));
      return;
    }
    ex.viaActivator = true;
    rev.activatorStats.requestIn(now, false);
  }

  /** A buffered request got a pod slot. */
  released(w: BufferedRequest, slot: Slot): void {
    const { ex, rev } = w;
    const now = this.clock.now();
    if (rev.coldSince > 0) {
      // One sample per cold start: from the first buffered request to its release.
      this.metrics.coldStart.labels(rev.name).observe((now - rev.coldSince) / 1000);
      rev.coldSince = 0;
    }
    ex.setResponseHeader('x-tidegate-cold-start', String(now - w.enqueuedAt));
    ex.waitedMs = now - w.enqueuedAt;
    if (ex.trace !== null) this.tracer!.bufferEnd(ex.trace as TraceState, now, rev.name, true);
    this.dispatch(ex, rev, slot, true);
  }

  /** `now`: the time when the caller has it at hand (the request's arrival, same turn). */
  private dispatch(ex: Exchange, rev: RevisionRuntime, slot: Slot, viaActivator: boolean, now = this.clock.now()): void {
    const pod = slot.pod;
    ex.slot = slot;
    ex.pod = pod;
    pod.inFlight++;
    if (!viaActivator) pod.stats.requestIn(now, false);
    ex.forward(pod.pool, viaActivator ? rev.extraHeaders : '');
  }

  // ---- ExchangeOwner ----

  exchangeDone(ex: Exchange): void {
    this.inFlight--;
    const rev = ex.route as RevisionRuntime | null;
    const now = this.clock.now();
    if (rev !== null) {
      const held = ex.slot;
      if (held instanceof BufferedRequest) {
        // Ended while still buffered (client abort, timeout): leave the queue.
        rev.throttler.cancel(held);
      } else if (held !== null) {
        const slot = held as Slot;
        if (slot.refusals !== 0 && ex.responseStarted) rev.throttler.answered(slot);
        this.releaseSlot(rev, slot, ex.pod as PodHandle, now, ex.viaActivator);
      }
      if (ex.viaActivator) rev.activatorStats.requestOut(now, false);
      rev.observe(this.metrics, ex.status, (now - ex.startedAt) / 1000);
    } else {
      this.metrics.requests.labels('', '', String(ex.status)).inc();
    }
    if (ex.error) {
      this.metrics.errors.labels(ex.error.hop).inc();
      if (ex.error.status >= 500) this.log.warn({ host: ex.head.host, url: ex.head.url, revision: rev?.name, hop: ex.error.hop, status: ex.error.status, err: ex.error.message }, 'request failed');
    }
    if (this.accessLog !== null) this.accessLog.exchange(ex, rev, ex.pod === null ? null : (ex.pod as PodHandle).id, now);
    if (ex.trace !== null) this.endSpan(ex, rev, now);
    ex.pod = ex.slot = null;
    if (this.inFlight === 0 && this.draining) this.draining();
  }

  upstreamFailed(ex: Exchange, err: TidegateError, retryable: boolean): void {
    const rev = ex.route as RevisionRuntime;
    const failed = ex.slot as Slot;
    const viaActivator = ex.viaActivator;
    // A refused connection means nothing listens there: the pod is left out for a while (before
    // its slot is freed, so no waiter is granted to it). The request never reached an app (so any
    // method may go again), and for pods tidegate runs (which come back, or are replaced) it is
    // not counted as a try: it waits for a pod that accepts, within the revision's timeout.
    // Static pods nobody restarts are not waited for.
    const refused = err.code === 'TG_ERR_UPSTREAM_REFUSED';
    // One failure of a pod is one ejection, however many of its connections were refused.
    if (refused && rev.throttler.eject(failed)) {
      this.metrics.ejections.labels(rev.name).inc();
      this.log.warn({ revision: rev.name, pod: failed.id, address: failed.address }, 'pod refused a connection: left out for a while');
    }
    this.releaseSlot(rev, failed, ex.pod as PodHandle, this.clock.now(), viaActivator);
    ex.pod = ex.slot = null;
    if (refused && rev.managed) ex.attempts--;
    if (refused && rev.unreachable) this.failEjected(rev);
    if (retryable && ex.attempts < MAX_ATTEMPTS) {
      const next = rev.throttler.tryAcquire(failed);
      if (next !== null) {
        this.metrics.retries.labels(rev.name).inc();
        ex.retries++;
        this.log.info({ revision: rev.name, pod: failed.id, retryPod: next.id, err: err.message }, 'retrying on another pod');
        this.dispatch(ex, rev, next, viaActivator);
        return;
      }
      if (rev.unreachable) {
        ex.fail(err);
        return;
      }
      this.metrics.retries.labels(rev.name).inc();
      ex.retries++;
      // No other pod can take it now: wait in the buffer for one (or for the failed pod itself
      // when it is the revision's only one), as a request to a cold revision does.
      this.log.info({ revision: rev.name, pod: failed.id, err: err.message }, 'retrying when a pod is free');
      if (viaActivator) rev.activatorStats.requestOut(this.clock.now(), false);
      ex.viaActivator = false;
      this.buffer(ex, rev, failed);
      return;
    }
    ex.fail(err);
  }

  /** A request refused while its head was read: logged from what uWS still has (same turn). */
  private logRefused(res: HttpResponse, req: HttpRequest, e: TidegateError): void {
    const query = req.getQuery();
    const url = query ? `${req.getUrl()}?${query}` : req.getUrl();
    this.accessLog!.refused(clientAddress(res), req.getCaseSensitiveMethod(), url, req.getHeader('host'), req.getHeader('traceparent'), e, this.clock.now());
  }

  private endSpan(ex: Exchange, rev: RevisionRuntime | null, now: number): void {
    this.tracer!.end(ex.trace as TraceState, {
      startMs: ex.startedAt,
      endMs: now,
      method: ex.head.method,
      host: ex.head.host,
      status: ex.status,
      service: rev === null ? null : rev.service,
      revision: rev === null ? null : rev.name,
      pod: ex.pod === null ? null : (ex.pod as PodHandle).id,
      errorHop: ex.upstreamError ?? (ex.error === null ? null : ex.error.hop),
    });
  }

  /** Every pod of a static revision refuses: the requests waiting for one are answered now, not when an ejection ends. */
  private failEjected(rev: RevisionRuntime): void {
    if (rev.throttler.queued === 0) return;
    rev.throttler.rejectAll(new TidegateError('TG_ERR_UPSTREAM_REFUSED', `every pod of revision ${rev.name} refuses connections`));
  }

  private releaseSlot(rev: RevisionRuntime, slot: Slot, pod: PodHandle, now: number, viaActivator: boolean): void {
    pod.inFlight--;
    if (!viaActivator) pod.stats.requestOut(now, false);
    rev.throttler.release(slot);
  }

  private onFirstQueued(revision: string): void {
    this.opts.poke(revision);
  }

  /** Appends this edge's per-pod and buffer stats for the last period. */
  collectStats(edgeId: string): PodStat[] {
    const now = this.clock.now();
    const out: PodStat[] = [];
    for (const rt of this.revisions.values()) rt.report(now, edgeId, out);
    return out;
  }

  /** Resolves when no request is in flight (or at once). */
  drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.draining = resolve;
    });
  }

  close(): void {
    this.closed = true;
    for (const rt of this.revisions.values()) rt.throttler.rejectAll(new TidegateError('TG_ERR_SHUTTING_DOWN', 'tidegate is shutting down'));
    this.deadlines.close();
    this.rollouts.close();
  }

  closePools(): void {
    for (const rt of this.revisions.values()) rt.close();
  }
}
