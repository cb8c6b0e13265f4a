/**
 * Random HTTP/1.x responses for differential parser tests: valid ones built
 * from the grammar (RFC 9112), and mutations of them aimed at what framing
 * depends on (status line, header lines, lengths, chunk lines, CRLFs).
 * Everything comes from the given random function, so a case replays from
 * its seed.
 */

export type Rng = () => number;

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

const int = (rnd: Rng, n: number): number => Math.floor(rnd() * n);
const pick = <T>(rnd: Rng, xs: readonly T[]): T => xs[int(rnd, xs.length)]!;
const chance = (rnd: Rng, p: number): boolean => rnd() < p;

function token(rnd: Rng, min = 1, max = 12): string {
  let s = '';
  for (let n = min + int(rnd, max - min + 1); n > 0; n--) s += TCHAR[int(rnd, TCHAR.length)];
  return s;
}

/** A field value: VCHAR and obs-text with single spaces or tabs inside, as latin1. */
function fieldValue(rnd: Rng): string {
  let s = '';
  for (let n = int(rnd, 20); n > 0; n--) {
    const r = rnd();
    if (r < 0.1 && s !== '' ) s += pick(rnd, [' ', '\t']);
    else if (r < 0.2) s += String.fromCharCode(0x80 + int(rnd, 0x80));
    else s += String.fromCharCode(0x21 + int(rnd, 0x7e - 0x21 + 1));
  }
  return s.replace(/[ \t]+$/, '');
}

const OWS = ['', '', '', ' ', '  ', '\t', ' \t'];
/** After a framing header's value: tidegate refuses a tab there (llhttp misreads it), so valid responses have none. */
const TRAILING_SP = ['', '', ' ', '  '];
const REASONS = ['OK', 'Not Found', 'Some Reason', 'caf\xe9', 'a\tb', '', 'Created'];
const STATUSES = [200, 200, 200, 201, 202, 203, 204, 206, 299, 301, 302, 304, 400, 404, 418, 500, 503, 599];
const NAMES = ['Content-Type', 'X-Thing', 'Set-Cookie', 'Cache-Control', 'Vary', 'Date', 'ETag', 'Server', 'Proxy-Thing', 'Keep-Alive', 'TE', 'Trailer', 'Upgrade'];

export interface GeneratedResponse {
  bytes: Buffer;
  isHead: boolean;
}

function latin1(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

function randomBody(rnd: Rng): Buffer {
  const n = chance(rnd, 0.1) ? 0 : int(rnd, chance(rnd, 0.1) ? 3000 : 120);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = chance(rnd, 0.05) ? pick(rnd, [0x0d, 0x0a, 0x30, 0x48]) : int(rnd, 256);
  return b;
}

function chunkExtensions(rnd: Rng): string {
  let s = '';
  while (chance(rnd, 0.15)) {
    s += `;${token(rnd, 1, 6)}`;
    const r = rnd();
    if (r < 0.4) s += `=${token(rnd, 1, 6)}`;
    else if (r < 0.7) s += `="${fieldValue(rnd).replace(/["\\]/g, (c) => (chance(rnd, 0.5) ? `\\${c}` : ''))}"`;
  }
  return s;
}

function chunked(rnd: Rng, body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const n = Math.min(body.length - at, 1 + int(rnd, chance(rnd, 0.5) ? 10 : 200));
    let hex = n.toString(16);
    if (chance(rnd, 0.3)) hex = hex.toUpperCase();
    if (chance(rnd, 0.1)) hex = '0'.repeat(1 + int(rnd, 4)) + hex;
    parts.push(latin1(`${hex}${chunkExtensions(rnd)}\r\n`), body.subarray(at, at + n), latin1('\r\n'));
    at += n;
  }
  parts.push(latin1(`${chance(rnd, 0.1) ? '000' : '0'}${chunkExtensions(rnd)}\r\n`));
  while (chance(rnd, 0.2)) parts.push(latin1(`${token(rnd)}:${pick(rnd, OWS)}${fieldValue(rnd)}${pick(rnd, OWS)}\r\n`));
  parts.push(latin1('\r\n'));
  return Buffer.concat(parts);
}

function headLine(rnd: Rng): string {
  const name = chance(rnd, 0.3) ? pick(rnd, NAMES) : token(rnd);
  return `${name}:${pick(rnd, OWS)}${fieldValue(rnd)}${pick(rnd, OWS)}\r\n`;
}

function interim(rnd: Rng): string {
  const status = pick(rnd, [100, 100, 102, 103, 199]);
  let s = `HTTP/1.1 ${status} ${pick(rnd, ['Continue', 'Early Hints', ''])}\r\n`;
  for (let n = int(rnd, 3); n > 0; n--) s += chance(rnd, 0.5) ? `Link: </${token(rnd)}>; rel=preload\r\n` : headLine(rnd);
  return `${s}\r\n`;
}

/** A response that is valid HTTP/1.1 (or 1.0) and unambiguous, to a GET or a HEAD. */
export function validResponse(rnd: Rng): GeneratedResponse {
  const isHead = chance(rnd, 0.1);
  const v10 = chance(rnd, 0.1);
  const status = chance(rnd, 0.05) ? 200 + int(rnd, 400) : pick(rnd, STATUSES);
  let head = '';
  while (!v10 && chance(rnd, 0.08)) head += interim(rnd);
  const reason = pick(rnd, REASONS);
  head += `HTTP/1.${v10 ? 0 : 1} ${status}${reason === '' && chance(rnd, 0.5) ? '' : ` ${reason}`}\r\n`;
  const lines: string[] = [];
  for (let n = int(rnd, 8); n > 0; n--) lines.push(headLine(rnd));
  const connection = rnd();
  if (connection < 0.1) lines.push('Connection: close\r\n');
  else if (connection < 0.2) lines.push(`Connection: keep-alive${chance(rnd, 0.3) ? ', X-Thing' : ''}\r\n`);
  else if (connection < 0.25) lines.push(`Connection: ${token(rnd)}\r\n`);
  if (chance(rnd, 0.1)) lines.push(`Keep-Alive: timeout=${int(rnd, 10)}\r\n`);
  const body = randomBody(rnd);
  const noBody = isHead || status === 204 || status === 304;
  const framing = v10 ? pick(rnd, ['length', 'close'] as const) : pick(rnd, ['length', 'length', 'chunked', 'chunked', 'close'] as const);
  let rest: Buffer = Buffer.alloc(0);
  if (framing === 'length') {
    if (status !== 204) lines.push(`Content-Length:${pick(rnd, OWS)}${noBody && chance(rnd, 0.5) ? int(rnd, 1000) : body.length}${pick(rnd, TRAILING_SP)}\r\n`);
    if (!noBody) rest = body;
  } else if (framing === 'chunked') {
    if (status !== 204 && status !== 304) lines.push(`Transfer-Encoding:${pick(rnd, OWS)}${pick(rnd, ['chunked', 'Chunked', 'CHUNKED'])}${pick(rnd, TRAILING_SP)}\r\n`);
    if (!noBody) rest = chunked(rnd, body);
  } else if (!noBody) rest = body;
  // Shuffle the framing lines in among the others.
  for (let i = lines.length - 1; i > 0; i--) {
    const j = int(rnd, i + 1);
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
  }
  return { bytes: Buffer.concat([latin1(head + lines.join('') + '\r\n'), rest]), isHead };
}

/** Bytes that matter to HTTP/1 framing, for insertions and replacements. */
const INTERESTING = [0x00, 0x01, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x2d, 0x30, 0x31, 0x39, 0x3a, 0x3b, 0x3d, 0x41, 0x46, 0x5c, 0x61, 0x66, 0x67, 0x78, 0x7f, 0x80, 0xff];

const LINES = [
  'Content-Length: 0',
  'Content-Length: 5',
  'Content-Length: 5\t',
  'Transfer-Encoding: chunked\t',
  'Connection: close\t',
  'Connection: keep-alive\t',
  'Content-Length: 1, 1',
  'Content-Length: +3',
  'Content-Length: 99999999999999999999',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding: chunked, gzip',
  'Transfer-Encoding: identity',
  'Connection: close',
  'Connection: keep-alive',
  'Connection: upgrade',
  'Upgrade: websocket',
  ' folded',
  '\tfolded',
  'X-A : b',
  'X-A:\x00',
  'X-\xe9: b',
  ':',
  'nocolon',
];

/** A valid response with one to three mutations. */
export function mutatedResponse(rnd: Rng): GeneratedResponse {
  const base = validResponse(rnd);
  let b = base.bytes;
  const headEnd = Math.max(0, b.indexOf('\r\n\r\n') + 4);
  // Most mutations land where framing lives: the head and the chunk lines.
  const at = (): number => (chance(rnd, 0.6) && headEnd > 0 ? int(rnd, headEnd + 1) : int(rnd, b.length + 1));
  for (let n = 1 + int(rnd, 3); n > 0; n--) {
    const op = int(rnd, 10);
    const i = at();
    switch (op) {
      case 0:
      case 1: {
        if (b.length === 0) break;
        const c = Buffer.from(b);
        c[Math.min(i, b.length - 1)] = chance(rnd, 0.7) ? pick(rnd, INTERESTING) : int(rnd, 256);
        b = c;
        break;
      }
      case 2:
        b = Buffer.concat([b.subarray(0, i), Buffer.from([chance(rnd, 0.7) ? pick(rnd, INTERESTING) : int(rnd, 256)]), b.subarray(i)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, i), b.subarray(Math.min(b.length, i + 1 + int(rnd, 3)))]);
        break;
      case 4: {
        // Duplicate a line of the head.
        const s = b.lastIndexOf('\r\n', Math.max(0, i - 1));
        const e = b.indexOf('\r\n', i);
        if (s >= 0 && e > s) b = Buffer.concat([b.subarray(0, e + 2), b.subarray(s + 2, e + 2), b.subarray(e + 2)]);
        break;
      }
      case 5: {
        // Insert a framing-related header line after the status line.
        const s = b.indexOf('\r\n');
        if (s >= 0) b = Buffer.concat([b.subarray(0, s + 2), latin1(`${pick(rnd, LINES)}\r\n`), b.subarray(s + 2)]);
        break;
      }
      case 6:
        b = b.subarray(0, int(rnd, b.length + 1));
        break;
      case 7:
        b = Buffer.concat([b, latin1(pick(rnd, ['\r\n', 'H', 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled', '0\r\n\r\n', 'x']))]);
        break;
      case 8: {
        // Another status code.
        if (b.subarray(0, 5).toString() === 'HTTP/' && b.length > 12) {
          const c = Buffer.from(b);
          c.write(String(pick(rnd, [100, 101, 103, 199, 204, 304, 99, 600, 999])).padStart(3, '0'), 9, 'latin1');
          b = c;
        }
        break;
      }
      case 9: {
        // A chunk-size line changed: a digit doubled, a space, an extension broken.
        const crlf = b.indexOf('\r\n', headEnd);
        if (crlf > headEnd) b = Buffer.concat([b.subarray(0, crlf), latin1(pick(rnd, [' ', '\t', ';', ';a', ';a=', ';a="b', 'g', 'ffffffffffffffffff', ';a b'])), b.subarray(crlf)]);
        break;
      }
    }
  }
  return { bytes: b, isHead: base.isHead };
}
