import type { HttpRequest, HttpResponse } from '../shared/uws.js';
import { TidegateError } from '../shared/errors.js';
import type { Deadlined, Deadlines } from './deadlines.js';
import type { UpstreamConnection, ConnectionUser } from './connection.js';
import type { UpstreamPool } from './pool.js';
import { BodyMode, type ResponseHead } from './response-parser.js';
import { nameBytes } from './hop-by-hop.js';
import { readRequestHead, type HeadLimits, type RequestHead } from './request-head.js';
import { writeError } from './respond.js';
import { returnSlab, SLAB_SIZE, takeSlab } from './buffers.js';

/** Who started an exchange and hears how it ends (the edge, the queue-proxy). */
export interface ExchangeOwner {
  /** Called exactly once per exchange, whatever the outcome (the status is in ex.status; 0 = client went away). */
  exchangeDone(ex: Exchange): void;
  /**
   * The upstream failed before sending any response byte. `retryable` is
   * true when the request can safely be sent again (idempotent, no body
   * consumed). The owner calls ex.forward() on another pod or ex.fail(err).
   */
  upstreamFailed(ex: Exchange, err: TidegateError, retryable: boolean): void;
}

/**
 * A revision's request timeouts in ms (0 = none), Knative's fields: one
 * frozen object per revision, shared by all its exchanges. Each runs from
 * the request's arrival.
 */
export interface ExchangeTimeouts {
  /** timeoutSeconds: the whole request, waiting for a pod included. */
  readonly totalMs: number;
  /** responseStartTimeoutSeconds: arrival → first response byte. */
  readonly responseStartMs: number;
  /** idleTimeoutSeconds: the longest gap with no byte either way. */
  readonly idleMs: number;
}

export const NO_TIMEOUTS: ExchangeTimeouts = Object.freeze({ totalMs: 0, responseStartMs: 0, idleMs: 0 });

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const X_TIDEGATE_ERROR = nameBytes('x-tidegate-error');
/** Request-body bytes held in memory while no upstream is attached, before the client socket is paused. */
const MAX_HELD_BODY = 64 * 1024;

/**
 * One client request on a uWS connection, from its head to the last byte of
 * the response: it streams the request body to an upstream connection and
 * the response back, both ways with backpressure, and answers every failure
 * with a status and X-Tidegate-Error.
 */
export class Exchange implements ConnectionUser, Deadlined {
  readonly head: RequestHead;
  /** Final status sent to the client (0 while unknown or if the client went away). */
  status = 0;
  readonly startedAt: number;
  /** For the owner: the pod serving this exchange, its throttler slot (or buffer entry), its route. */
  pod: unknown = null;
  slot: unknown = null;
  route: unknown = null;
  /** Tries counted against the retry limit (the owner may leave one uncounted). */
  attempts = 0;
  /** Went through the activator buffer (the edge counts it there, and tells the pod). */
  viaActivator = false;
  /** For the owner's access log and spans: tries after the first, the activator wait (ms, -1: none), the trace. */
  retries = 0;
  waitedMs = -1;
  trace: unknown = null;
  /** Response body bytes handed to the client. */
  bytesOut = 0;
  /** The X-Tidegate-Error an upstream's error response carried (a queue-proxy's, another edge's), else null. */
  upstreamError: string | null = null;
  /** Still waiting for a pod (the activator buffer, the queue-proxy's breaker queue): the whole-request timeout is then the waiting hop's. */
  waiting = false;
  aborted = false;
  private timeouts: ExchangeTimeouts = NO_TIMEOUTS;
  /** When a byte last went either way (kept only with an idle timeout). */
  private lastActivity = 0;
  private extraResponseHeaders: string[] | null = null;
  private finished = false;
  private headSent = false;
  private conn: UpstreamConnection | null = null;
  private bodyDone: boolean;
  private bodyReceived = 0;
  private held: Buffer[] | null = null;
  private heldBytes = 0;
  /**
   * Body bytes written to a connection that was still connecting, kept so
   * that if it is refused (the pod saw nothing) the request goes to another
   * pod whole, whatever its method. -1: more than MAX_HELD_BODY were
   * written that way, and a refusal is final.
   */
  private sent: Buffer[] | null = null;
  private sentBytes = 0;
  private paused = false;
  private mode = BodyMode.None;
  private total = 0;
  /** The rest of a body chunk the client could not take yet (a copy: chunks live in the shared read buffer). */
  private pending: Buffer | null = null;
  private pendingSlab: Buffer | null = null;
  private pendingOffset = 0;
  private keepAliveMs = 4000;
  private upstreamReusable = false;
  // Deadlined links
  deadline = 0;
  dPrev: Deadlined | null = null;
  dNext: Deadlined | null = null;
  dList: null | { head: Deadlined | null; tail: Deadlined | null } = null;

  /** Must run synchronously inside the uWS handler. Throws TidegateError for refused requests. */
  constructor(
    readonly res: HttpResponse,
    req: HttpRequest,
    private limits: HeadLimits,
    private owner: ExchangeOwner,
    private deadlines: Deadlines,
    now: number,
    ownTrace = false,
  ) {
    this.head = readRequestHead(res, req, limits, 'http', ownTrace);
    this.startedAt = now;
    this.bodyDone = !this.head.chunked && this.head.contentLength <= 0;
    res.onAborted(() => this.onClientAbort());
    if (!this.bodyDone) res.onData((chunk, isLast) => this.onClientData(chunk, isLast));
  }

  get responseStarted(): boolean {
    return this.headSent;
  }

  /** Request body bytes received from the client. */
  get bytesIn(): number {
    return this.bodyReceived;
  }

  /**
   * Sends the request to a pool's upstream. `extraHeaders` are full header
   * lines added for this hop (e.g. "k-proxy-request: activator\r\n").
   */
  forward(pool: UpstreamPool, extraHeaders = ''): void {
    if (this.finished) return;
    this.attempts++;
    this.waiting = false;
    const conn = pool.acquire();
    this.conn = conn;
    const h = this.head;
    let ok = conn.start(this, `${h.method} ${h.url} HTTP/1.1\r\n${h.headerBlock}${extraHeaders}\r\n`, h.method === 'HEAD', h.contentLength > 0 || h.chunked);
    const resent = this.sent;
    if (resent !== null) {
      // What a refused connection took: it comes first, before what arrived since.
      this.sent = null;
      this.sentBytes = 0;
      for (const chunk of resent) ok = this.writeBody(chunk, true);
    }
    if (this.held !== null) {
      for (const chunk of this.held) ok = this.writeBody(chunk, true);
      this.held = null;
      this.heldBytes = 0;
    }
    if (this.bodyDone && this.head.chunked) ok = conn.write('0\r\n\r\n');
    if (!ok) this.pauseClient();
    else if (this.paused) this.resumeClient();
  }

  /**
   * Starts the request's timeouts, counted from its arrival (startedAt): one
   * deadline entry, at the nearest of them, moved on when it comes.
   */
  arm(timeouts: ExchangeTimeouts): void {
    this.timeouts = timeouts;
    this.lastActivity = this.startedAt;
    const next = this.nextDeadline();
    if (next > 0) this.deadlines.addAt(this, next);
  }

  private nextDeadline(): number {
    const t = this.timeouts;
    let d = t.totalMs > 0 ? this.startedAt + t.totalMs : 0;
    if (t.responseStartMs > 0 && !this.headSent) {
      const start = this.startedAt + t.responseStartMs;
      if (d === 0 || start < d) d = start;
    }
    if (t.idleMs > 0) {
      const idle = this.lastActivity + t.idleMs;
      if (d === 0 || idle < d) d = idle;
    }
    return d;
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
        this.status = this.status || err.status;
        this.res.close();
      } else {
        this.status = err.status;
        writeError(this.res, err);
      }
    }
    this.finish(false);
  }

  /** The last error this exchange failed with, for the owner's log line. */
  error: TidegateError | null = null;

  // ---- request body (client → upstream) ----

  private onClientData(ab: ArrayBuffer, isLast: boolean): void {
    if (this.finished) return;
    const n = ab.byteLength;
    this.bodyReceived += n;
    if (this.bodyReceived > this.limits.maxBodyBytes) {
      this.fail(new TidegateError('TG_ERR_BODY_TOO_LARGE', `request body exceeds the ${this.limits.maxBodyBytes}-byte limit`));
      return;
    }
    if (isLast) this.bodyDone = true;
    if (this.timeouts.idleMs > 0) this.lastActivity = this.deadlines.stamp();
    if (n > 0) {
      // uWS reuses the chunk's memory after this callback: held chunks are copied, written ones go out through slabs.
      const bytes = new Uint8Array(ab);
      if (this.conn === null) {
        (this.held ??= []).push(Buffer.from(bytes));
        this.heldBytes += n;
        if (this.heldBytes >= MAX_HELD_BODY) this.pauseClient();
      } else if (!this.writeBody(bytes, false)) this.pauseClient();
    }
    if (isLast && this.conn !== null && this.head.chunked) this.conn.write('0\r\n\r\n');
  }

  /**
   * Writes body bytes (framed as one chunk when the request is chunked); says
   * whether the client may keep sending. `owned`: the bytes are a Buffer of
   * this exchange's own, not uWS's reused memory.
   */
  private writeBody(bytes: Uint8Array, owned: boolean): boolean {
    const conn = this.conn!;
    // Not connected yet: nothing written has reached the pod.
    if (this.sentBytes >= 0 && conn.socket.connecting) this.keepSent(bytes, owned);
    if (!this.head.chunked) return conn.writeCopy(bytes);
    conn.write(`${bytes.length.toString(16)}\r\n`);
    conn.writeCopy(bytes);
    return conn.write('\r\n');
  }

  private keepSent(bytes: Uint8Array, owned: boolean): void {
    this.sentBytes += bytes.length;
    if (this.sentBytes > MAX_HELD_BODY) {
      this.sent = null;
      this.sentBytes = -1;
      return;
    }
    (this.sent ??= []).push(owned ? (bytes as Buffer) : Buffer.from(bytes));
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

  onUpstreamDrain(): void {
    this.resumeClient();
  }

  cork(fn: () => void): void {
    if (this.aborted) fn();
    else this.res.cork(fn);
  }

  // ---- response (upstream → client); these run inside cork() ----

  onResponseHead(head: ResponseHead): void {
    if (this.aborted) return;
    this.headSent = true;
    if (head.status >= 400) this.upstreamError = head.scan.find(X_TIDEGATE_ERROR);
    if (this.timeouts.idleMs > 0) this.lastActivity = this.deadlines.stamp();
    this.status = head.status;
    this.mode = head.bodyMode;
    this.total = head.contentLength;
    this.upstreamReusable = head.keepAlive;
    if (head.keepAliveMs >= 0) this.keepAliveMs = head.keepAliveMs;
    const res = this.res;
    head.scan.writeTo(res);
    const extra = this.extraResponseHeaders;
    if (extra !== null) for (let i = 0; i < extra.length; i += 2) res.writeHeader(extra[i]!, extra[i + 1]!);
    if (head.bodyMode === BodyMode.None) {
      if (this.head.method === 'HEAD' && head.contentLength >= 0) res.endWithoutBody(head.contentLength);
      // No argument at all: uWS.js reads an explicit undefined as a length (and writes Content-Length: 2^63).
      else if (this.head.method === 'HEAD' || head.status === 204 || head.status === 304) res.endWithoutBody();
      else res.end();
    }
  }

  onResponseBody(chunk: Buffer): void {
    if (this.aborted) return;
    if (this.timeouts.idleMs > 0) this.lastActivity = this.deadlines.stamp();
    const res = this.res;
    this.bytesOut += chunk.length;
    if (this.mode === BodyMode.Length) {
      const offset = res.getWriteOffset();
      if (!res.tryEnd(chunk, this.total)[0]) {
        this.park(chunk);
        this.pendingOffset = offset;
        this.conn?.pause();
        res.onWritable((off) => this.onClientWritable(off));
      }
      return;
    }
    if (!res.write(chunk)) {
      this.conn?.pause();
      res.onWritable(() => {
        this.conn?.resume();
        return true;
      });
    }
  }

  private park(chunk: Buffer): void {
    if (chunk.length > SLAB_SIZE) {
      this.pending = Buffer.from(chunk);
      return;
    }
    const slab = takeSlab();
    chunk.copy(slab);
    this.pendingSlab = slab;
    this.pending = slab.subarray(0, chunk.length);
  }

  private unpark(): void {
    if (this.pendingSlab !== null) returnSlab(this.pendingSlab);
    this.pendingSlab = null;
    this.pending = null;
  }

  private onClientWritable(offset: number): boolean {
    const chunk = this.pending;
    if (chunk === null || this.aborted) return true;
    const [ok, done] = this.res.tryEnd(chunk.subarray(offset - this.pendingOffset), this.total);
    if (ok || done) {
      this.unpark();
      if (!done) this.conn?.resume();
      else if (this.conn?.responseDone) this.complete();
    }
    return ok;
  }

  onResponseEnd(): void {
    if (this.aborted) return;
    if (this.mode === BodyMode.Chunked || this.mode === BodyMode.UntilClose) this.res.end();
    // With a pending tryEnd chunk, the response completes once it drains.
    if (this.pending === null) this.complete();
  }

  private complete(): void {
    this.finish(this.upstreamReusable && this.bodyDone);
  }

  onConnectionError(err: TidegateError, gotResponseBytes: boolean): void {
    this.conn = null;
    if (this.finished) return;
    if (!gotResponseBytes && !this.headSent) {
      // A refused connection never reached the pod: any request may go again if its body so far is still here.
      const retryable =
        !this.aborted &&
        (err.code === 'TG_ERR_UPSTREAM_REFUSED' ? this.sentBytes >= 0 : IDEMPOTENT.has(this.head.method) && this.head.contentLength <= 0 && !this.head.chunked);
      this.owner.upstreamFailed(this, err, retryable);
      return;
    }
    this.fail(err);
  }

  /** The nearest of the timeouts came: the one that passed answers (or closes), else the entry moves to the next. */
  onDeadline(): void {
    if (this.finished) return;
    const t = this.timeouts;
    const now = this.deadlines.now;
    if (t === NO_TIMEOUTS || (t.totalMs > 0 && now >= this.startedAt + t.totalMs)) {
      this.timeOut(this.waiting ? this.waitTimeout() : new TidegateError('TG_ERR_UPSTREAM_TIMEOUT', `no complete response within the revision's timeoutSeconds`));
    } else if (t.responseStartMs > 0 && !this.headSent && now >= this.startedAt + t.responseStartMs) {
      this.timeOut(new TidegateError('TG_ERR_RESPONSE_START_TIMEOUT', `no response byte within the revision's responseStartTimeoutSeconds`));
    } else if (t.idleMs > 0 && now >= this.lastActivity + t.idleMs) {
      // With the response begun, fail() closes the connection: the status is out already.
      this.timeOut(new TidegateError('TG_ERR_IDLE_TIMEOUT', `no byte either way for the revision's idleTimeoutSeconds`));
    } else {
      this.deadlines.addAt(this, this.nextDeadline());
    }
  }

  /** The error for a whole-request timeout while still waiting for a pod (the queue-proxy's is its own). */
  protected waitTimeout(): TidegateError {
    return new TidegateError('TG_ERR_ACTIVATOR_TIMEOUT', `no pod took the request within the revision's timeoutSeconds`);
  }

  private timeOut(err: TidegateError): void {
    this.conn?.destroy();
    this.conn = null;
    this.fail(err);
  }

  private onClientAbort(): void {
    this.aborted = true;
    if (this.finished) return;
    this.finish(false);
  }

  private finish(reusable: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.deadlines.remove(this);
    const conn = this.conn;
    this.conn = null;
    if (conn) conn.finish(reusable && !this.aborted, this.keepAliveMs);
    this.held = null;
    this.sent = null;
    this.unpark();
    if (this.aborted) this.status = 0;
    this.owner.exchangeDone(this);
  }
}
