import type { HttpRequest, HttpResponse } from '../shared/uws.js';
import { TidegateError } from '../shared/errors.js';
import type { LinkedList } from '../shared/linked-list.js';
import type { Deadlined, Deadlines } from './deadlines.js';
import { BodyMode } from '../upstream/response-head.js';
import type { DispatchController, DispatchHandler, Dispatcher, ResponseTrailers, Tunnel, TunnelHandler, UpstreamResponseHead } from '../upstream/dispatcher.js';
import { acceptFor, newWebSocketKey } from '../upstream/ws-frames.js';
import { WsRelay, type ClientUpgrade, type RelayData, type RelayOwner } from './ws-relay.js';
import { nameBytes } from '../upstream/hop-by-hop.js';
import { SLAB_SIZE, type UpstreamBuffers } from '../upstream/buffers.js';
import { type HeadLimits, type RequestHead, type RequestHeadReader } from './request-head.js';
import { Expiry, expiryAt, nextDeadline, NO_TIMEOUTS, type RequestTimeouts } from './timeouts.js';
import { mayRetry, type RetryPolicy } from './retry.js';
import { statusOf } from './http-errors.js';
import { writeError } from './respond.js';

const X_TIDEGATE_ERROR = nameBytes('x-tidegate-error');
const SEC_WEBSOCKET_ACCEPT = nameBytes('sec-websocket-accept');
const SEC_WEBSOCKET_PROTOCOL = nameBytes('sec-websocket-protocol');
const UPGRADE = nameBytes('upgrade');
/** Request-body bytes held in memory while no upstream is attached, before the client socket is paused. */
const MAX_HELD_BODY = 64 * 1024;

/** What every call of one owner (an edge, a queue-proxy) shares. */
/** A client response that can end with trailer fields (h2-exchange.ts's H2Response). */
interface TrailerSink {
  endTrailers(trailers: ResponseTrailers | null): void;
}

export interface CallContext {
  readonly reader: RequestHeadReader;
  readonly deadlines: Deadlines;
  readonly retry: RetryPolicy;
  /** The upstream runtime's buffers: a response chunk the client cannot take yet is parked in a slab. */
  readonly buffers: UpstreamBuffers;
  /** The owner's open WebSockets (a drain closes them with 1001). */
  readonly relays: Set<WsRelay>;
}

/**
 * One client request on a uWS connection, from its head to the last byte of
 * its response, and the policy around its dispatch, in this order:
 *
 *   admission  — a slot on a pod now (`acquire`), or a wait for one (`wait`: the activator buffer, the breaker queue)
 *   timeouts   — total, response-start and idle, each from arrival (timeouts.ts)
 *   dispatch   — the pod's Dispatcher; request body streamed, with backpressure both ways
 *   retry      — a failure before any response byte: the pod's fate (`podFailed`), then retry.ts decides
 *
 * The owner (the edge's EdgeCall, the queue-proxy's SidecarCall) extends it
 * with its own typed state and implements the hooks: which pods, which
 * stats, which errors. `S` is the owner's slot type (what admission hands
 * out). Every failure is answered with a status and X-Tidegate-Error.
 */
export abstract class ProxyCall<S> implements DispatchHandler, Deadlined, RelayOwner {
  readonly head: RequestHead;
  /** Final status sent to the client (0 while unknown or if the client went away). */
  status = 0;
  readonly startedAt: number;
  /** The slot this call holds (admission's), or null. */
  protected slot: S | null = null;
  /** Tries counted against the retry limit. */
  attempts = 0;
  /** Tries after the first (for the access log and spans). */
  retries = 0;
  /** Response body bytes handed to the client. */
  bytesOut = 0;
  /** The X-Tidegate-Error an upstream's error response carried (a queue-proxy's, another edge's), else null. */
  upstreamError: string | null = null;
  /** The last error this call failed with, for the owner's log line. */
  error: TidegateError | null = null;
  /** Waiting for a slot (the activator buffer, the breaker queue): the whole-request timeout is then the waiting hop's. */
  waiting = false;
  aborted = false;
  /** Header lines for this hop only, set by the owner before dispatch (e.g. "k-proxy-request: activator\r\n"). */
  protected extraHeaders = '';
  private timeouts: RequestTimeouts = NO_TIMEOUTS;
  /** When a byte last went either way (kept only with an idle timeout). */
  lastActivity = 0;
  private extraResponseHeaders: string[] | null = null;
  private finished = false;
  private headSent = false;
  private ctl: DispatchController | null = null;
  private bodyDone: boolean;
  private bodyReceived = 0;
  /** Body bytes that arrived while no dispatcher was attached (waiting for a pod). */
  private held: Buffer[] | null = null;
  private heldBytes = 0;
  /**
   * Body bytes written while the dispatcher was still connecting, kept so
   * that if it is refused (the pod saw nothing) the request goes to another
   * pod whole, whatever its method. -1: more than MAX_HELD_BODY were written
   * that way, and a refusal is final.
   */
  private sent: Buffer[] | null = null;
  private sentBytes = 0;
  private paused = false;
  private mode = BodyMode.None;
  private total = 0;
  /** The rest of a body chunk the client could not take yet (a copy: chunks live in the shared read buffer). */
  private pending: Buffer | null = null;
  private trailers: ResponseTrailers | null = null;
  private pendingSlab: Buffer | null = null;
  private pendingOffset = 0;
  /** The pod-side Sec-WebSocket-Key of an upgrade (each try its own). */
  private podKey = '';
  /** After the pod's 101: the WebSocket relay (the call then lasts until both sides close). */
  private relay: WsRelay | null = null;
  // Deadlined links (Deadlines owns them)
  deadline = 0;
  prev: Deadlined | null = null;
  next: Deadlined | null = null;
  list: LinkedList<Deadlined> | null = null;

  /** Must run synchronously inside the uWS handler. Throws TidegateError for refused requests. */
  constructor(
    readonly res: HttpResponse,
    req: HttpRequest,
    private readonly limits: HeadLimits,
    private readonly ctx: CallContext,
    now: number,
    ownTrace = false,
    /** A WebSocket upgrade (from the uWS upgrade handler), or null. */
    private readonly upgrade: ClientUpgrade | null = null,
  ) {
    this.head = ctx.reader.read(res, req, limits, ownTrace);
    this.startedAt = now;
    this.bodyDone = !this.head.chunked && this.head.contentLength <= 0;
    if (upgrade !== null) {
      if (!this.bodyDone) throw new TidegateError('TG_ERR_BAD_REQUEST', 'a WebSocket upgrade request with a body');
      this.head.upgrade = true;
    }
    res.onAborted(() => this.onClientAbort());
    if (!this.bodyDone) res.onData((chunk, isLast) => this.onClientData(chunk, isLast));
  }

  // ---- the owner's hooks ----

  /** A slot now, or null; `avoid`: the pod a retry failed on (while there are others). */
  protected abstract acquire(avoid: S | null): S | null;
  /**
   * Queues the call for a slot: the owner calls granted() later (or fail()).
   * May grant before it returns. An error: it cannot wait (full, nothing to wait for).
   */
  protected abstract wait(avoid: S | null): TidegateError | null;
  /** The dispatcher behind a slot; the call is about to go to it (count it in flight there). */
  protected abstract dispatcherFor(slot: S): Dispatcher;
  /** Gives a slot back (exactly once per slot acquired or granted). */
  protected abstract releaseSlot(slot: S): void;
  /**
   * A try failed before any response byte: the pod's fate (ejection, for a
   * refused connection). Returns whether the try counts against the limit.
   * The slot is still held.
   */
  protected abstract podFailed(slot: S, err: TidegateError): boolean;
  /** Whether a retry that found no free slot may wait for one. */
  protected abstract canWait(): boolean;
  /** The call goes again, to `next` or (null) to wait for a slot: for the owner's metrics and log. */
  protected abstract retrying(failed: S, next: S | null, err: TidegateError): void;
  /** The whole-request timeout passed while still waiting for a slot. */
  protected abstract waitTimeout(): TidegateError;
  /** Called exactly once, whatever the outcome (the status is in `status`; 0 = the client went away). */
  protected abstract ended(): void;

  /** A slot for a retry after `failed` (released first). The queue-proxy keeps its slot: it has one app. */
  protected retrySlot(failed: S): S | null {
    this.releaseSlot(failed);
    return this.acquire(failed);
  }

  // ---- admission ----

  /**
   * Starts the request's timeouts, counted from its arrival: one deadline
   * entry, at the nearest of them, moved on when it comes.
   */
  arm(timeouts: RequestTimeouts): void {
    this.timeouts = timeouts;
    this.lastActivity = this.startedAt;
    const next = nextDeadline(timeouts, this);
    if (next > 0) this.ctx.deadlines.addAt(this, next);
  }

  /** Sends the request to a slot free now, or waits for one. */
  admit(): void {
    const slot = this.acquire(null);
    if (slot !== null) this.dispatch(slot);
    else this.waitForSlot(null);
  }

  /** The owner granted a slot to a waiting call. */
  granted(slot: S): void {
    if (this.finished) {
      this.releaseSlot(slot);
      return;
    }
    this.dispatch(slot);
  }

  /** The call holds a granted slot but must not be sent (its deadline passed in the queue): its deadline entry answers. */
  protected hold(slot: S): void {
    this.slot = slot;
  }

  private waitForSlot(avoid: S | null): void {
    // Its timeouts run on (from arrival); timeoutSeconds passing now is the waiting hop's.
    this.waiting = true;
    const err = this.wait(avoid);
    if (err !== null) this.fail(err);
  }

  /** Sends the request to the slot's dispatcher, with whatever body arrived so far. */
  private dispatch(slot: S): void {
    if (this.finished) return;
    this.slot = slot;
    this.attempts++;
    this.waiting = false;
    const extra = this.upgrade === null ? this.extraHeaders : this.extraHeaders + this.upgradeHeaders();
    const ctl = this.dispatcherFor(slot).dispatch(this.head, extra, this);
    this.ctl = ctl;
    let ok = true;
    const resent = this.sent;
    if (resent !== null) {
      // What a refused try took: it comes first, before what arrived since.
      this.sent = null;
      this.sentBytes = 0;
      for (const chunk of resent) ok = this.writeBody(ctl, chunk);
    }
    const held = this.held;
    if (held !== null) {
      this.held = null;
      this.heldBytes = 0;
      for (const chunk of held) ok = this.writeBody(ctl, chunk);
    }
    if (this.bodyDone) ctl.end();
    if (!ok) this.pauseClient();
    else if (this.paused) this.resumeClient();
  }

  // ---- request body (client → dispatcher) ----

  private onClientData(ab: ArrayBuffer, isLast: boolean): void {
    if (this.finished) return;
    const n = ab.byteLength;
    this.bodyReceived += n;
    if (this.bodyReceived > this.limits.maxBodyBytes) {
      this.fail(new TidegateError('TG_ERR_BODY_TOO_LARGE', `request body exceeds the ${this.limits.maxBodyBytes}-byte limit`));
      return;
    }
    if (isLast) this.bodyDone = true;
    if (this.timeouts.idleMs > 0) this.lastActivity = this.ctx.deadlines.stamp();
    const ctl = this.ctl;
    if (n > 0) {
      // uWS reuses the chunk's memory after this callback: held chunks are copied, written ones are copied by the dispatcher.
      const bytes = new Uint8Array(ab);
      if (ctl === null) {
        (this.held ??= []).push(Buffer.from(bytes));
        this.heldBytes += n;
        if (this.heldBytes >= MAX_HELD_BODY) this.pauseClient();
      } else if (!this.writeBody(ctl, bytes)) this.pauseClient();
    }
    if (isLast && ctl !== null) ctl.end();
  }

  /** Writes body bytes, keeping a copy while nothing can have reached the pod (for a replay); says whether the client may keep sending. */
  private writeBody(ctl: DispatchController, bytes: Uint8Array): boolean {
    if (this.sentBytes >= 0 && ctl.connecting) this.keepSent(bytes);
    return ctl.write(bytes);
  }

  private keepSent(bytes: Uint8Array): void {
    this.sentBytes += bytes.length;
    if (this.sentBytes > MAX_HELD_BODY) {
      this.sent = null;
      this.sentBytes = -1;
      return;
    }
    (this.sent ??= []).push(Buffer.from(bytes));
  }

  private pauseClient(): void {
    if (!this.paused && !this.aborted && !this.bodyDone) {
      this.paused = true;
      this.res.pause();
    }
  }

  private resumeClient(): void {
    if (this.paused && !this.aborted) {
      this.paused = false;
      this.res.resume();
    }
  }

  // ---- DispatchHandler: the response (dispatcher → client); the response calls run inside cork() ----

  onRequestDrain(): void {
    this.resumeClient();
  }

  cork(fn: () => void): void {
    if (this.aborted) fn();
    else this.res.cork(fn);
  }

  onResponseStart(head: UpstreamResponseHead): void {
    if (this.aborted) return;
    this.headSent = true;
    if (head.status >= 400) this.upstreamError = head.headers.find(X_TIDEGATE_ERROR);
    if (this.timeouts.idleMs > 0) this.lastActivity = this.ctx.deadlines.stamp();
    this.status = head.status;
    this.mode = head.bodyMode;
    this.total = head.contentLength;
    const res = this.res;
    head.headers.writeTo(res);
    const extra = this.extraResponseHeaders;
    if (extra !== null) for (let i = 0; i < extra.length; i += 2) res.writeHeader(extra[i]!, extra[i + 1]!);
    if (head.bodyMode === BodyMode.None) {
      if (this.head.method === 'HEAD' && head.contentLength >= 0) res.endWithoutBody(head.contentLength);
      // No argument at all: uWS.js reads an explicit undefined as a length (and writes Content-Length: 2^63).
      else if (this.head.method === 'HEAD' || head.status === 204 || head.status === 304) res.endWithoutBody();
      else res.end();
    }
  }

  onResponseData(chunk: Buffer): void {
    if (this.aborted) return;
    if (this.timeouts.idleMs > 0) this.lastActivity = this.ctx.deadlines.stamp();
    const res = this.res;
    this.bytesOut += chunk.length;
    if (this.mode === BodyMode.Length) {
      const offset = res.getWriteOffset();
      if (!res.tryEnd(chunk, this.total)[0]) {
        this.park(chunk);
        this.pendingOffset = offset;
        this.ctl?.pause();
        res.onWritable((off) => this.onClientWritable(off));
      }
      return;
    }
    if (!res.write(chunk)) {
      this.ctl?.pause();
      res.onWritable(() => {
        this.ctl?.resume();
        return true;
      });
    }
  }

  /** The pod's trailers: kept for the end, where a client that can take them (HTTP/2) gets them. */
  onResponseTrailers(trailers: ResponseTrailers): void {
    this.trailers = trailers;
  }

  onResponseEnd(): void {
    if (this.aborted) return;
    // An HTTP/2 client's stream waits for its trailers (none: null); uWS's HTTP/1.1 responses cannot carry any.
    (this.res as Partial<TrailerSink>).endTrailers?.(this.trailers);
    if (this.mode === BodyMode.Chunked || this.mode === BodyMode.UntilClose) this.res.end();
    // With a pending tryEnd chunk, the response completes once it drains.
    if (this.pending === null) this.finish(this.bodyDone);
  }

  private park(chunk: Buffer): void {
    if (chunk.length > SLAB_SIZE) {
      this.pending = Buffer.from(chunk);
      return;
    }
    const slab = this.ctx.buffers.takeSlab();
    chunk.copy(slab);
    this.pendingSlab = slab;
    this.pending = slab.subarray(0, chunk.length);
  }

  private unpark(): void {
    if (this.pendingSlab !== null) this.ctx.buffers.returnSlab(this.pendingSlab);
    this.pendingSlab = null;
    this.pending = null;
  }

  private onClientWritable(offset: number): boolean {
    const chunk = this.pending;
    if (chunk === null || this.aborted) return true;
    const [ok, done] = this.res.tryEnd(chunk.subarray(offset - this.pendingOffset), this.total);
    if (ok || done) {
      this.unpark();
      if (!done) this.ctl?.resume();
      else if (this.ctl?.responseDone) this.finish(this.bodyDone);
    }
    return ok;
  }

  // ---- WebSocket (the pod's 101) ----

  /** The hop's own upgrade lines: the pod gets a key of this hop's (the client's is uWS's to answer). */
  private upgradeHeaders(): string {
    this.podKey = newWebSocketKey();
    return `connection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: ${this.podKey}\r\n`;
  }

  onUpgrade(head: UpstreamResponseHead, tunnel: Tunnel): TunnelHandler | null {
    const up = this.upgrade;
    this.ctl = null; // the connection is the tunnel now, the relay's to close
    if (this.finished || up === null) return null;
    if (head.headers.find(SEC_WEBSOCKET_ACCEPT) !== acceptFor(this.podKey) || head.headers.find(UPGRADE)?.toLowerCase() !== 'websocket') {
      this.fail(new TidegateError('TG_ERR_UPSTREAM_PROTOCOL', 'the app answered a WebSocket upgrade with a 101 that is not a WebSocket handshake'));
      return null;
    }
    const relay = new WsRelay(this, tunnel);
    this.relay = relay;
    this.headSent = true;
    this.status = 101;
    // An open WebSocket is not cut by timeoutSeconds (nor responseStartTimeoutSeconds); idleTimeoutSeconds still holds.
    const idleMs = this.timeouts.idleMs;
    this.timeouts = idleMs > 0 ? { totalMs: 0, responseStartMs: 0, idleMs } : NO_TIMEOUTS;
    this.ctx.deadlines.remove(this);
    if (idleMs > 0) {
      this.lastActivity = this.ctx.deadlines.stamp();
      this.ctx.deadlines.addAt(this, this.lastActivity + idleMs);
    }
    this.ctx.relays.add(relay);
    this.upgraded();
    // Inside the read's cork (cork() above): the client's 101 goes out with the pod's subprotocol.
    this.res.upgrade<RelayData>({ relay }, up.key, head.headers.find(SEC_WEBSOCKET_PROTOCOL) ?? '', up.extensions, up.context);
    return relay;
  }

  /** A WebSocket opened (the owner counts it). */
  protected upgraded(): void {}

  /** A message (or a piece of one) crossed an open WebSocket. */
  relayed(toPod: boolean, bytes: number): void {
    if (toPod) this.bodyReceived += bytes;
    else this.bytesOut += bytes;
    if (this.timeouts.idleMs > 0) this.lastActivity = this.ctx.deadlines.stamp();
    this.relayedBytes(toPod, bytes);
  }

  /** For the owner's metrics: a message (piece) of `bytes` went through (`toPod`: from the client). */
  protected relayedBytes(_toPod: boolean, _bytes: number): void {}

  relayEnded(): void {
    const relay = this.relay;
    if (relay !== null) this.ctx.relays.delete(relay);
    this.finish(false);
  }

  /** This call is an open (or closed) WebSocket. */
  get webSocket(): boolean {
    return this.relay !== null;
  }

  // ---- retry ----

  onResponseError(err: TidegateError, gotResponse: boolean): void {
    this.ctl = null;
    if (this.finished) return;
    const failed = this.slot;
    if (gotResponse || this.headSent || failed === null) {
      this.fail(err);
      return;
    }
    if (!this.podFailed(failed, err)) this.attempts--;
    const h = this.head;
    const again = mayRetry(this.ctx.retry, {
      code: err.code,
      method: h.method,
      hasBody: h.contentLength > 0 || h.chunked,
      replayable: this.sentBytes >= 0,
      attempts: this.attempts,
      aborted: this.aborted,
    });
    if (!again) {
      this.fail(err);
      return;
    }
    this.slot = null;
    const next = this.retrySlot(failed);
    if (next === null && !this.canWait()) {
      this.fail(err);
      return;
    }
    this.retries++;
    this.retrying(failed, next, err);
    if (next !== null) this.dispatch(next);
    else this.waitForSlot(failed);
  }

  // ---- timeouts ----

  /** The nearest of the timeouts came: the one that passed answers (or closes), else the entry moves to the next. */
  onDeadline(): void {
    if (this.finished) return;
    const t = this.timeouts;
    switch (t === NO_TIMEOUTS ? Expiry.Total : expiryAt(t, this, this.ctx.deadlines.now)) {
      case Expiry.Total:
        this.timeOut(this.waiting ? this.waitTimeout() : new TidegateError('TG_ERR_UPSTREAM_TIMEOUT', `no complete response within the revision's timeoutSeconds`));
        return;
      case Expiry.ResponseStart:
        this.timeOut(new TidegateError('TG_ERR_RESPONSE_START_TIMEOUT', `no response byte within the revision's responseStartTimeoutSeconds`));
        return;
      case Expiry.Idle:
        if (this.relay !== null) {
          // An idle WebSocket is closed as going away: an ending, not a failure.
          this.relay.goAway(1001, 'idle timeout');
          return;
        }
        // With the response begun, fail() closes the connection: the status is out already.
        this.timeOut(new TidegateError('TG_ERR_IDLE_TIMEOUT', `no byte either way for the revision's idleTimeoutSeconds`));
        return;
      case Expiry.None: {
        // The timeout still running (none: a response-start deadline that the response beat, and nothing after it).
        const next = nextDeadline(t, this);
        if (next > 0) this.ctx.deadlines.addAt(this, next);
      }
    }
  }

  private timeOut(err: TidegateError): void {
    this.ctl?.abort();
    this.ctl = null;
    this.fail(err);
  }

  // ---- the end ----

  get responseStarted(): boolean {
    return this.headSent;
  }

  /** Request body bytes received from the client. */
  get bytesIn(): number {
    return this.bodyReceived;
  }

  /** A header tidegate adds to the upstream's response (e.g. X-Tidegate-Cold-Start); set again, it replaces the value. */
  setResponseHeader(name: string, value: string): void {
    const extra = (this.extraResponseHeaders ??= []);
    for (let i = 0; i < extra.length; i += 2) {
      if (extra[i] === name) {
        extra[i + 1] = value;
        return;
      }
    }
    extra.push(name, value);
  }

  /** Answers with tidegate's own error (or closes the client connection if the response already began). */
  fail(err: TidegateError): void {
    if (this.finished) return;
    this.error = err;
    if (!this.aborted) {
      if (this.headSent) {
        this.status = this.status || statusOf(err);
        this.res.close();
      } else {
        this.status = statusOf(err);
        writeError(this.res, err);
      }
    }
    this.finish(false);
  }

  private onClientAbort(): void {
    this.aborted = true;
    if (this.finished) return;
    this.finish(false);
  }

  /** `clean`: the request went whole and the response came whole, so the dispatcher may reuse its connection. */
  private finish(clean: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.ctx.deadlines.remove(this);
    const ctl = this.ctl;
    this.ctl = null;
    if (ctl !== null) {
      if (clean && !this.aborted) ctl.release();
      else ctl.abort();
    }
    this.held = null;
    this.sent = null;
    this.unpark();
    if (this.aborted) this.status = 0;
    const slot = this.slot;
    this.slot = null;
    if (slot !== null) this.releaseSlot(slot);
    this.ended();
  }
}
