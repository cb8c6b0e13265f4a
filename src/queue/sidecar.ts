import { realClock, type Clock, type Timer } from '../shared/clock.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { TidegateError } from '../shared/errors.js';
import { listenOn, uws, type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket, type us_socket_context_t } from '../shared/uws.js';
import { DEFAULT_LIMITS } from '../config/defaults.js';
import { Deadlines } from '../proxy/deadlines.js';
import type { CallContext } from '../proxy/proxy-call.js';
import { hopOf, statusOf } from '../proxy/http-errors.js';
import { RequestHeadReader, type HeadLimits } from '../proxy/request-head.js';
import { writeError, writeText } from '../proxy/respond.js';
import { QUEUE_PROXY_RETRY } from '../proxy/retry.js';
import { readClientUpgrade, relayBehavior, type ClientUpgrade, type WsRelay } from '../proxy/ws-relay.js';
import { requestTimeouts, type RequestTimeouts } from '../proxy/timeouts.js';
import { UpstreamPool } from '../upstream/pool.js';
import { UpstreamRuntime } from '../upstream/runtime.js';
import { PerStatus } from '../admin/per-status.js';
import { adminApp } from './admin.js';
import { createBreaker, type Breaker } from './breaker.js';
import { Drain, type DrainOutcome } from './drain.js';
import { QueueMetrics } from './metrics.js';
import { SidecarCall, type AppSlot } from './sidecar-call.js';
import { AppReadiness } from './readiness.js';
import { Registration, type PodRegistry } from './registration.js';
import { RequestStats, type RequestStatsReport } from './request-stats.js';
import { StatLog } from './stat-log.js';

export interface QueueProxyOptions {
  readonly revision: string;
  /** The app, "host:port". */
  readonly upstream: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Listen address (default 0.0.0.0). */
  readonly host?: string;
  /** The queue-proxy's own endpoints (healthz, readyz, metrics, stats); 0 picks a free port (tests). */
  readonly adminPort: number;
  /** Admin listen address (default 127.0.0.1: not reachable from outside the pod). */
  readonly adminHost?: string;
  /** 0 = no limit (no breaker). */
  readonly containerConcurrency: number;
  /** HTTP readiness path of the app; null = TCP connect. */
  readonly readinessPath: string | null;
  /** Whole-request deadline (queue included) → 504; also bounds the drain. */
  readonly timeoutSeconds: number;
  /** Arrival → first response byte → 504 (0 or unset = none). */
  readonly responseStartTimeoutSeconds?: number;
  /** Longest gap with no byte either way (0 or unset = none): 504, or the connection closed once the response began. */
  readonly idleTimeoutSeconds?: number;
  /** The app's readinessProbe timing (Knative's fields; unset = Knative's default probe). */
  readonly readiness?: Partial<ReadinessTiming>;
  /** After SIGTERM, serve on until this long passes with no new request (Knative's queue-proxy: 15 s); default 0. */
  readonly drainSeconds?: number;
  readonly podId: string;
  /** "host:port" the edges reach this queue-proxy at (default 127.0.0.1:<port>). */
  readonly advertise?: string;
  /** Where to register and report stats; null = stats only in the metrics. */
  readonly store: PodRegistry | null;
  readonly clock?: Clock;
  /** The upstream client's sweeper, write batch and buffers (the bin makes one per process; default: one of its own). */
  readonly runtime?: UpstreamRuntime;
  readonly logger?: Logger;
  readonly limits?: HeadLimits;
  /** Stats period and registration heartbeat (Knative: 1 s). */
  readonly periodMs?: number;
  /** Registration TTL: a queue-proxy that stops heartbeating disappears after this. */
  readonly ttlMs?: number;
  /** Collect Node's default process metrics (off in tests that run many). */
  readonly processMetrics?: boolean;
}

export interface ReadinessTiming {
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

/** A call to /wait-for-drain with no drain begun waits this long for the SIGTERM that usually comes with it. */
const DRAIN_SIGNAL_WAIT_MS = 1000;

export interface QueueProxyHandle {
  readonly port: number;
  readonly adminPort: number;
  readonly podId: string;
  readonly advertise: string;
  readonly metrics: QueueMetrics;
  /** The app passed its probe and no drain has begun. */
  ready(): boolean;
  /** Requests in flight plus queued. */
  active(): number;
  /** SIGTERM behaviour: fail probes, finish the work in hand, stop; resolves with how the drain ended. */
  shutdown(): Promise<DrainOutcome>;
}

/**
 * The per-pod sidecar: a uWS server in front of one app. Handler order is
 * Knative's: probes first (never forwarded, never counted), then stats
 * (before the breaker, so queued requests count as concurrency), the
 * containerConcurrency breaker, the request deadline, and the app's
 * dispatcher (each request a SidecarCall). Every other path is the app's: the
 * queue-proxy's own endpoints are on its admin port (admin.ts), which no
 * edge routes to.
 */
export class QueueProxy {
  readonly stats: RequestStats;
  readonly metrics: QueueMetrics;
  readonly drain: Drain;
  readonly readiness: AppReadiness;
  readonly breaker: Breaker | null;
  readonly appSlot: AppSlot;
  readonly clock: Clock;
  /** A whole-request timeout is set (so a slot granted past it is not used). */
  readonly timesOut: boolean;
  private readonly pool: UpstreamPool;
  private readonly deadlines: Deadlines;
  private readonly calls: CallContext;
  private readonly log: Logger;
  private readonly limits: HeadLimits;
  private readonly timeoutMs: number;
  private readonly timeouts: RequestTimeouts;
  /** Open WebSockets through to the app: a shutdown closes them with 1001. */
  private readonly relays = new Set<WsRelay>();
  private inFlight = 0;
  private registration: Registration | null = null;
  private ticker: Timer | null = null;
  private listenSocket: us_listen_socket | null = null;
  private adminSocket: us_listen_socket | null = null;
  private readonly app: TemplatedApp;
  private readonly admin: TemplatedApp;
  private readonly statLog = new StatLog();
  private readonly byStatus: PerStatus<{ inc(): void }>;
  private readonly durationChild: { observe(v: number): void };
  private readonly queueDepthChild: { set(v: number): void };

  constructor(readonly opts: QueueProxyOptions) {
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger ?? silentLogger;
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.timeoutMs = opts.timeoutSeconds * 1000;
    this.timesOut = this.timeoutMs > 0;
    this.timeouts = requestTimeouts(opts.timeoutSeconds, opts.responseStartTimeoutSeconds ?? 0, opts.idleTimeoutSeconds ?? 0);
    this.stats = new RequestStats(this.clock.now(), opts.periodMs ?? 1000);
    this.metrics = new QueueMetrics(opts.processMetrics ?? true);
    this.breaker = createBreaker(opts.containerConcurrency);
    const runtime = opts.runtime ?? new UpstreamRuntime({ clock: this.clock });
    this.pool = new UpstreamPool(opts.upstream, runtime);
    this.appSlot = Object.freeze({ app: this.pool });
    this.deadlines = new Deadlines(this.clock);
    this.calls = { reader: new RequestHeadReader(), deadlines: this.deadlines, retry: QUEUE_PROXY_RETRY, buffers: runtime.buffers, relays: this.relays };
    this.drain = new Drain(this.clock, () => this.inFlight);
    const r = opts.readiness ?? {};
    this.readiness = new AppReadiness({
      address: opts.upstream,
      path: opts.readinessPath,
      clock: this.clock,
      periodMs: (r.periodSeconds ?? 0) * 1000,
      timeoutMs: (r.timeoutSeconds ?? 1) * 1000,
      successThreshold: r.successThreshold ?? 1,
      failureThreshold: r.failureThreshold ?? 3,
      onChange: (ready) => this.onAppReadiness(ready),
    });
    this.durationChild = this.metrics.duration.labels(opts.revision);
    this.queueDepthChild = this.metrics.queueDepth.labels(opts.revision);
    this.byStatus = new PerStatus((status) => this.metrics.requests.labels(opts.revision, status));
    this.app = uws
      .App()
      .ws('/*', relayBehavior((res, req, context) => this.upgrade(res, req, context)))
      .any('/*', this.handle);
    this.admin = adminApp({
      readiness: () => (this.ready ? 'ready' : this.drain.draining ? 'shutting down' : 'not ready'),
      metrics: () => {
        this.refreshGauges();
        return this.metrics.registry.metrics();
      },
      metricsContentType: this.metrics.registry.contentType,
      stats: (after) => this.statLog.since(after),
      waitForDrain: () => this.waitForDrain(),
    });
  }

  async start(): Promise<{ port: number; adminPort: number; advertise: string }> {
    // Both ports first: a queue-proxy that cannot have both serves neither.
    const host = this.opts.host ?? '0.0.0.0';
    this.listenSocket = await listenOn(this.app, host, this.opts.port, 'queue-proxy data port');
    const port = uws.us_socket_local_port(this.listenSocket);
    const adminHost = this.opts.adminHost ?? '127.0.0.1';
    try {
      this.adminSocket = await listenOn(this.admin, adminHost, this.opts.adminPort, 'queue-proxy admin port, --admin-port');
    } catch (err) {
      uws.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
      throw err;
    }
    const adminPort = uws.us_socket_local_port(this.adminSocket);
    const advertise = this.opts.advertise ?? `127.0.0.1:${port}`;
    if (this.opts.store !== null) {
      this.registration = new Registration(this.opts.store, { id: this.opts.podId, revision: this.opts.revision, address: advertise }, this.log, this.opts.ttlMs ?? 3000);
      // Known at once (not ready), so an actuator waiting for this pod sees it.
      await this.registration.publish(false);
    }
    this.ticker = this.clock.setInterval(() => this.tick(), this.opts.periodMs ?? 1000);
    this.ticker.unref?.();
    this.readiness.start();
    this.log.info({ host, port, adminHost, adminPort, advertise, upstream: this.opts.upstream, revision: this.opts.revision, pod: this.opts.podId, containerConcurrency: this.opts.containerConcurrency }, 'queue-proxy listening');
    return { port, adminPort, advertise };
  }

  get ready(): boolean {
    return this.readiness.ready && !this.drain.draining;
  }

  get active(): number {
    return this.inFlight;
  }

  // ---- the handler chain ----

  private handle = (res: HttpResponse, req: HttpRequest): void => {
    this.serve(res, req, null);
  };

  /** A WebSocket upgrade: through the same chain (an open WebSocket is one request in flight, in the breaker too). */
  private upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    this.serve(res, req, readClientUpgrade(req, context));
  }

  private serve(res: HttpResponse, req: HttpRequest, upgrade: ClientUpgrade | null): void {
    // 1. Knative's probe (sent by edges and the local actuator; edges strip
    // client copies): answered here, never counted, never forwarded.
    if (req.getHeader('k-network-probe') === 'queue') {
      this.answerProbe(res);
      return;
    }
    const now = this.clock.now();
    let call: SidecarCall;
    try {
      call = new SidecarCall(this, res, req, this.limits, this.calls, now, upgrade);
    } catch (err) {
      const e = err instanceof TidegateError ? err : new TidegateError('TG_ERR_BAD_REQUEST', String(err));
      this.metrics.errors.labels(hopOf(e)).inc();
      this.byStatus.of(statusOf(e)).inc();
      writeError(res, e);
      return;
    }
    // 2. Stats, before the breaker: queued requests count as concurrency (as in Knative).
    this.inFlight++;
    this.stats.requestIn(now, call.proxied);
    // 3. The deadlines run from arrival, so time spent queued counts against them.
    call.arm(this.timeouts);
    if (this.drain.draining) this.drain.requestStarted();
    // 4. The breaker, then 5. the app.
    call.admit();
  }

  private answerProbe(res: HttpResponse): void {
    if (this.drain.draining) return writeText(res, 503, 'shutting down');
    if (this.readiness.ready) return writeText(res, 200, 'queue');
    // Not ready yet: answer with the probe running now (shared by every caller), ≤ 100 ms.
    let aborted = false;
    res.onAborted(() => (aborted = true));
    void this.readiness.check().then((ok) => {
      if (aborted) return;
      if (this.drain.draining) writeText(res, 503, 'shutting down');
      else writeText(res, ok ? 200 : 503, ok ? 'queue' : 'not ready');
    });
  }

  // ---- what SidecarCall reports ----

  queueDepthChanged(): void {
    if (this.breaker !== null) this.queueDepthChild.set(this.breaker.queued);
  }

  callEnded(call: SidecarCall): void {
    this.queueDepthChanged();
    const now = this.clock.now();
    this.inFlight--;
    this.stats.requestOut(now, call.proxied);
    this.byStatus.of(call.status).inc();
    this.durationChild.observe((now - call.startedAt) / 1000);
    const error = call.error;
    if (error !== null) {
      const hop = hopOf(error);
      const status = statusOf(error);
      this.metrics.errors.labels(hop).inc();
      if (status >= 500) this.log.warn({ url: call.head.url, hop, status, err: error.message }, 'request failed');
    }
    this.drain.requestEnded();
  }

  // ---- periodic work ----

  private tick(): void {
    const now = this.clock.now();
    const r = this.stats.report(now);
    this.setStatGauges(r);
    const stat = { revision: this.opts.revision, pod: this.opts.podId, time: now, ...r };
    this.statLog.push(stat);
    const reg = this.registration;
    if (reg === null) return;
    void reg.publish(this.ready);
    void reg.report(stat);
  }

  /** The app passed its probe (successThreshold in a row), or failed it failureThreshold times in a row. */
  private onAppReadiness(ready: boolean): void {
    if (ready) this.log.info({ upstream: this.opts.upstream }, 'app is ready');
    else this.log.warn({ upstream: this.opts.upstream }, 'app failed its readiness probe: out of rotation until it passes again');
    if (!this.drain.draining) void this.registration?.publish(ready, true);
  }

  /**
   * /wait-for-drain (the app's preStop hook): resolves once the drain has
   * finished. The hook and the SIGTERM to this container come together; a
   * call that no SIGTERM follows within a second (the app alone restarting,
   * as after a failed liveness probe) returns then, as Knative's resets.
   */
  private async waitForDrain(): Promise<void> {
    if (!this.drain.draining) {
      const until = this.clock.now() + DRAIN_SIGNAL_WAIT_MS;
      while (!this.drain.draining && this.clock.now() < until) await new Promise<void>((r) => this.clock.setTimeout(r, 20));
    }
    await this.drain.finished;
  }

  private setStatGauges(r: RequestStatsReport): void {
    const { revision, podId } = this.opts;
    this.metrics.concurrency.labels(revision, podId).set(r.concurrency);
    this.metrics.proxiedConcurrency.labels(revision, podId).set(r.proxiedConcurrency);
    this.metrics.requestRate.labels(revision, podId).set(r.requests);
  }

  private refreshGauges(): void {
    const { revision, podId } = this.opts;
    this.metrics.inFlight.labels(revision, podId).set(this.inFlight);
    this.metrics.ready.labels(revision, podId).set(this.ready ? 1 : 0);
    this.queueDepthChild.set(this.breaker?.queued ?? 0);
  }

  // ---- shutdown ----

  private shutdownPromise: Promise<DrainOutcome> | null = null;

  shutdown(): Promise<DrainOutcome> {
    return (this.shutdownPromise ??= this.doShutdown());
  }

  private async doShutdown(): Promise<DrainOutcome> {
    // Probes fail from this instant (drain.draining); requests are still served.
    const quietMs = (this.opts.drainSeconds ?? 0) * 1000;
    const drained = this.drain.begin(this.timeoutMs > 0 ? this.timeoutMs : 300_000, quietMs);
    this.log.info({ inFlight: this.inFlight, queued: this.breaker?.queued ?? 0, drainMs: quietMs }, 'draining: probes fail; serving on until the drain period passes with no new request, then finishing in-flight and queued requests');
    this.readiness.stop();
    // The pod is going away: its WebSockets cannot outlive it.
    for (const relay of [...this.relays]) relay.goAway(1001, 'going away');
    const unready = this.registration?.publish(false, true);
    const outcome = await drained;
    if (outcome === 'timeout') this.log.warn({ inFlight: this.inFlight }, 'drain timed out; closing with requests unfinished');
    if (this.listenSocket) uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    if (this.adminSocket) uws.us_listen_socket_close(this.adminSocket);
    this.adminSocket = null;
    if (this.ticker) this.clock.clearInterval(this.ticker);
    this.ticker = null;
    await unready;
    if (this.registration) {
      await this.registration.report({ revision: this.opts.revision, pod: this.opts.podId, time: this.clock.now(), ...this.stats.report(this.clock.now()) });
      await this.registration.remove();
    }
    this.deadlines.close();
    this.pool.close();
    this.log.info({ outcome }, 'queue-proxy stopped');
    return outcome;
  }
}

/** Starts a queue-proxy; it serves until shutdown() (the bin calls it on SIGTERM/SIGINT). */
export async function startQueueProxy(opts: QueueProxyOptions): Promise<QueueProxyHandle> {
  const qp = new QueueProxy(opts);
  const { port, adminPort, advertise } = await qp.start();
  return {
    port,
    adminPort,
    podId: opts.podId,
    advertise,
    metrics: qp.metrics,
    ready: () => qp.ready,
    active: () => qp.active,
    shutdown: () => qp.shutdown(),
  };
}
