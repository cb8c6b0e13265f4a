import type { HttpRequest, HttpResponse } from '../shared/uws.js';
import { TidegateError } from '../shared/errors.js';
import { WaiterBase } from '../activator/waiter.js';
import { ProxyCall, type CallContext } from '../proxy/proxy-call.js';
import type { HeadLimits } from '../proxy/request-head.js';
import type { Dispatcher } from '../upstream/dispatcher.js';
import type { ClientUpgrade } from '../proxy/ws-relay.js';
import type { TraceState } from '../observe/spans.js';
import type { Protocol } from '../observe/access-log.js';
import type { RevisionRuntime, Slot } from './revision-runtime.js';
import type { PodHandle } from './pod-handle.js';
import type { Edge } from './edge.js';

/** A request waiting in a revision's buffer (the activator): only cold or saturated paths allocate one. */
class BufferedRequest extends WaiterBase<PodHandle> {
  constructor(
    readonly call: EdgeCall,
    avoid: Slot | null,
  ) {
    super(Math.max(0, call.head.contentLength), avoid);
  }

  grant(slot: Slot): void {
    this.call.released(this, slot);
  }

  reject(err: TidegateError): void {
    this.call.fail(err);
  }
}

/**
 * One request through the edge: a ProxyCall whose admission is its
 * revision's throttler (containerConcurrency per pod, and the activator
 * buffer when no pod has room), whose pods are the revision's, and whose
 * stats are the pod's (or the buffer's, for requests that waited there).
 */
export class EdgeCall extends ProxyCall<Slot> {
  /** The revision its host (and tag) routed to; set before admit(). */
  rev: RevisionRuntime | null = null;
  /** The pod of its latest try. */
  pod: PodHandle | null = null;
  trace: TraceState | null = null;
  /** What the client spoke (the access log's protocol; a WebSocket is logged as ws). */
  protocol: Protocol = 'http/1.1';
  /** Went through the activator buffer (counted there, and the pod is told). */
  viaActivator = false;
  /** How long it waited in the buffer (ms), -1: it did not. */
  waitedMs = -1;
  private waiter: BufferedRequest | null = null;
  /** Admitted by the main process (another loop of `serve --workers N`) while the revision had a free pod: not a cold start. */
  private admittedWarm = false;

  constructor(
    private readonly edge: Edge,
    res: HttpResponse,
    req: HttpRequest,
    limits: HeadLimits,
    ctx: CallContext,
    now: number,
    upgrade: ClientUpgrade | null,
  ) {
    super(res, req, limits, ctx, now, edge.tracer !== null, upgrade);
  }

  protected acquire(avoid: Slot | null): Slot | null {
    const rev = this.rev!;
    // Another loop of `serve --workers N` admits a limited revision's requests through the main process: always a wait.
    return rev.remote !== null ? null : rev.throttler.tryAcquire(avoid);
  }

  protected wait(avoid: Slot | null): TidegateError | null {
    const rev = this.rev!;
    if (rev.unreachable) {
      // Static pods come back on their own or not at all: waiting for an ejection to end only hangs the client.
      return new TidegateError('TG_ERR_UPSTREAM_REFUSED', `every pod of revision ${rev.name} refuses connections`);
    }
    const now = this.edge.clock.now();
    // A retry waits again: its first wait in the buffer has ended.
    if (this.viaActivator) rev.activatorStats.requestOut(now, false);
    this.viaActivator = false;
    if (rev.readyPods === 0 && rev.queued === 0) rev.coldSince = now;
    // Set before enqueue, which grants at once when a pod is free (a retry whose failed pod is the free one).
    const w = new BufferedRequest(this, avoid);
    this.waiter = w;
    const trace = this.trace;
    if (trace !== null) this.edge.tracer!.bufferStart(trace, now);
    const remote = rev.remote;
    if (remote !== null) {
      // The main process's buffer refuses it if full (BUFFER_FULL comes back).
      this.admittedWarm = rev.readyPods > 0 && rev.queued === 0;
      w.enqueuedAt = now;
      remote.enqueue(w);
    } else if (!rev.throttler.enqueue(w)) {
      this.waiter = null;
      if (trace !== null) trace.bufferStart = 0; // refused, never waited
      return new TidegateError('TG_ERR_BUFFER_FULL', `revision ${rev.name} has ${rev.throttler.queued} requests (${rev.throttler.queuedBytes} body bytes) buffered; try again`);
    }
    this.viaActivator = true;
    rev.activatorStats.requestIn(now, false);
    return null;
  }

  /** The buffer granted a pod slot. */
  released(w: BufferedRequest, slot: Slot): void {
    const rev = this.rev!;
    const now = this.edge.clock.now();
    this.waiter = null;
    if (rev.coldSince > 0) {
      // One sample per cold start: from the first buffered request to its release.
      this.edge.metrics.coldStart.labels(rev.name).observe((now - rev.coldSince) / 1000);
      rev.coldSince = 0;
    }
    if (!this.admittedWarm) {
      this.setResponseHeader('x-tidegate-cold-start', String(now - w.enqueuedAt));
      this.waitedMs = now - w.enqueuedAt;
    }
    if (this.trace !== null) this.edge.tracer!.bufferEnd(this.trace, now, rev.name, true);
    this.viaActivator = true;
    this.extraHeaders = rev.extraHeaders;
    this.granted(slot);
  }

  protected dispatcherFor(slot: Slot): Dispatcher {
    const pod = slot.pod;
    this.pod = pod;
    // The first try of a request that did not wait goes out in its arrival's turn.
    if (!this.viaActivator) pod.stats.requestIn(this.attempts === 1 ? this.startedAt : this.edge.clock.now(), false);
    return pod.pool;
  }

  protected releaseSlot(slot: Slot): void {
    const rev = this.rev!;
    const throttler = rev.throttler;
    if (slot.refusals !== 0 && this.responseStarted) throttler.answered(slot);
    if (!this.viaActivator) this.pod!.stats.requestOut(this.edge.clock.now(), false);
    throttler.release(slot);
    rev.remote?.release(slot);
  }

  /**
   * A refused connection means nothing listens there: the pod is left out
   * for a while (before its slot is freed, so no waiter is granted to it),
   * once per failure however many of its connections were refused. The
   * request never reached an app, and for pods tidegate runs (which come
   * back, or are replaced) it is not counted as a try: it waits for a pod
   * that accepts, within the revision's timeout. Static pods nobody restarts
   * are not waited for.
   */
  protected podFailed(slot: Slot, err: TidegateError): boolean {
    const rev = this.rev!;
    if (err.code !== 'TG_ERR_UPSTREAM_REFUSED') return true;
    rev.remote?.eject(slot);
    if (rev.throttler.eject(slot)) {
      this.edge.metrics.ejections.labels(rev.name).inc();
      this.edge.log.warn({ revision: rev.name, pod: slot.id, address: slot.address }, 'pod refused a connection: left out for a while');
    }
    if (rev.unreachable && rev.throttler.queued > 0) {
      // Every pod of a static revision refuses: the requests waiting for one are answered now, not when an ejection ends.
      rev.throttler.rejectAll(new TidegateError('TG_ERR_UPSTREAM_REFUSED', `every pod of revision ${rev.name} refuses connections`));
    }
    return !rev.managed;
  }

  protected canWait(): boolean {
    return !this.rev!.unreachable;
  }

  protected retrying(failed: Slot, next: Slot | null, err: TidegateError): void {
    const rev = this.rev!;
    this.edge.metrics.retries.labels(rev.name).inc();
    // With no other pod free now, it waits in the buffer for one (or for the failed pod itself
    // when it is the revision's only one), as a request to a cold revision does.
    if (next !== null) this.edge.log.info({ revision: rev.name, pod: failed.id, retryPod: next.id, err: err.message }, 'retrying on another pod');
    else this.edge.log.info({ revision: rev.name, pod: failed.id, err: err.message }, 'retrying when a pod is free');
  }

  protected waitTimeout(): TidegateError {
    return new TidegateError('TG_ERR_ACTIVATOR_TIMEOUT', `no pod took the request within the revision's timeoutSeconds`);
  }

  protected override upgraded(): void {
    this.rev!.openWebSockets++;
  }

  protected override relayedBytes(toPod: boolean, bytes: number): void {
    this.rev!.relayed(this.edge.metrics, toPod, bytes);
  }

  protected ended(): void {
    if (this.webSocket) this.rev!.openWebSockets--;
    const w = this.waiter;
    if (w !== null) {
      // Ended while still buffered (client abort, timeout): leave the queue.
      this.waiter = null;
      const rev = this.rev!;
      if (rev.remote !== null) rev.remote.cancel(w);
      else rev.throttler.cancel(w);
    }
    this.edge.callEnded(this);
  }
}
