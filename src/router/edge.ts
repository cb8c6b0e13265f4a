import type { Config, ServiceSpec, TrafficTarget } from '../config/types.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { TidegateError } from '../shared/errors.js';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { HttpRequest, HttpResponse, us_socket_context_t } from '../shared/uws.js';
import type { PodStat, PodRecord, RevisionStatus } from '../store/store.js';
import type { EdgeMetrics } from '../admin/metrics.js';
import { Deadlines } from '../proxy/deadlines.js';
import type { CallContext } from '../proxy/proxy-call.js';
import { hopOf, statusOf } from '../proxy/http-errors.js';
import { RequestHeadReader } from '../proxy/request-head.js';
import { writeError, writeRedirect } from '../proxy/respond.js';
import { H2Request, H2Response } from '../proxy/h2-exchange.js';
import { EDGE_RETRY } from '../proxy/retry.js';
import { readClientUpgrade, type ClientUpgrade, type WsRelay } from '../proxy/ws-relay.js';
import type { UpstreamRuntime } from '../upstream/runtime.js';
import { RouteTable, targetRevision, type EffectiveTarget } from './route-table.js';
import { RolloutDriver } from './rollout-driver.js';
import { RevisionRuntime } from './revision-runtime.js';
import type { RemoteAdmission } from './remote-admission.js';
import { EdgeCall } from './edge-call.js';
import type { AccessLog, Protocol } from '../observe/access-log.js';
import type { Tracer } from '../observe/spans.js';

export interface EdgeOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: EdgeMetrics;
  /** The upstream client's clock, sweeper, write batch and buffers (one per process). */
  readonly upstream: UpstreamRuntime;
  /** Tells the autoscaler a revision has demand now (fire and forget). */
  readonly poke: (revision: string) => void;
  readonly random?: () => number;
  /** `--access-log`: a line per finished request. */
  readonly accessLog?: AccessLog | null;
  /** `--otlp-endpoint`: spans, and the pod's traceparent. */
  readonly tracer?: Tracer | null;
  /**
   * `--workers N`, in a loop other than the main process's: for revisions
   * with a containerConcurrency, the main process admits requests to pods.
   */
  readonly remote?: RemoteAdmission | null;
}

/**
 * The data-plane handler: Host → route → revision → pod, through the
 * revision's throttler (containerConcurrency per pod, and the activator
 * buffer when no pod has room), then the pod's dispatcher. Each request is
 * an EdgeCall (edge-call.ts); the edge counts how each one ended.
 */
export class Edge {
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
  private readonly calls: CallContext;
  /** The calls that came over TLS (X-Forwarded-Proto: https; the client named by the TLS front). */
  private readonly tlsCalls: CallContext;
  /** The calls of uWS's own TLS port (tls.http2: false): X-Forwarded-Proto: https, the peer's own address. */
  private readonly secureCalls: CallContext;
  /** HTTP/2 streams, cleartext and over TLS: the client's address as the stream gives it. */
  private readonly h2Calls: CallContext;
  private readonly h2TlsCalls: CallContext;
  private readonly random: () => number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: EdgeMetrics;
  readonly tracer: Tracer | null;
  private readonly accessLog: AccessLog | null;
  private readonly reader = new RequestHeadReader();
  private readonly tlsReader = new RequestHeadReader('https', 'proxied');
  private readonly secureReader = new RequestHeadReader('https', 'peer');
  /** `tls.redirect-http`: the TLS port cleartext requests are sent to with a 308 (0: they are served). */
  redirectHttpTo = 0;
  /** Open WebSockets: a shutdown closes them with 1001. */
  private readonly relays = new Set<WsRelay>();
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
    this.calls = { reader: this.reader, deadlines: this.deadlines, retry: EDGE_RETRY, buffers: opts.upstream.buffers, relays: this.relays };
    this.tlsCalls = { ...this.calls, reader: this.tlsReader };
    this.secureCalls = { ...this.calls, reader: this.secureReader };
    this.h2Calls = { ...this.calls, reader: new RequestHeadReader('http', 'text') };
    this.h2TlsCalls = { ...this.calls, reader: new RequestHeadReader('https', 'text') };
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
        rt = new RevisionRuntime(spec, config.activator, this.clock, this.opts.upstream, () => this.onFirstQueued(name), this.random, this.opts.remote ?? null);
        rt.throttler.setEdges(this.edgeIndex, this.edgeCount);
      }
      next.set(spec.name, rt);
    }
    this.rollouts.reconcile(config, this.latest);
    const table = new RouteTable(config, (spec) => next.get(spec.name)!, this.routeState);
    for (const [name, rt] of this.revisions) {
      if (next.has(name)) continue;
      const err = new TidegateError('TG_ERR_NO_ROUTE', `revision ${name} was removed from the config`);
      rt.throttler.rejectAll(err);
      rt.remote?.rejectAll(err);
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
    if (this.redirectHttpTo !== 0) writeRedirect(res, req, this.redirectHttpTo);
    else this.start(res, req, null, this.calls, 'http/1.1');
  };

  /** The uWS upgrade handler of the WebSocket route: routed like any request, relayed once the pod answers 101. */
  upgrade = (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    if (this.redirectHttpTo !== 0) writeRedirect(res, req, this.redirectHttpTo);
    else this.start(res, req, readClientUpgrade(req, context), this.calls, 'http/1.1');
  };

  /** The handlers of the HTTP/1.1 connections the TLS front hands over (tls-server.ts). */
  handleTls = (res: HttpResponse, req: HttpRequest): void => {
    this.start(res, req, null, this.tlsCalls, 'http/1.1');
  };

  upgradeTls = (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    this.start(res, req, readClientUpgrade(req, context), this.tlsCalls, 'http/1.1');
  };

  /** The handlers of uWS's own TLS port (uws-tls-server.ts): no front, so the address is the peer's own (a PROXY header is not read). */
  handleSecure = (res: HttpResponse, req: HttpRequest): void => {
    this.start(res, req, null, this.secureCalls, 'http/1.1');
  };

  upgradeSecure = (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    this.start(res, req, readClientUpgrade(req, context), this.secureCalls, 'http/1.1');
  };

  /**
   * An HTTP/2 stream (the h2c port, or TLS by ALPN): one request, through the
   * same reader, routes, throttler and ProxyCall as HTTP/1.1, over a
   * uWS-shaped adapter of the stream (h2-exchange.ts).
   */
  stream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, tls: boolean, remote: string): void {
    const res = new H2Response(stream, headers, remote) as unknown as HttpResponse;
    const req = new H2Request(headers, !stream.endAfterHeaders) as unknown as HttpRequest;
    this.start(res, req, null, tls ? this.h2TlsCalls : this.h2Calls, 'h2');
  }

  private start(res: HttpResponse, req: HttpRequest, upgrade: ClientUpgrade | null, calls: CallContext, protocol: Protocol): void {
    if (this.table === null || this.config === null) {
      writeError(res, new TidegateError('TG_ERR_SHUTTING_DOWN', 'no configuration loaded yet'));
      return;
    }
    let call: EdgeCall;
    try {
      call = new EdgeCall(this, res, req, this.config.limits, calls, this.clock.now(), upgrade);
    } catch (err) {
      const e = err instanceof TidegateError ? err : new TidegateError('TG_ERR_BAD_REQUEST', String(err));
      this.metrics.errors.labels(hopOf(e)).inc();
      this.log.debug({ err: e.message, code: e.code }, 'request refused');
      if (this.accessLog !== null) this.logRefused(res, req, e, calls, protocol);
      writeError(res, e);
      return;
    }
    call.protocol = protocol;
    if (this.tracer !== null) {
      const t = this.tracer.start(call.head.traceparent, call.head.tracestate);
      call.trace = t;
      call.head.headerBlock += t.headerLines();
    }
    this.inFlight++;
    if (this.closed) {
      call.fail(new TidegateError('TG_ERR_SHUTTING_DOWN', 'tidegate is shutting down'));
      return;
    }
    const rev = this.table.lookup(call.head.host, this.config.tagHeaderRouting ? call.head.tag : '', this.random);
    if (rev === null) {
      call.fail(new TidegateError('TG_ERR_NO_ROUTE', `no service for host ${JSON.stringify(call.head.host)}`));
      return;
    }
    call.rev = rev;
    // Every timeout runs from arrival, so a wait in the buffer counts too (Knative's activator timeout handler).
    call.arm(rev.timeouts);
    call.admit();
  }

  /** A call ended (answered, failed, or the client went away): its counts, log line and span. */
  callEnded(call: EdgeCall): void {
    this.inFlight--;
    const rev = call.rev;
    const now = this.clock.now();
    if (rev !== null) {
      if (call.viaActivator) rev.activatorStats.requestOut(now, false);
      rev.observe(this.metrics, call.status, (now - call.startedAt) / 1000);
    } else {
      this.metrics.requests.labels('', '', String(call.status)).inc();
    }
    const error = call.error;
    if (error !== null) {
      const hop = hopOf(error);
      const status = statusOf(error);
      this.metrics.errors.labels(hop).inc();
      if (status >= 500) this.log.warn({ host: call.head.host, url: call.head.url, revision: rev?.name, hop, status, err: error.message }, 'request failed');
    }
    const pod = call.pod === null ? null : call.pod.id;
    if (this.accessLog !== null) this.accessLog.exchange(call, rev, pod, now, call.webSocket ? 'ws' : call.protocol);
    if (call.trace !== null) this.endSpan(call, rev, pod, now);
    if (this.inFlight === 0 && this.draining) this.draining();
  }

  /** A request refused while its head was read: logged from what uWS still has (same turn). */
  private logRefused(res: HttpResponse, req: HttpRequest, e: TidegateError, calls: CallContext, protocol: Protocol): void {
    const query = req.getQuery();
    const url = query ? `${req.getUrl()}?${query}` : req.getUrl();
    this.accessLog!.refused(calls.reader.clientAddress(res), req.getCaseSensitiveMethod(), url, req.getHeader('host'), req.getHeader('traceparent'), e, this.clock.now(), protocol);
  }

  private endSpan(call: EdgeCall, rev: RevisionRuntime | null, pod: string | null, now: number): void {
    this.tracer!.end(call.trace!, {
      startMs: call.startedAt,
      endMs: now,
      method: call.head.method,
      host: call.head.host,
      status: call.status,
      service: rev === null ? null : rev.service,
      revision: rev === null ? null : rev.name,
      pod,
      errorHop: call.upstreamError ?? (call.error === null ? null : hopOf(call.error)),
    });
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

  /** Tells every open WebSocket the edge is going away (1001): each ends its call, so a drain does not wait on them. */
  closeWebSockets(): void {
    for (const relay of [...this.relays]) relay.goAway(1001, 'going away');
  }

  close(): void {
    this.closed = true;
    this.closeWebSockets();
    for (const rt of this.revisions.values()) {
      const err = new TidegateError('TG_ERR_SHUTTING_DOWN', 'tidegate is shutting down');
      rt.throttler.rejectAll(err);
      rt.remote?.rejectAll(err);
    }
    this.deadlines.close();
    this.rollouts.close();
  }

  closePools(): void {
    for (const rt of this.revisions.values()) rt.close();
  }
}
