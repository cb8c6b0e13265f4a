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

/** True for a lower-case header name that never crosses a hop. */
export function isHopByHop(name: string): boolean {
  return ALWAYS.has(name) || name.startsWith('proxy-');
}

/**
 * The extra names a Connection header lists ("close, x-foo"), lower-cased;
 * null when it lists none beyond the standard tokens.
 */
export function connectionTokens(value: string): Set<string> | null {
  let set: Set<string> | null = null;
  for (const raw of value.split(',')) {
    const token = raw.trim().toLowerCase();
    if (token === '' || token === 'close' || token === 'keep-alive') continue;
    (set ??= new Set()).add(token);
  }
  return set;
}

/** Whether a header must be dropped, given the Connection tokens of the same message. */
export function dropHeader(name: string, tokens: Set<string> | null): boolean {
  return isHopByHop(name) || (tokens !== null && tokens.has(name));
}
