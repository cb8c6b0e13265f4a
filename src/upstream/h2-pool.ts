import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import net from 'node:net';
import { TidegateError } from '../shared/errors.js';
import { splitAddress } from '../shared/probe.js';
import { SLAB_SIZE } from './buffers.js';
import type { DispatchController, DispatchHandler, Dispatcher, ResponseTrailers, UpstreamRequest } from './dispatcher.js';
import { H2ResponseHead, h2RequestHeaders, h2Trailers } from './h2-headers.js';
import type { UpstreamRuntime } from './runtime.js';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_PROTOCOL_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** Request bytes queued on a stream beyond which the caller is told to wait (as connection.ts: node's own 16 KiB mark would pause per chunk). */
const MAX_QUEUED = 256 * 1024;
/**
 * The session's receive window. node:http2 gives the connection window back
 * as soon as data arrives (only a paused stream's own window waits for its
 * reader), so this bounds nothing in memory; 64 KiB, the default, would make
 * every stream of the pod share one round trip's worth of bytes.
 */
const SESSION_WINDOW = 8 * 1024 * 1024;
/** A GOAWAY not yet received: every stream may have been seen. */
const NO_GOAWAY = 2 ** 31;

export interface H2UpstreamOptions {
  /** An idle session (no stream open) is closed after this long (the runtime's sweep, once a second). */
  readonly idleTimeoutMs?: number;
}

/** One HTTP/2 connection to the pod and what the dispatcher knows of it. */
class H2Session {
  /** Streams open on it. */
  active = 0;
  idleSince: number;
  /** Takes no new stream (GOAWAY, closing, closed, idle too long). */
  retired = false;
  /** The pod's GOAWAY last-stream-id: streams above it were never processed. */
  lastStreamID = NO_GOAWAY;

  constructor(
    readonly session: ClientHttp2Session,
    now: number,
  ) {
    this.idleSince = now;
  }
}

/**
 * The h2c dispatcher for one pod (`protocol: h2c`): HTTP/2 with prior
 * knowledge over one multiplexed session, every dispatch one stream on it.
 * The session is opened on the first dispatch and again on the first one
 * after it closed, failed or got a GOAWAY (streams the GOAWAY let finish
 * stay on the old one). There is no cap on streams here: the throttler or
 * the breaker bounds what is in flight per pod, and nghttp2 holds streams
 * beyond the pod's SETTINGS_MAX_CONCURRENT_STREAMS until one ends.
 */
export class H2Upstream implements Dispatcher {
  readonly host: string;
  readonly port: number;
  readonly idleTimeoutMs: number;
  /** The one response head view, reused: valid only during onResponseStart. */
  readonly head: H2ResponseHead;
  private current: H2Session | null = null;
  /** Every session not yet closed, the current one and those still finishing streams. */
  private readonly sessions = new Set<H2Session>();
  private closed = false;
  private readonly authority: string;

  constructor(
    readonly address: string,
    readonly runtime: UpstreamRuntime,
    options: H2UpstreamOptions = {},
  ) {
    const { host, port } = splitAddress(address);
    this.host = host;
    this.port = port;
    this.authority = `http://${address}`;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.head = new H2ResponseHead(runtime.buffers.heads);
    runtime.addPool(this);
  }

  dispatch(request: UpstreamRequest, extraHeaders: string, handler: DispatchHandler): DispatchController {
    const call = new H2Call(this, handler, request.method === 'HEAD');
    if (this.closed) return call.failSoon(new TidegateError('TG_ERR_UPSTREAM_REFUSED', `the h2c dispatcher for ${this.address} is closed`));
    if (request.upgrade) return call.failSoon(new TidegateError('TG_ERR_UPSTREAM_PROTOCOL', `an upgrade (WebSocket) request cannot go to the h2c pod ${this.address}`));
    const endStream = !request.chunked && request.contentLength <= 0;
    const s = this.sessionFor();
    let stream: ClientHttp2Stream;
    try {
      stream = s.session.request(h2RequestHeaders(request, extraHeaders, `${this.host}:${this.port}`), { endStream });
    } catch (err) {
      // node:http2 checks every field: a name or value HTTP/2 cannot carry.
      return call.failSoon(new TidegateError('TG_ERR_BAD_REQUEST', `the request cannot be sent over HTTP/2: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    }
    s.active++;
    call.attach(stream, s, endStream);
    return call;
  }

  private sessionFor(): H2Session {
    const s = this.current;
    if (s !== null && !s.retired && !s.session.closed && !s.session.destroyed) return s;
    return this.open();
  }

  private open(): H2Session {
    const { host, port } = this;
    const session = http2.connect(this.authority, {
      createConnection: () => net.connect({ host, port, noDelay: true }),
      settings: { enablePush: false },
      // Every stream of the pod shares this session: node's 10 MB default refuses new streams early under load.
      maxSessionMemory: 64,
    });
    const s = new H2Session(session, this.runtime.clock.now());
    this.current = s;
    this.sessions.add(s);
    session.on('connect', () => {
      try {
        session.setLocalWindowSize(SESSION_WINDOW);
      } catch {
        // closing already
      }
    });
    // Each stream hears the failure itself (its 'error' and 'close'); the session's only needs a listener.
    session.on('error', () => this.retire(s));
    session.on('goaway', (_code: number, lastStreamID: number) => {
      if (lastStreamID < s.lastStreamID) s.lastStreamID = lastStreamID;
      this.retire(s);
    });
    session.on('close', () => {
      this.retire(s);
      this.sessions.delete(s);
    });
    return s;
  }

  /** No new stream goes to `s`; node closes it once its streams end (it does so itself after a GOAWAY). */
  private retire(s: H2Session): void {
    s.retired = true;
    if (this.current === s) this.current = null;
  }

  /** A stream on `s` closed. */
  streamClosed(s: H2Session, err: NodeJS.ErrnoException | null): void {
    s.active--;
    if (err?.code === 'ERR_HTTP2_OUT_OF_STREAMS') this.retire(s);
    if (s.active > 0) return;
    s.idleSince = this.runtime.clock.now();
    if (s.retired && !s.session.closed) s.session.close();
  }

  /** Closes the session once it has been idle (no stream) for idleTimeoutMs. */
  sweep(now: number): void {
    const s = this.current;
    if (s !== null && s.active === 0 && now - s.idleSince >= this.idleTimeoutMs) {
      this.retire(s);
      s.session.close();
    }
  }

  /** Streams open on every session of this pod. */
  get openStreams(): number {
    let n = 0;
    for (const s of this.sessions) n += s.active;
    return n;
  }

  /** Sessions not yet closed (the current one and any still finishing streams after a GOAWAY). */
  get openSessions(): number {
    return this.sessions.size;
  }

  /** No new dispatch; each session closes (GOAWAY) once its streams have ended. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.runtime.removePool(this);
    for (const s of this.sessions) {
      this.retire(s);
      if (!s.session.closed) s.session.close();
    }
  }
}

const CALL = Symbol('tidegate.h2call');
type TaggedStream = ClientHttp2Stream & { [CALL]?: H2Call };

/**
 * One dispatched request: a stream on the pod's session, and its
 * DispatchController. The stream's events go to module-level listeners
 * that find their call on the stream (no closures per request).
 */
class H2Call implements DispatchController {
  private stream: TaggedStream | null = null;
  private session: H2Session | null = null;
  /** The response head came: the pod has the request. */
  private answered = false;
  responseDone = false;
  private requestEnded = false;
  private wantDrain = false;
  trailers: ResponseTrailers | null = null;
  error: NodeJS.ErrnoException | null = null;
  /** Slabs handed to the stream, in write order: each write's callback returns the oldest. */
  private slabs: Buffer[] | null = null;
  private slabWritten: (() => void) | null = null;

  constructor(
    readonly owner: H2Upstream,
    public handler: DispatchHandler | null,
    readonly noBody: boolean,
  ) {}

  attach(stream: ClientHttp2Stream, session: H2Session, endStream: boolean): void {
    const s = stream as TaggedStream;
    s[CALL] = this;
    this.stream = s;
    this.session = session;
    this.requestEnded = endStream;
    s.on('response', onResponse as (headers: IncomingHttpHeaders, flags: number) => void);
    s.on('data', onData);
    s.on('trailers', onTrailers as (headers: IncomingHttpHeaders, flags: number) => void);
    s.on('end', onEnd);
    s.on('error', onError);
    s.on('drain', onDrain);
    s.on('close', onClose);
  }

  /** Reports `err` on the next tick (the caller has not got its controller yet); nothing was sent. */
  failSoon(err: TidegateError): this {
    process.nextTick(failLater, this, err);
    return this;
  }

  // ---- DispatchController ----

  /** Body bytes, copied into the runtime's slabs (the caller's memory is reused once this returns). */
  write(bytes: Uint8Array): boolean {
    const stream = this.stream;
    if (bytes.length === 0 || stream === null || this.requestEnded || stream.destroyed) return true;
    const buffers = this.owner.runtime.buffers;
    const slabs = (this.slabs ??= []);
    const done = (this.slabWritten ??= () => {
      const slab = slabs.shift();
      if (slab !== undefined) buffers.returnSlab(slab);
    });
    for (let at = 0; at < bytes.length; at += SLAB_SIZE) {
      const n = Math.min(SLAB_SIZE, bytes.length - at);
      const slab = buffers.takeSlab();
      slab.set(n === bytes.length ? bytes : bytes.subarray(at, at + n));
      slabs.push(slab);
      stream.write(n === SLAB_SIZE ? slab : slab.subarray(0, n), done);
    }
    // Above MAX_QUEUED stream.write has returned false too, so 'drain' follows once the queue empties.
    if (stream.writableLength < MAX_QUEUED) return true;
    this.wantDrain = true;
    return false;
  }

  end(): void {
    if (this.requestEnded) return;
    this.requestEnded = true;
    const stream = this.stream;
    if (stream !== null && !stream.destroyed) stream.end();
  }

  /**
   * True until the pod's response head: a GOAWAY may still refuse the stream
   * (the pod never processed it) however long ago the session connected, so
   * the caller must keep what it wrote to replay it. ProxyCall keeps copies
   * only while this is true, and only up to its limit.
   */
  get connecting(): boolean {
    return !this.answered;
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  release(): void {
    this.handler = null;
    // A clean end has both sides closed; anything else left open is cancelled.
    if (!this.requestEnded || !this.responseDone) this.cancel();
  }

  /** RST_STREAM(CANCEL) to the pod; nothing more reaches the handler. */
  abort(): void {
    this.handler = null;
    this.cancel();
  }

  private cancel(): void {
    const stream = this.stream;
    if (stream !== null && !stream.closed && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
  }

  // ---- the stream's events ----

  onResponse(headers: IncomingHttpHeaders, flags: number, raw: readonly string[]): void {
    const handler = this.handler;
    if (handler === null) return;
    this.answered = true;
    const head = this.owner.head;
    if (!head.set(Number(headers[':status']), raw, this.noBody || (flags & NGHTTP2_FLAG_END_STREAM) !== 0)) {
      this.handler = null;
      this.stream?.close(NGHTTP2_PROTOCOL_ERROR);
      handler.onResponseError(new TidegateError('TG_ERR_UPSTREAM_PROTOCOL', `bad or second content-length from ${this.owner.address}`), true);
      return;
    }
    corked(this, deliverStart, null);
    head.clear();
  }

  onClose(): void {
    const stream = this.stream!;
    const session = this.session!;
    this.owner.streamClosed(session, this.error);
    const handler = this.handler;
    if (handler === null || this.responseDone) return;
    this.handler = null;
    const id = stream.id;
    const rst = stream.rstCode;
    // Never processed by the pod: not sent (no id: connect failed, session gone), refused (RFC 9113 §8.7), or above its GOAWAY.
    const unseen = !this.answered && (id === undefined || rst === NGHTTP2_REFUSED_STREAM || id > session.lastStreamID);
    const why = this.error?.message ?? `stream closed (code ${rst ?? 'none'})`;
    const err = unseen
      ? new TidegateError('TG_ERR_UPSTREAM_REFUSED', `${this.owner.address} did not take the request: ${why}`, { cause: this.error })
      : new TidegateError('TG_ERR_UPSTREAM_RESET', `${this.owner.address} reset the request before its response completed: ${why}`, { cause: this.error });
    handler.onResponseError(err, this.answered);
  }

  onDrain(): void {
    if (!this.wantDrain) return;
    this.wantDrain = false;
    this.handler?.onRequestDrain();
  }
}

function failLater(call: H2Call, err: TidegateError): void {
  const handler = call.handler;
  if (handler === null) return;
  call.handler = null;
  handler.onResponseError(err, false);
}

// ---- delivery inside the handler's cork, without a closure per call ----

let corkCall: H2Call | null = null;
let corkChunk: Buffer | null = null;

function corked(call: H2Call, fn: () => void, chunk: Buffer | null): void {
  const handler = call.handler;
  if (handler === null) return;
  const prevCall = corkCall;
  const prevChunk = corkChunk;
  corkCall = call;
  corkChunk = chunk;
  try {
    handler.cork(fn);
  } finally {
    corkCall = prevCall;
    corkChunk = prevChunk;
  }
}

function deliverStart(): void {
  const call = corkCall!;
  call.handler?.onResponseStart(call.owner.head);
}

function deliverData(): void {
  corkCall!.handler?.onResponseData(corkChunk!);
}

function deliverEnd(): void {
  const call = corkCall!;
  const handler = call.handler;
  if (handler === null) return;
  if (call.trailers !== null) handler.onResponseTrailers?.(call.trailers);
  // The handler may have let go (release, abort) while taking the trailers.
  if (call.handler !== null) handler.onResponseEnd();
}

// ---- the stream's listeners (`this` is the stream) ----

function onResponse(this: TaggedStream, headers: IncomingHttpHeaders, flags: number, raw: readonly string[]): void {
  this[CALL]?.onResponse(headers, flags, raw);
}

function onData(this: TaggedStream, chunk: Buffer): void {
  const call = this[CALL];
  if (call !== undefined) corked(call, deliverData, chunk);
}

function onTrailers(this: TaggedStream, _headers: IncomingHttpHeaders, _flags: number, raw: readonly string[]): void {
  const call = this[CALL];
  if (call !== undefined) call.trailers = h2Trailers(raw);
}

function onEnd(this: TaggedStream): void {
  const call = this[CALL];
  if (call === undefined || call.handler === null) return;
  // node ends the readable side of a stream its session lost (rstCode CANCEL) or the pod reset:
  // that body was cut, and 'close' reports it so; a stream that ended by END_STREAM has no code yet, or 0.
  const rst = this.rstCode;
  if (rst !== undefined && rst !== NGHTTP2_NO_ERROR) return;
  call.responseDone = true;
  corked(call, deliverEnd, null);
}

function onError(this: TaggedStream, err: NodeJS.ErrnoException): void {
  const call = this[CALL];
  if (call !== undefined) call.error ??= err;
}

function onDrain(this: TaggedStream): void {
  this[CALL]?.onDrain();
}

function onClose(this: TaggedStream): void {
  this[CALL]?.onClose();
}
