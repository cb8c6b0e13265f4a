import { TidegateError } from '../shared/errors.js';
import { connectionTokens, isHopByHopName, nameBytes, sameName } from './hop-by-hop.js';

/** How the body of a response is delimited. */
export const enum BodyMode {
  None = 0,
  Length = 1,
  Chunked = 2,
  UntilClose = 3,
}

/** What a proxy does with one header line of a response. */
const enum Kind {
  Forward = 0,
  /** Content-Length and Date: uWS writes its own. */
  Rewritten = 1,
  HopByHop = 2,
}

/** Where the head goes: the part of a uWS HttpResponse it uses. */
export interface HeadWriter {
  writeStatus(status: Uint8Array): unknown;
}

/** Ints kept per header line: name start, colon, value start, value end (trimmed), kind. */
const STRIDE = 5;

/**
 * What each byte may be in a head, one lookup per byte while the lines are
 * scanned anyway: TOKEN for header names (RFC 9110 tchar), FIELD for anything
 * a line may hold before its CRLF (VCHAR, obs-text, SP, HTAB: field values
 * and the reason phrase). NUL, the other control bytes and DEL are neither, so
 * they never reach a client.
 */
const TOKEN = 1;
const FIELD = 2;
const HEAD_CHARS = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) HEAD_CHARS[c] = FIELD;
for (let c = 0x80; c < 0x100; c++) HEAD_CHARS[c] = FIELD;
HEAD_CHARS[0x20] = HEAD_CHARS[0x09] = FIELD;
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") HEAD_CHARS[c.charCodeAt(0)] = TOKEN | FIELD;

/**
 * Where the status and the lines a proxy passes on are gathered for the
 * client: one uWS call and one view per response. One per upstream runtime,
 * shared by its parsers: writeTo runs synchronously and nothing it calls
 * parses another head.
 */
export class HeadScratch {
  buf = Buffer.allocUnsafe(4096);

  /** The buffer, grown (by doubling) to hold `size` bytes. */
  take(size: number): Buffer {
    if (this.buf.length < size) this.buf = Buffer.allocUnsafe(Math.max(size, this.buf.length * 2));
    return this.buf;
  }
}

/**
 * One response head scanned in place: its facts, and its header lines as
 * offsets into the bytes it was read from, so that the head reaches the client
 * without a string being made of it: names and values byte for byte as the
 * pod sent them (the space around a value becomes one space after the colon). One
 * per parser, reused for every response on its connection; the offsets are
 * valid only until the next read.
 */
export class HeadScan {
  status = 0;
  contentLength = -1;
  chunked = false;
  keepAlive = true;
  /** From the pod's Keep-Alive header: how long its idle connection may be reused (ms), -1 when not said. */
  keepAliveMs = -1;
  /** Just past the empty line that ends the head. */
  end = 0;
  private buf: Buffer;
  private statusStart = 0;
  private statusEnd = 0;
  private count = 0;
  private at = new Int32Array(16 * STRIDE);

  constructor(private readonly scratch: HeadScratch) {
    this.buf = scratch.buf;
  }

  /**
   * Scans the head that starts at buf[start] and says whether it is complete
   * within buf[0, len). Strict, and the framing unambiguous: a bad status
   * line, a name that is not a token, whitespace before the colon, a folded
   * line, a control byte, a bare CR or LF, a bad or second Content-Length, a
   * Transfer-Encoding other than one "chunked" (or with Content-Length too, or
   * on HTTP/1.0) throws TG_ERR_UPSTREAM_PROTOCOL.
   */
  scan(buf: Buffer, start: number, len: number): boolean {
    let eol = lineEnd(buf, start, len);
    if (eol < 0) return false;
    // "HTTP/1.1 200 OK"
    if (
      eol - start < 12 ||
      buf[start] !== 0x48 || buf[start + 1] !== 0x54 || buf[start + 2] !== 0x54 || buf[start + 3] !== 0x50 ||
      buf[start + 4] !== 0x2f || buf[start + 5] !== 0x31 || buf[start + 6] !== 0x2e || buf[start + 8] !== 0x20 ||
      (buf[start + 7] !== 0x30 && buf[start + 7] !== 0x31) ||
      (eol - start > 12 && buf[start + 12] !== 0x20)
    ) {
      throw protocolError(`bad status line ${quote(buf, start, eol)}`);
    }
    const status = digit(buf[start + 9]!) * 100 + digit(buf[start + 10]!) * 10 + digit(buf[start + 11]!);
    if (!(status >= 100)) throw protocolError(`bad status code in ${quote(buf, start, eol)}`);
    this.buf = buf;
    this.status = status;
    this.statusStart = start + 9;
    this.statusEnd = eol;
    this.count = 0;
    this.contentLength = -1;
    this.chunked = false;
    this.keepAlive = buf[start + 7] === 0x31;
    this.keepAliveMs = -1;
    let close = false;
    let tokens: Set<string> | null = null;
    let pos = eol + 2;
    for (;;) {
      eol = lineEnd(buf, pos, len);
      if (eol < 0) return false;
      if (eol === pos) break;
      const first = buf[pos];
      if (first === 0x20 || first === 0x09) throw protocolError('folded header line (obs-fold)');
      // lineEnd checked every byte against FIELD; the name must be a token up to the colon.
      let colon = pos;
      while (colon < eol && (HEAD_CHARS[buf[colon]!]! & TOKEN) !== 0) colon++;
      if (colon === pos || buf[colon] !== 0x3a) {
        const c = buf[colon];
        if (colon > pos && (c === 0x20 || c === 0x09)) throw protocolError('whitespace before a header colon');
        throw protocolError(`bad header line ${quote(buf, pos, eol)}`);
      }
      let vs = colon + 1;
      while (vs < eol && (buf[vs] === 0x20 || buf[vs] === 0x09)) vs++;
      let ve = eol;
      while (ve > vs && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
      let kind = Kind.Forward;
      switch (classify(buf, pos, colon - pos)) {
        case Name.ContentLength: {
          // A second one, even equal, is refused like llhttp does: one length or none.
          const n = decimal(buf, vs, ve);
          if (n < 0 || this.contentLength >= 0 || tabIn(buf, ve, eol)) throw protocolError('bad or second Content-Length');
          this.contentLength = n;
          kind = Kind.Rewritten;
          break;
        }
        case Name.Date:
          kind = Kind.Rewritten;
          break;
        case Name.TransferEncoding:
          // Only chunked can be re-framed for the client: another coding (or a second
          // header) would mean reading until close bytes the client cannot decode.
          if (this.chunked || ve - vs !== 7 || !sameName(buf, vs, CHUNKED) || tabIn(buf, ve, eol)) throw protocolError(`Transfer-Encoding other than one "chunked": ${quote(buf, vs, ve)}`);
          this.chunked = true;
          kind = Kind.HopByHop;
          break;
        case Name.Connection: {
          const value = buf.toString('latin1', vs, ve);
          const v = value.toLowerCase();
          // llhttp (node:http, many pods' own clients) does not see a token a tab follows: reuse only what it would.
          if (tabIn(buf, vs, eol)) close = true;
          else if (v === 'keep-alive') this.keepAlive = true;
          else if (v === 'close') close = true;
          else
            for (const t of v.split(',')) {
              const token = t.trim();
              if (token === 'close') close = true;
              else if (token === 'keep-alive') this.keepAlive = true;
            }
          const listed = connectionTokens(value);
          if (listed !== null) {
            if (tokens === null) tokens = listed;
            else for (const t of listed) tokens.add(t);
          }
          kind = Kind.HopByHop;
          break;
        }
        case Name.KeepAlive: {
          const m = /timeout=(\d+)/i.exec(buf.toString('latin1', vs, ve));
          if (m) this.keepAliveMs = Math.max(0, Number(m[1]) * 1000 - 1000); // a second under the pod's
          kind = Kind.HopByHop;
          break;
        }
        case Name.HopByHop:
          kind = Kind.HopByHop;
          break;
      }
      this.add(pos, colon, vs, ve, kind);
      pos = eol + 2;
    }
    this.end = eol + 2;
    if (close) this.keepAlive = false;
    if (this.chunked && (this.contentLength >= 0 || buf[start + 7] === 0x30)) {
      // RFC 9112 §6.1 would let Transfer-Encoding win, but the pair is the classic smuggling
      // shape and a sign of a confused pod: refused (as nginx does), the connection closed.
      throw protocolError(this.contentLength >= 0 ? 'both Content-Length and Transfer-Encoding' : 'Transfer-Encoding on an HTTP/1.0 response');
    }
    if (tokens !== null) {
      // Names the Connection header lists are hop-by-hop too, wherever they appear.
      const at = this.at;
      for (let i = 0; i < this.count; i++) {
        const o = i * STRIDE;
        if (at[o + 4] === Kind.Forward && tokens.has(buf.toString('latin1', at[o], at[o + 1]).toLowerCase())) at[o + 4] = Kind.HopByHop;
      }
    }
    return true;
  }

  private add(nameStart: number, colon: number, valueStart: number, valueEnd: number, kind: Kind): void {
    if ((this.count + 1) * STRIDE > this.at.length) {
      const grown = new Int32Array(this.at.length * 2);
      grown.set(this.at);
      this.at = grown;
    }
    const o = this.count++ * STRIDE;
    const at = this.at;
    at[o] = nameStart;
    at[o + 1] = colon;
    at[o + 2] = valueStart;
    at[o + 3] = valueEnd;
    at[o + 4] = kind;
  }

  /** The value of the first header named `name` (lower-case bytes), or null: read only for the rare responses that need it. */
  find(name: Uint8Array): string | null {
    const { buf, at, count } = this;
    for (let i = 0; i < count; i++) {
      const o = i * STRIDE;
      if (at[o + 1]! - at[o]! === name.length && sameName(buf, at[o]!, name)) return buf.toString('latin1', at[o + 2], at[o + 3]);
    }
    return null;
  }

  /**
   * Writes the status and every line marked Forward in one writeStatus call:
   * uWS frames it as "HTTP/1.1 " + status + CRLF, so the status text followed
   * by the kept lines (CRLF-joined, as "name: value") comes out as the head.
   */
  writeTo(w: HeadWriter): void {
    const { buf, at, count } = this;
    let size = this.statusEnd - this.statusStart;
    for (let i = 0; i < count; i++) if (at[i * STRIDE + 4] === Kind.Forward) size += at[i * STRIDE + 3]! - at[i * STRIDE]! + 2;
    const o = this.scratch.take(size);
    let n = copy(buf, this.statusStart, this.statusEnd, o, 0);
    for (let i = 0; i < count; i++) {
      const a = i * STRIDE;
      if (at[a + 4] !== Kind.Forward) continue;
      o[n++] = 0x0d;
      o[n++] = 0x0a;
      n = copy(buf, at[a]!, at[a + 1]!, o, n);
      o[n++] = 0x3a;
      o[n++] = 0x20;
      n = copy(buf, at[a + 2]!, at[a + 3]!, o, n);
    }
    w.writeStatus(o.subarray(0, n));
  }
}

/** Copies from[s, e) to `to` at `at`; returns the end. A loop: the lines are short, a native call per line costs more. */
function copy(from: Buffer, s: number, e: number, to: Buffer, at: number): number {
  for (let i = s; i < e; i++) to[at++] = from[i]!;
  return at;
}

function quote(buf: Buffer, s: number, e: number): string {
  return JSON.stringify(buf.toString('latin1', s, Math.min(e, s + 64)));
}

/** A parsed response head, as the sink gets it. `scan`'s lines are valid only during onResponseHead. */
export interface ResponseHead {
  status: number;
  bodyMode: BodyMode;
  /** The body's length when bodyMode = Length, the declared one for a HEAD response; else -1. */
  contentLength: number;
  keepAlive: boolean;
  keepAliveMs: number;
  headers: HeadScan;
}

export function protocolError(message: string): TidegateError {
  return new TidegateError('TG_ERR_UPSTREAM_PROTOCOL', message);
}

/**
 * Index of the CR of the CRLF ending the line that starts at `pos`; -1 when
 * buf[0, len) does not hold it yet. Every byte before it must be FIELD (one
 * table load per byte, the check and the search in one loop).
 */
export function lineEnd(buf: Buffer, pos: number, len: number): number {
  for (let i = pos; i < len; i++) {
    const c = buf[i]!;
    if ((HEAD_CHARS[c]! & FIELD) !== 0) continue;
    if (c === 0x0d) {
      if (i + 1 === len) return -1;
      if (buf[i + 1] !== 0x0a) throw protocolError('bare CR in the response head');
      return i;
    }
    if (c === 0x0a) throw protocolError('bare LF in the response head');
    throw protocolError(`control byte 0x${c.toString(16).padStart(2, '0')} in the response head`);
  }
  return -1;
}

/**
 * Whether buf[s, e) holds a tab. A tab after the value of a framing header
 * is refused although RFC 9110 allows it as whitespace: llhttp (node:http)
 * then reads "chunked\t" as another coding and "5\t" as no length, and a
 * response two parsers frame differently is refused, not guessed at.
 */
function tabIn(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (buf[i] === 0x09) return true;
  return false;
}

/**
 * Checks a trailer line buf[pos, eol) (its bytes already checked by
 * lineEnd): a token name, then a colon, and no framing field (RFC 9110
 * §6.5.1; llhttp refuses a Content-Length there).
 */
export function checkTrailerLine(buf: Buffer, pos: number, eol: number): void {
  let colon = pos;
  while (colon < eol && (HEAD_CHARS[buf[colon]!]! & TOKEN) !== 0) colon++;
  if (colon === pos || buf[colon] !== 0x3a) throw protocolError(`bad trailer line ${quote(buf, pos, eol)}`);
  const name = classify(buf, pos, colon - pos);
  if (name === Name.ContentLength || name === Name.TransferEncoding) throw protocolError(`framing field in the trailers: ${quote(buf, pos, eol)}`);
}

/** Whether byte `c` may appear in a token (RFC 9110 tchar). */
export function isTokenByte(c: number): boolean {
  return (HEAD_CHARS[c]! & TOKEN) !== 0;
}

/** Whether byte `c` may appear in a field value (VCHAR, obs-text, SP, HTAB). */
export function isFieldByte(c: number): boolean {
  return (HEAD_CHARS[c]! & FIELD) !== 0;
}

function digit(c: number): number {
  return c >= 0x30 && c <= 0x39 ? c - 0x30 : NaN;
}

/** Strict decimal in buf[s, e) of at most 15 digits; -1 when malformed. */
function decimal(buf: Buffer, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

const enum Name {
  Other,
  ContentLength,
  Date,
  TransferEncoding,
  Connection,
  KeepAlive,
  HopByHop,
}

const DATE = nameBytes('date');
const CONNECTION = nameBytes('connection');
const KEEP_ALIVE = nameBytes('keep-alive');
const CONTENT_LENGTH = nameBytes('content-length');
const TRANSFER_ENCODING = nameBytes('transfer-encoding');
const CHUNKED = nameBytes('chunked');

/** The names a proxy acts on, compared case-insensitively on the bytes (no string is made). */
function classify(buf: Buffer, s: number, len: number): Name {
  switch (len) {
    case 4:
      if (sameName(buf, s, DATE)) return Name.Date;
      break;
    case 10:
      if (sameName(buf, s, CONNECTION)) return Name.Connection;
      if (sameName(buf, s, KEEP_ALIVE)) return Name.KeepAlive;
      break;
    case 14:
      if (sameName(buf, s, CONTENT_LENGTH)) return Name.ContentLength;
      break;
    case 17:
      if (sameName(buf, s, TRANSFER_ENCODING)) return Name.TransferEncoding;
      break;
  }
  return isHopByHopName(buf, s, len) ? Name.HopByHop : Name.Other;
}
