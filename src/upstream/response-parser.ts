import { BodyMode, HeadScan, protocolError as protocol, type ResponseHead } from './response-head.js';

export { BodyMode, type ResponseHead } from './response-head.js';

/** What a parser reports to. Body chunks are views of the fed buffer, valid only during the call: copy what you keep. */
export interface ResponseSink {
  onResponseHead(head: ResponseHead): void;
  onResponseBody(chunk: Buffer): void;
  onResponseEnd(): void;
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

const MAX_HEAD = 64 * 1024;
const MAX_CHUNK_LINE = 4096;
/** Room for held bytes kept while nothing is held; more is let go. */
const MAX_IDLE_HELD = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * An incremental HTTP/1.x response parser for one connection: feed() it
 * socket data, it calls the sink. One parser serves many responses in a row
 * (keep-alive); call expect() before each request.
 */
export class ResponseParser {
  private state = State.Done;
  /**
   * Bytes kept between feeds (an incomplete head, chunk-size line or
   * trailer) at [0, heldLen). It grows by doubling and later reads are
   * appended, so a head that trickles in a byte at a time costs linear time.
   */
  private held: Buffer | null = null;
  private heldLen = 0;
  /** How much of a head that began in an earlier read has been searched for its end. */
  private headSearched = 0;
  private remaining = 0;
  private noBody = false;
  private readonly head = new HeadScan();

  constructor(public sink: ResponseSink) {}

  /** Prepares for the response to the next request (HEAD requests have no body). */
  expect(isHead: boolean): void {
    this.state = State.Head;
    this.heldLen = 0;
    this.headSearched = 0;
    this.noBody = isHead;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  /** True when the response has begun (any byte after the head) or completed. */
  get inBody(): boolean {
    return this.state !== State.Head && this.state !== State.Done;
  }

  /** The connection closed: ends an until-close body, else it is an error. */
  eof(): boolean {
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      this.sink.onResponseEnd();
      return true;
    }
    return this.state === State.Done;
  }

  /** Feeds bytes; returns how many were consumed (the rest belong to no request). */
  feed(data: Buffer): number {
    let buf = data;
    if (this.heldLen > 0) {
      this.append(data, 0);
      buf = this.held!.subarray(0, this.heldLen);
      this.heldLen = 0;
    } else if (this.held !== null && this.held.length > MAX_IDLE_HELD) {
      this.held = null; // a large head's room is not kept for the life of the connection
    }
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      switch (this.state) {
        case State.Head: {
          // A head that began in an earlier read is scanned once its end is here, found by
          // searching only the bytes that arrived since; most heads come whole in one read.
          const incomplete =
            (this.headSearched > 0 && buf.indexOf(HEAD_END, Math.max(pos, pos + this.headSearched - 3)) < 0) || !this.head.scan(buf, pos, len);
          if (incomplete) {
            if (len - pos > MAX_HEAD) throw protocol('response head larger than 64 KiB');
            this.headSearched = len - pos;
            return this.hold(buf, pos);
          }
          this.headSearched = 0;
          pos = this.head.end;
          this.onHead();
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, len - pos);
          this.remaining -= n;
          const chunk = buf.subarray(pos, pos + n);
          pos += n;
          if (this.remaining === 0) this.state = State.Done;
          this.sink.onResponseBody(chunk);
          if (this.state === State.Done) this.sink.onResponseEnd();
          break;
        }
        case State.ChunkSize: {
          const end = buf.indexOf(0x0d, pos);
          if (end < 0 || end + 1 >= len) {
            if (len - pos > MAX_CHUNK_LINE) throw protocol('chunk size line too long');
            return this.hold(buf, pos);
          }
          if (buf[end + 1] !== 0x0a) throw protocol('bad chunk size line');
          const size = parseChunkSize(buf.toString("latin1", pos, end));
          pos = end + 2;
          if (size === 0) this.state = State.Trailers;
          else {
            this.remaining = size;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, len - pos);
          this.remaining -= n;
          const chunk = buf.subarray(pos, pos + n);
          pos += n;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          this.sink.onResponseBody(chunk);
          break;
        }
        case State.ChunkDataEnd: {
          if (len - pos < 2) {
            return this.hold(buf, pos);
          }
          if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) throw protocol('missing CRLF after chunk data');
          pos += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          // Trailer fields are dropped (they are hop-by-hop for a proxy that re-chunks).
          const end = buf.indexOf('\r\n', pos, 'latin1');
          if (end < 0) {
            if (len - pos > MAX_HEAD) throw protocol('trailers too large');
            return this.hold(buf, pos);
          }
          const empty = end === pos;
          pos = end + 2;
          if (empty) {
            this.state = State.Done;
            this.sink.onResponseEnd();
          }
          break;
        }
        case State.UntilClose: {
          const chunk = pos === 0 ? buf : buf.subarray(pos);
          pos = len;
          this.sink.onResponseBody(chunk);
          break;
        }
        case State.Done:
          return pos;
      }
    }
    return pos;
  }

  /**
   * Keeps the incomplete rest of `buf` (a head, a chunk-size line, …) for the
   * next feed. A copy: fed bytes may live in a buffer the next read reuses.
   */
  private hold(buf: Buffer, from: number): number {
    const held = this.held;
    if (held !== null && buf.buffer === held.buffer && buf.byteOffset === held.byteOffset) {
      // Already in `held` (fed from it): keep the rest in place.
      held.copyWithin(0, from, buf.length);
      this.heldLen = buf.length - from;
    } else {
      this.heldLen = 0;
      this.append(buf, from);
    }
    return buf.length;
  }

  private append(src: Buffer, from: number): void {
    const need = this.heldLen + src.length - from;
    if (this.held === null || this.held.length < need) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, 2 * (this.held?.length ?? 0), 1024));
      if (this.held !== null) this.held.copy(grown, 0, 0, this.heldLen);
      this.held = grown;
    }
    src.copy(this.held, this.heldLen, from);
    this.heldLen = need;
  }

  private onHead(): void {
    const h = this.head;
    const { status } = h;
    if (status < 200 && status !== 101) {
      // Interim response (100 Continue, 103 Early Hints): skip it, the real head follows.
      return;
    }
    let keepAlive = h.keepAlive;
    let bodyMode: BodyMode;
    if (this.noBody || status === 204 || status === 304 || status === 101) bodyMode = BodyMode.None;
    else if (h.chunked) bodyMode = BodyMode.Chunked;
    else if (h.contentLength >= 0) bodyMode = h.contentLength === 0 ? BodyMode.None : BodyMode.Length;
    else {
      bodyMode = BodyMode.UntilClose;
      keepAlive = false;
    }
    // RFC 9112 §6.3: chunked wins over Content-Length. A HEAD response keeps the length it declares.
    const contentLength = bodyMode === BodyMode.Length || (this.noBody && !h.chunked) ? h.contentLength : -1;
    this.state = bodyMode === BodyMode.None ? State.Done : bodyMode === BodyMode.Length ? State.Length : bodyMode === BodyMode.Chunked ? State.ChunkSize : State.UntilClose;
    this.remaining = bodyMode === BodyMode.Length ? contentLength : 0;
    this.sink.onResponseHead({ status, bodyMode, contentLength, keepAlive, keepAliveMs: h.keepAliveMs, scan: h });
    if (this.state === State.Done) this.sink.onResponseEnd();
  }
}


/** Hex chunk size, extensions ignored; throws on anything else. */
export function parseChunkSize(line: string): number {
  const semi = line.indexOf(';');
  const hex = (semi >= 0 ? line.slice(0, semi) : line).trim();
  if (hex.length === 0 || hex.length > 12 || !/^[0-9a-fA-F]+$/.test(hex)) throw protocol(`bad chunk size ${JSON.stringify(line.slice(0, 32))}`);
  return parseInt(hex, 16);
}
