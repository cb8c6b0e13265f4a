import { BodyMode, checkTrailerLine, HeadScan, HeadScratch, isFieldByte, isTokenByte, lineEnd, protocolError as protocol, type ResponseHead } from './response-head.js';

export { BodyMode, HeadScratch, type ResponseHead } from './response-head.js';

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
  /** After a 101 to an upgrade request: what follows is another protocol's, not the parser's. */
  Upgraded,
}

const MAX_HEAD = 64 * 1024;
const MAX_CHUNK_LINE = 4096;
/** Room for held bytes kept while nothing is held; more is let go. */
const MAX_IDLE_HELD = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
/** A chunk size at or above this would pass 2^53 with one more hex digit: refused as an overflow. */
const MAX_CHUNK_SIZE_BEFORE_DIGIT = 2 ** 49;

/**
 * An incremental HTTP/1.x response parser for one connection: feed() it
 * socket data, it calls the sink. One parser serves many responses in a row
 * (keep-alive); call expect() before each request.
 *
 * Strict where framing is at stake (a proxy that frames a response one way
 * while a pod meant another is a desync): anything ambiguous throws
 * TG_ERR_UPSTREAM_PROTOCOL, and the connection is then closed, never reused.
 * Interim responses (100, 102, 103, any 1xx but 101) are skipped; a 101 is
 * refused unless the request asked for an upgrade (expect's `upgrade`).
 * A response followed by more bytes than it declared leaves the connection
 * not `reusable`. test/upstream/response-parser-differential.test.ts holds
 * it against Node's llhttp.
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
  /** Bytes came after the end of the response: the peer and tidegate disagree on framing. */
  private extra = false;
  /** Trailer bytes seen so far (bounded like a head). */
  private trailerBytes = 0;
  /** The request asked for a protocol switch. */
  private upgrade = false;
  private readonly head: HeadScan;
  /** The size chunkLineEnd read from the last whole chunk-size line. */
  private readonly chunk = { size: 0 };

  /** `scratch`: where heads are gathered for the client (the upstream runtime's; a parser of its own by default). */
  constructor(
    public sink: ResponseSink,
    scratch = new HeadScratch(),
  ) {
    this.head = new HeadScan(scratch);
  }

  /** Prepares for the response to the next request (HEAD requests have no body; `upgrade`: a 101 is welcome). */
  expect(isHead: boolean, upgrade = false): void {
    this.state = State.Head;
    this.upgrade = upgrade;
    this.heldLen = 0;
    this.headSearched = 0;
    this.noBody = isHead;
    this.extra = false;
    this.trailerBytes = 0;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  /** A 101 came: the bytes after it (feed's return value says where they start) are the new protocol's. */
  get upgraded(): boolean {
    return this.state === State.Upgraded;
  }

  /**
   * The response is complete and nothing came after it: the connection may
   * carry another request. Already true inside the sink's onResponseEnd.
   */
  get reusable(): boolean {
    return this.state === State.Done && !this.extra;
  }

  /**
   * The connection closed; `clean` when by the peer's FIN, not a reset or an
   * error. Ends an until-close body on a clean close; says whether the
   * response is complete (false: it was cut short).
   */
  eof(clean: boolean): boolean {
    if (this.state === State.UntilClose && clean) {
      this.state = State.Done;
      this.sink.onResponseEnd();
      return true;
    }
    return this.state === State.Done;
  }

  /** Feeds bytes; returns how many of them were consumed (the rest belong to no request). */
  feed(data: Buffer): number {
    let buf = data;
    // Offsets below are into `buf`, which starts with the held bytes when there are any.
    const before = this.heldLen;
    if (before > 0) {
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
            return this.hold(buf, pos) - before;
          }
          // However the head arrived, in one read or many.
          if (this.head.end - pos > MAX_HEAD) throw protocol('response head larger than 64 KiB');
          this.headSearched = 0;
          pos = this.head.end;
          this.onHead(pos < len);
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, len - pos);
          this.remaining -= n;
          const chunk = buf.subarray(pos, pos + n);
          pos += n;
          if (this.remaining === 0) {
            this.state = State.Done;
            this.extra = pos < len;
          }
          this.sink.onResponseBody(chunk);
          if (this.state === State.Done) this.sink.onResponseEnd();
          break;
        }
        case State.ChunkSize: {
          const end = chunkLineEnd(buf, pos, len, this.chunk);
          if (end < 0) {
            if (len - pos > MAX_CHUNK_LINE) throw protocol('chunk size line too long');
            return this.hold(buf, pos) - before;
          }
          const size = this.chunk.size;
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
            if (buf[pos] !== 0x0d) throw protocol('missing CRLF after chunk data');
            return this.hold(buf, pos) - before;
          }
          if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) throw protocol('missing CRLF after chunk data');
          pos += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          // Trailer fields are dropped (they are hop-by-hop for a proxy that re-chunks),
          // but checked like header lines: they are framing too.
          const end = lineEnd(buf, pos, len);
          if (end < 0) {
            if (len - pos > MAX_HEAD - this.trailerBytes) throw protocol('trailers larger than 64 KiB');
            return this.hold(buf, pos) - before;
          }
          const empty = end === pos;
          if (!empty) checkTrailerLine(buf, pos, end);
          this.trailerBytes += end + 2 - pos;
          if (this.trailerBytes > MAX_HEAD) throw protocol('trailers larger than 64 KiB');
          pos = end + 2;
          if (empty) {
            this.state = State.Done;
            this.extra = pos < len;
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
          // More than the response: whatever it is, the connection's framing is in doubt.
          this.extra = true;
          return pos - before;
        case State.Upgraded:
          return pos - before;
      }
    }
    return pos - before;
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

  /** `more`: bytes follow the head in the buffer being parsed. */
  private onHead(more: boolean): void {
    const h = this.head;
    const { status } = h;
    if (status < 200) {
      // After a 101 the bytes on the connection are another protocol, and the
      // client never asked for one: passing it on would leave the client with a
      // 101 and the pool with a connection that no longer speaks HTTP.
      if (status === 101) {
        if (!this.upgrade) throw protocol('101 Switching Protocols to a request that asked for no upgrade');
        this.state = State.Upgraded;
        this.sink.onResponseHead({ status, bodyMode: BodyMode.None, contentLength: -1, keepAlive: false, keepAliveMs: -1, headers: h });
        return;
      }
      // Interim response (100 Continue, 103 Early Hints, …): skipped, the final head follows,
      // unless it closes the connection (Connection: close, or HTTP/1.0 without keep-alive):
      // then nothing may follow it, and llhttp refuses what does.
      if (!h.keepAlive) throw protocol(`a ${status} interim response that closes the connection`);
      return;
    }
    let keepAlive = h.keepAlive;
    let bodyMode: BodyMode;
    if (this.noBody || status === 204 || status === 304) bodyMode = BodyMode.None;
    else if (h.chunked) bodyMode = BodyMode.Chunked;
    else if (h.contentLength >= 0) bodyMode = h.contentLength === 0 ? BodyMode.None : BodyMode.Length;
    else {
      bodyMode = BodyMode.UntilClose;
      keepAlive = false;
    }
    // (HeadScan refused Content-Length with chunked.) A HEAD response keeps the length it declares.
    const contentLength = bodyMode === BodyMode.Length || (this.noBody && !h.chunked) ? h.contentLength : -1;
    this.state = bodyMode === BodyMode.None ? State.Done : bodyMode === BodyMode.Length ? State.Length : bodyMode === BodyMode.Chunked ? State.ChunkSize : State.UntilClose;
    this.remaining = bodyMode === BodyMode.Length ? contentLength : 0;
    if (this.state === State.Done) this.extra = more;
    this.sink.onResponseHead({ status, bodyMode, contentLength, keepAlive, keepAliveMs: h.keepAliveMs, headers: h });
    if (this.state === State.Done) this.sink.onResponseEnd();
  }
}

const HEX = new Int8Array(256).fill(-1);
for (let d = 0; d < 10; d++) HEX[0x30 + d] = d;
for (let d = 0; d < 6; d++) HEX[0x41 + d] = HEX[0x61 + d] = 10 + d;

/**
 * Reads the chunk-size line at buf[pos…] (RFC 9112 §7.1): 1*HEXDIG, then
 * extensions `;name` or `;name=token` or `;name="quoted"`, then CRLF; no
 * whitespace anywhere (the RFC's BWS is refused, as llhttp does). Returns the
 * index of the CR and sets `out.size`, or -1 when the line is not all in
 * buf[0, len) yet; throws on anything else, and on a size of 2^53 or more.
 */
function chunkLineEnd(buf: Buffer, pos: number, len: number, out: { size: number }): number {
  let i = pos;
  let size = 0;
  for (; i < len; i++) {
    const d = HEX[buf[i]!]!;
    if (d < 0) break;
    if (size >= MAX_CHUNK_SIZE_BEFORE_DIGIT) throw protocol('chunk size overflows');
    size = size * 16 + d;
  }
  if (i === len) return -1;
  if (i === pos) throw protocol(`bad chunk size ${JSON.stringify(buf.toString('latin1', pos, Math.min(len, pos + 32)))}`);
  while (buf[i] === 0x3b) {
    const name = ++i;
    while (i < len && isTokenByte(buf[i]!)) i++;
    if (i === len) return -1;
    if (i === name) throw protocol('bad chunk extension');
    if (buf[i] !== 0x3d) continue;
    if (++i === len) return -1;
    if (buf[i] === 0x22) {
      // quoted-string: qdtext or quoted-pair, up to the closing quote
      for (i++; ; i++) {
        if (i === len) return -1;
        const c = buf[i]!;
        if (c === 0x22) break;
        if (c === 0x5c && ++i === len) return -1;
        if (!isFieldByte(buf[i]!)) throw protocol('bad chunk extension value');
      }
      if (++i === len) return -1;
    } else {
      const value = i;
      while (i < len && isTokenByte(buf[i]!)) i++;
      if (i === len) return -1;
      if (i === value) throw protocol('bad chunk extension value');
    }
  }
  if (buf[i] !== 0x0d) throw protocol(`bad chunk size line ${JSON.stringify(buf.toString('latin1', pos, Math.min(len, pos + 32)))}`);
  if (i + 1 === len) return -1;
  if (buf[i + 1] !== 0x0a) throw protocol('bare CR in a chunk size line');
  out.size = size;
  return i;
}

