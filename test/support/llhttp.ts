import { createRequire } from 'node:module';

/**
 * Node's own HTTP/1 parser (llhttp, strict, as node:http's client runs it)
 * on one response, for differential tests. It reaches llhttp through
 * `_http_common`'s HTTPParser, the binding node:http itself uses.
 */

interface NodeHTTPParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): undefined | Error;
  close(): void;
  [key: number]: unknown;
}

interface HTTPParserClass {
  new (): NodeHTTPParser;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}

const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: HTTPParserClass };

export interface LlhttpVerdict {
  /** The final response (not a 1xx) was complete. */
  ok: boolean;
  /** It was a 101: llhttp hands the connection over as an upgrade. */
  upgrade: boolean;
  status: number;
  reason: string;
  /** Name and value pairs of the final head, as llhttp reports them. */
  headers: string[];
  body: Buffer;
  /** Bytes the response took, interim responses included (all of them when it ended with the connection). */
  end: number;
  /** The body ended with the connection. */
  eof: boolean;
  keepAlive: boolean;
  error: string | null;
}

/**
 * Parses `bytes` as the response to one request (a HEAD when `isHead`), then
 * as if the connection closed after them. `end` is found by parsing again:
 * `endHint` (where another parser ended it) is checked with two runs on
 * prefixes, else the bytes are fed one per execute() until it completes.
 */
export function llhttpResponse(bytes: Buffer, isHead: boolean, endHint = -1): LlhttpVerdict {
  const v = parse(bytes, isHead, 'whole');
  if (!v.ok || v.eof || v.upgrade) return v;
  if (endHint > 0 && endHint <= bytes.length && parse(bytes.subarray(0, endHint), isHead, 'prefix').ok && !parse(bytes.subarray(0, endHint - 1), isHead, 'prefix').ok) v.end = endHint;
  else v.end = parse(bytes, isHead, 'bytewise').end;
  return v;
}

/** whole: one execute, then finish; prefix: one execute; bytewise: one byte per execute, then finish. */
function parse(bytes: Buffer, isHead: boolean, mode: 'whole' | 'prefix' | 'bytewise'): LlhttpVerdict {
  const v: LlhttpVerdict = { ok: false, upgrade: false, status: 0, reason: '', headers: [], body: Buffer.alloc(0), end: -1, eof: false, keepAlive: false, error: null };
  const parser = new HTTPParser();
  let final = false;
  let pending: string[] = [];
  const bodies: Buffer[] = [];
  let at = 0;
  parser[HTTPParser.kOnHeaders] = (headers: string[]) => {
    if (!final) pending = pending.concat(headers); // a long head comes in parts; after the final head, these are trailers
  };
  parser[HTTPParser.kOnHeadersComplete] = (_maj: number, _min: number, headers: string[] | undefined, _m: unknown, _u: unknown, status: number, reason: string, _upgrade: boolean, keepAlive: boolean) => {
    const all = pending.concat(headers ?? []);
    pending = [];
    const interim = status >= 100 && status < 200 && status !== 101;
    if (!final && !interim) {
      final = true;
      v.status = status;
      v.reason = reason;
      v.headers = all;
      v.keepAlive = keepAlive;
      v.upgrade = status === 101;
    }
    // What node:http's client answers: no body for 1xx, HEAD and 304.
    return interim || isHead || status === 304 ? 1 : 0;
  };
  parser[HTTPParser.kOnBody] = (chunk: Buffer) => {
    if (final && !v.ok) bodies.push(Buffer.from(chunk));
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    if (final && !v.ok) {
      v.ok = true;
      v.end = at;
    }
  };
  parser.initialize(HTTPParser.RESPONSE, {}, 1024 * 1024, 0);
  const fail = (r: unknown): boolean => {
    if (!(r instanceof Error)) return false;
    v.error = (r as Error & { code?: string }).code ?? r.message;
    return true;
  };
  try {
    if (mode === 'bytewise') {
      for (let i = 0; i < bytes.length && !v.ok && !v.upgrade; i++) {
        at = i + 1;
        if (fail(parser.execute(bytes.subarray(i, i + 1)))) break;
      }
    } else {
      at = -1; // not known from one execute
      const r = parser.execute(bytes);
      // An error after the final response completed is about the bytes that follow it.
      if (!v.ok) fail(r);
    }
    if (mode !== 'prefix' && !v.ok && v.error === null && !v.upgrade) {
      at = bytes.length;
      if (!fail(parser.finish()) && v.ok) v.eof = true;
    }
  } finally {
    parser.close();
  }
  if (!v.ok && v.error === null && !v.upgrade) v.error = 'incomplete';
  v.body = Buffer.concat(bodies);
  return v;
}
