import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { ResponseTrailers } from '../upstream/dispatcher.js';

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;
const EMPTY = new ArrayBuffer(0);
/** Response headers HTTP/2 forbids (RFC 9113 §8.2.2): an HTTP/1.1 pod's are dropped, not refused. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/**
 * An HTTP/2 stream's request head in the shape of uWS's HttpRequest, the
 * part of it the request-head reader and the edge read, so an HTTP/2 stream
 * goes through the same reader, router, throttler and ProxyCall as an
 * HTTP/1.1 request. `:authority` is the Host; a stream whose HEADERS did not
 * end it carries a body of unknown length unless it says content-length,
 * which the reader sees as chunked (the pod gets tidegate's own framing).
 */
export class H2Request {
  private readonly path: string;
  private readonly q: number;

  constructor(
    private readonly headers: IncomingHttpHeaders,
    private readonly hasBody: boolean,
  ) {
    this.path = headers[':path'] ?? '';
    this.q = this.path.indexOf('?');
  }

  forEach(cb: (name: string, value: string) => void): void {
    const h = this.headers;
    const authority = h[':authority'];
    let lengthGiven = false;
    for (const name in h) {
      if (name.charCodeAt(0) === 0x3a) continue; // pseudo-headers
      const value = h[name];
      if (value === undefined) continue;
      if (name === 'host' && authority !== undefined) continue; // :authority wins (RFC 9113 §8.3.1)
      if (name === 'content-length') lengthGiven = true;
      if (typeof value === 'string') cb(name, value);
      else if (name === 'cookie') cb(name, value.join('; ')); // HTTP/2 splits cookies (RFC 9113 §8.2.3)
      else for (const v of value) cb(name, v);
    }
    if (authority !== undefined) cb('host', authority);
    if (this.hasBody && !lengthGiven) cb('transfer-encoding', 'chunked');
  }

  getCaseSensitiveMethod(): string {
    return this.headers[':method'] ?? '';
  }

  getMethod(): string {
    return this.getCaseSensitiveMethod().toLowerCase();
  }

  getUrl(): string {
    return this.q < 0 ? this.path : this.path.slice(0, this.q);
  }

  getQuery(): string {
    return this.q < 0 ? '' : this.path.slice(this.q + 1);
  }

  getHeader(name: string): string {
    if (name === 'host') return this.headers[':authority'] ?? (this.headers.host) ?? '';
    const v = this.headers[name];
    return v === undefined ? '' : typeof v === 'string' ? v : v.join(', ');
  }
}

/**
 * An HTTP/2 stream's response in the shape of uWS's HttpResponse, the part
 * of it ProxyCall and respond.ts use: the status and headers are collected
 * and sent with the first body byte (or the end), writes report
 * backpressure as uWS's do (a write that returns false is buffered whole;
 * onWritable fires on the stream's drain), and a close resets the stream.
 * gRPC requests (content-type application/grpc…) and requests that said
 * `te: trailers` get the pod's trailers (endTrailers), sent once the body is.
 */
export class H2Response {
  /** The request is gRPC: tidegate's own errors are gRPC statuses (respond.ts). */
  readonly grpc: boolean;
  private status = 200;
  private headers: OutgoingHttpHeaders | null = null;
  private responded = false;
  private ended = false;
  private offset = 0;
  private abortedCb: (() => void) | null = null;
  private writableCb: ((offset: number) => boolean) | null = null;
  private readonly wantsTrailers: boolean;
  /** undefined: the pod's end has not come; null: it came with no trailers. */
  private trailers: ResponseTrailers | null | undefined = undefined;
  private trailersWanted = false;

  constructor(
    readonly stream: ServerHttp2Stream,
    requestHeaders: IncomingHttpHeaders,
    /** The client's address as text, which the request-head reader takes as it is (no bytes to decode). */
    readonly remoteText: string,
  ) {
    this.grpc = requestHeaders['content-type']?.startsWith('application/grpc') === true;
    this.wantsTrailers = this.grpc || requestHeaders.te === 'trailers';
    stream.on('close', () => {
      // uWS's onAborted: the client went away before the response was complete.
      if (!this.ended || !stream.writableFinished) this.aborted();
    });
    stream.on('error', () => undefined); // a reset stream: 'close' follows and tells
    stream.on('drain', () => this.drained());
    if (this.wantsTrailers) {
      stream.on('wantTrailers', () => {
        this.trailersWanted = true;
        this.sendTrailers();
      });
    }
  }

  private aborted(): void {
    const cb = this.abortedCb;
    this.abortedCb = null;
    this.ended = true;
    cb?.();
  }

  private drained(): void {
    const cb = this.writableCb;
    if (cb === null) return;
    this.writableCb = null;
    if (!cb(this.offset) && this.writableCb === null) this.writableCb = cb;
  }

  // ---- the HttpResponse surface ----

  onAborted(cb: () => void): this {
    this.abortedCb = cb;
    return this;
  }

  onData(cb: (chunk: ArrayBuffer, isLast: boolean) => void): this {
    this.stream.on('data', (chunk: Buffer) => cb(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.length) as ArrayBuffer, false));
    this.stream.on('end', () => cb(EMPTY, true));
    return this;
  }

  onWritable(cb: (offset: number) => boolean): this {
    this.writableCb = cb;
    return this;
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  cork(fn: () => void): this {
    fn();
    return this;
  }

  /** "200 OK", or a whole head block from ResponseHeaders.writeTo ("200 OK\r\nname: value\r\n…", no final CRLF). */
  writeStatus(status: string | Uint8Array): this {
    const text = typeof status === 'string' ? status : Buffer.from(status.buffer, status.byteOffset, status.byteLength).toString('latin1');
    this.status = Number(text.slice(0, 3));
    let at = text.indexOf('\r\n');
    while (at >= 0) {
      const next = text.indexOf('\r\n', at + 2);
      const line = next < 0 ? text.slice(at + 2) : text.slice(at + 2, next);
      const colon = line.indexOf(':');
      if (colon > 0) this.addHeader(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
      at = next;
    }
    return this;
  }

  writeHeader(name: string, value: string): this {
    this.addHeader(name.toLowerCase(), value);
    return this;
  }

  private addHeader(name: string, value: string): void {
    if (CONNECTION_SPECIFIC.has(name)) return;
    const h = (this.headers ??= {});
    const had = h[name];
    if (had === undefined) h[name] = value;
    else if (Array.isArray(had)) had.push(value);
    else h[name] = [String(had), value];
  }

  getWriteOffset(): number {
    return this.offset;
  }

  write(chunk: Uint8Array | string): boolean {
    if (this.ended) return true;
    this.respond(false);
    this.offset += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return this.stream.write(chunk);
  }

  /** uWS's tryEnd: the chunk is always taken whole here (node buffers it); `ok` false asks to wait for onWritable. */
  tryEnd(chunk: Uint8Array, total: number): [boolean, boolean] {
    if (this.ended) return [true, true];
    if (!this.responded) this.addHeader('content-length', String(total));
    if (chunk.length > 0 && this.offset + chunk.length >= total) {
      // The last bytes: one DATA frame that also ends the stream, not a DATA frame and an empty one.
      this.respond(false);
      this.offset += chunk.length;
      this.finish(chunk);
      return [true, true];
    }
    const ok = chunk.length === 0 || this.write(chunk);
    const done = this.offset >= total;
    if (done) this.finish();
    return [ok || done, done];
  }

  end(body?: Uint8Array | string): this {
    if (this.ended) return this;
    if (body !== undefined && body.length > 0) this.write(body);
    else if (!this.responded) return this.endWithoutBody(); // a head alone ends the stream (a gRPC trailers-only response stays one)
    this.finish();
    return this;
  }

  /** A response with no body; `length` says a HEAD response's Content-Length. */
  endWithoutBody(length?: number): this {
    if (this.ended) return this;
    if (length !== undefined) this.addHeader('content-length', String(length));
    this.respond(true);
    this.ended = true;
    return this;
  }

  /** The response cannot be completed: the stream is reset (the client sees an error, not a short body). */
  close(): this {
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_INTERNAL_ERROR);
    this.aborted();
    return this;
  }

  /** The pod's trailers (null: none); sent once the body has gone. */
  endTrailers(trailers: ResponseTrailers | null): void {
    this.trailers = trailers;
    this.sendTrailers();
  }

  // ---- the stream ----

  private respond(endStream: boolean): void {
    if (this.responded) return;
    this.responded = true;
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    const headers = this.headers ?? {};
    headers[':status'] = this.status;
    try {
      stream.respond(headers, { endStream, waitForTrailers: this.wantsTrailers && !endStream });
    } catch {
      // The stream was reset between checks, or the pod's head has a field HTTP/2 refuses: the client sees a reset.
      stream.close(NGHTTP2_INTERNAL_ERROR);
    }
  }

  /** Ends the stream, with `last` as its final DATA frame when given. */
  private finish(last?: Uint8Array): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.stream.destroyed) this.stream.end(last);
  }

  private sendTrailers(): void {
    if (!this.trailersWanted || this.trailers === undefined || this.stream.destroyed) return;
    this.trailersWanted = false;
    try {
      this.stream.sendTrailers((this.trailers ?? {}) as OutgoingHttpHeaders);
    } catch {
      this.stream.close(NGHTTP2_INTERNAL_ERROR);
    }
  }
}
