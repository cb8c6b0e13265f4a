/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) are about one connection and must not
 * be forwarded. This is the one helper every path uses, requests and
 * responses, edge and queue-proxy alike.
 */
const ALWAYS = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'http2-settings',
]);

/** The lengths of the names in ALWAYS: most names are ruled out by length alone, before any hashing. */
const ALWAYS_LENGTHS = new Set([...ALWAYS].map((n) => n.length));

/** True for a lower-case header name that never crosses a hop. */
export function isHopByHop(name: string): boolean {
  return (ALWAYS_LENGTHS.has(name.length) && ALWAYS.has(name)) || name.startsWith('proxy-');
}

/** A lower-case header name as bytes, for comparing with bytes off the wire. */
export function nameBytes(name: string): Uint8Array {
  return Uint8Array.from(name, (c) => c.charCodeAt(0));
}

const ALWAYS_BY_LENGTH = new Map<number, Uint8Array[]>();
for (const name of ALWAYS) ALWAYS_BY_LENGTH.set(name.length, [...(ALWAYS_BY_LENGTH.get(name.length) ?? []), nameBytes(name)]);
const PROXY_ = nameBytes('proxy-');

/** isHopByHop for the name in buf[s, s + len), any case, without making a string of it. */
export function isHopByHopName(buf: Uint8Array, s: number, len: number): boolean {
  const candidates = ALWAYS_BY_LENGTH.get(len);
  if (candidates !== undefined) for (const name of candidates) if (sameName(buf, s, name)) return true;
  return len >= 6 && sameName(buf, s, PROXY_);
}

/**
 * Whether buf[s…] holds `name` (lower-case bytes), ignoring ASCII case.
 * Folding with | 0x20 is exact for letters. For the other bytes the names
 * hold it also lets one control byte through ('-' matches CR 0x0D, '2'
 * matches 0x12), which never occurs where this is called: header names were
 * checked to be tokens first, and the one value compared ("chunked") is all
 * letters.
 * Bytes, not a string: charCodeAt on the many kinds of V8 string costs a
 * generic property lookup per character in optimized code.
 */
export function sameName(buf: Uint8Array, s: number, name: Uint8Array): boolean {
  for (let i = 0; i < name.length; i++) if ((buf[s + i]! | 0x20) !== name[i]) return false;
  return true;
}

/**
 * The extra names a Connection header lists ("close, x-foo"), lower-cased;
 * null when it lists none beyond the standard tokens. Names that frame or
 * route the message (Content-Length, Transfer-Encoding, Host) are never
 * taken: `Connection: content-length` made the edge drop the length and
 * stream the body, which the pod then read as a second request.
 */
export function connectionTokens(value: string): Set<string> | null {
  const plain = value.toLowerCase();
  if (plain === 'keep-alive' || plain === 'close') return null; // nearly every Connection header
  let set: Set<string> | null = null;
  for (const raw of value.split(',')) {
    const token = raw.trim().toLowerCase();
    if (token === '' || token === 'close' || token === 'keep-alive' || NEVER_LISTED.has(token)) continue;
    (set ??= new Set()).add(token);
  }
  return set;
}

const NEVER_LISTED = new Set(['content-length', 'transfer-encoding', 'host']);

/**
 * Headers tidegate's parts send each other (edge → queue-proxy), removed
 * from every request a client sends: only tidegate sets them. Matched in
 * RequestHeadReader.read's one pass over the headers (src/proxy/request-head.ts;
 * keep the two lists equal).
 */
export const INTERNAL_HEADERS: readonly string[] = ['k-proxy-request', 'k-network-probe', 'k-network-hash', 'k-original-host'];
/** And every header whose name starts with this. */
export const INTERNAL_PREFIX = 'x-tidegate-';

/** Whether a header must be dropped, given the Connection tokens of the same message. */
export function dropHeader(name: string, tokens: Set<string> | null): boolean {
  return isHopByHop(name) || (tokens !== null && tokens.has(name));
}
