import { STATUS_CODES } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http2';
import type { HeadWriter, HeadScratch } from './response-head.js';
import { BodyMode } from './response-head.js';
import type { ResponseHeaders, ResponseTrailers, UpstreamRequest, UpstreamResponseHead } from './dispatcher.js';
import { connectionTokens, isHopByHop } from './hop-by-hop.js';

/**
 * Request fields HTTP/2 forbids (RFC 9113 §8.2.2) or that only framed the
 * HTTP/1.1 hop: never sent to an h2c pod. `te` is handled on its own (only
 * "trailers" may cross), `host` becomes `:authority`.
 */
const DROPPED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/**
 * The HTTP/2 request headers for one dispatch: the pseudo-headers, then the
 * validated head's lines (names lower-cased, connection-specific ones and
 * those a Connection header lists dropped), then this hop's own lines.
 * Repeated fields are joined (cookie with "; ", the rest with ", "), as
 * node:http2 refuses an array for its single-value fields. A gRPC request
 * always says `te: trailers` (gRPC servers require it; the edge's reader drops
 * TE as hop-by-hop).
 */
export function h2RequestHeaders(req: UpstreamRequest, extraHeaders: string, defaultAuthority: string): OutgoingHttpHeaders {
  const h: Record<string, string> = { ':method': req.method, ':path': req.url, ':scheme': 'http', ':authority': defaultAuthority };
  const tokens = addLines(h, req.headerBlock);
  // Only the client's own fields can be named by its Connection header, not this hop's.
  if (tokens !== null) for (const name of tokens) if (name.charCodeAt(0) !== 0x3a) delete h[name];
  if (extraHeaders.length > 0) addLines(h, extraHeaders);
  const type = h['content-type'];
  if (type !== undefined && type.startsWith('application/grpc')) h.te = 'trailers';
  return h;
}

/** Adds "name: value\r\n" lines to `h`; returns the names Connection headers listed (or null). */
function addLines(h: Record<string, string>, block: string): Set<string> | null {
  let tokens: Set<string> | null = null;
  let pos = 0;
  while (pos < block.length) {
    let eol = block.indexOf('\r\n', pos);
    if (eol < 0) eol = block.length;
    const colon = block.indexOf(':', pos);
    if (colon > pos && colon < eol) {
      const name = block.slice(pos, colon).toLowerCase();
      const value = block.slice(colon + 1, eol).trim();
      if (name.charCodeAt(0) === 0x3a) {
        // a pseudo-header inside a head block: not the client's to set
      } else if (name === 'host') {
        h[':authority'] = value;
      } else if (name === 'te') {
        if (/(?:^|,)\s*trailers\s*(?:;|,|$)/i.test(value)) h.te = 'trailers';
      } else if (name === 'connection') {
        const listed = connectionTokens(value);
        if (listed !== null) {
          if (tokens === null) tokens = listed;
          else for (const t of listed) tokens.add(t);
        }
      } else if (!DROPPED.has(name)) {
        const had = h[name];
        h[name] = had === undefined ? value : had + (name === 'cookie' ? '; ' : ', ') + value;
      }
    }
    pos = eol + 2;
  }
  return tokens;
}

/** "200 OK", "299 " for a code without a reason phrase: the status text uWS puts after "HTTP/1.1 ". */
const statusTexts = new Map<number, string>();
function statusText(status: number): string {
  let text = statusTexts.get(status);
  if (text === undefined) {
    text = `${status} ${STATUS_CODES[status] ?? ''}`;
    if (statusTexts.size < 1000) statusTexts.set(status, text);
  }
  return text;
}

/** A response field that does not reach the client as is: pseudo-headers, connection-specific ones, and the two uWS writes itself. */
function dropped(name: string): boolean {
  return name.charCodeAt(0) === 0x3a || name === 'content-length' || name === 'date' || isHopByHop(name);
}

/**
 * An h2c pod's response head as UpstreamResponseHead: node:http2's flat raw
 * list [name, value, …] (names lower-case, values checked by nghttp2: no
 * CR, LF, NUL or other control byte), read in place. One per dispatcher,
 * reused for every response: valid only during onResponseStart.
 */
export class H2ResponseHead implements UpstreamResponseHead, ResponseHeaders {
  status = 0;
  bodyMode = BodyMode.None;
  contentLength = -1;
  readonly headers: ResponseHeaders = this;
  private raw: readonly string[] = [];

  constructor(private readonly scratch: HeadScratch) {}

  /**
   * Takes a response's raw list. `noBody`: a HEAD request, or a HEADERS
   * frame that ended the stream. Returns false for a content-length that is
   * not a plain decimal (nghttp2 itself checks the body against a good one).
   */
  set(status: number, raw: readonly string[], noBody: boolean): boolean {
    this.status = status;
    this.raw = raw;
    let length = -1;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i] !== 'content-length') continue;
      const v = raw[i + 1]!;
      if (length >= 0 || !/^\d{1,15}$/.test(v)) return false;
      length = Number(v);
    }
    if (noBody || status === 204 || status === 304 || length === 0) {
      this.bodyMode = BodyMode.None;
      this.contentLength = noBody ? length : -1;
    } else if (length > 0) {
      this.bodyMode = BodyMode.Length;
      this.contentLength = length;
    } else {
      // No length: the client side frames it (chunked for HTTP/1.1, DATA frames for HTTP/2).
      this.bodyMode = BodyMode.Chunked;
      this.contentLength = -1;
    }
    return true;
  }

  /** Lets go of the raw list once onResponseStart returned. */
  clear(): void {
    this.raw = [];
  }

  find(name: Uint8Array): string | null {
    const raw = this.raw;
    for (let i = 0; i < raw.length; i += 2) if (sameString(raw[i]!, name)) return raw[i + 1]!;
    return null;
  }

  /** The same bytes as HeadScan.writeTo: "200 OK\r\nname: value\r\nname: value" (no final CRLF), one writeStatus call. */
  writeTo(w: HeadWriter): void {
    const raw = this.raw;
    const status = statusText(this.status);
    let size = status.length;
    for (let i = 0; i < raw.length; i += 2) if (!dropped(raw[i]!)) size += raw[i]!.length + raw[i + 1]!.length + 4;
    const o = this.scratch.take(size);
    let n = o.write(status, 0, 'latin1');
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (dropped(name)) continue;
      o[n++] = 0x0d;
      o[n++] = 0x0a;
      n += o.write(name, n, 'latin1');
      o[n++] = 0x3a;
      o[n++] = 0x20;
      n += o.write(raw[i + 1]!, n, 'latin1');
    }
    w.writeStatus(o.subarray(0, n));
  }
}

/** A pod's trailers from node:http2's raw list: pseudo-headers, connection-specific and framing fields dropped, repeats in order. */
export function h2Trailers(raw: readonly string[]): ResponseTrailers {
  const t: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 0x3a || name === 'content-length' || isHopByHop(name)) continue;
    const value = raw[i + 1]!;
    const had = t[name];
    if (had === undefined) t[name] = value;
    else if (typeof had === 'string') t[name] = [had, value];
    else had.push(value);
  }
  return t;
}

function sameString(s: string, name: Uint8Array): boolean {
  if (s.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (s.charCodeAt(i) !== name[i]) return false;
  return true;
}
