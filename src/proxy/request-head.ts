import type { HttpRequest, HttpResponse } from '../shared/uws.js';
import { TidegateError } from '../shared/errors.js';
import { connectionTokens, dropHeader, INTERNAL_PREFIX } from '../upstream/hop-by-hop.js';

/** What tidegate keeps of a client request head after validating it. */
export interface RequestHead {
  method: string;
  /** Path and query exactly as the client sent them. */
  url: string;
  /** Host header, port stripped, lower-case ('' when absent). */
  host: string;
  /** Value of one request header the router consults (Knative-Serving-Tag), '' when absent. */
  tag: string;
  /**
   * Header lines for the upstream ("name: value\r\n"…): the client's, less
   * hop-by-hop and internal headers and its framing, plus X-Forwarded-*,
   * Forwarded and tidegate's own framing (`content-length: N` or
   * `transfer-encoding: chunked`), so the upstream reads exactly the body
   * tidegate streams, whatever the client's Connection header named.
   */
  headerBlock: string;
  /** -1: no body; >= 0: Content-Length. */
  contentLength: number;
  chunked: boolean;
  /**
   * The K-Proxy-Request / K-Network-Probe headers ('' when absent), never
   * forwarded. Only the queue-proxy looks at them (its requests come from
   * tidegate); at the edge they are whatever a client claimed.
   */
  proxyRequest: string;
  networkProbe: string;
  /** The peer's address as text (dotted IPv4, else IPv6), for the access log. */
  client: string;
  /**
   * The client's traceparent and tracestate ('' when absent; repeated
   * headers joined with ', '). Forwarded as they came unless the edge
   * traces (`ownTrace`): then the block leaves them out and the edge adds
   * its own, with its span as the parent.
   */
  traceparent: string;
  tracestate: string;
  /** A WebSocket upgrade: false from the reader; the proxy sets it for requests from its WebSocket route. */
  upgrade: boolean;
}

const WS_PREFIX = 'sec-websocket-';

export interface HeadLimits {
  readonly maxHeaderBytes: number;
  readonly maxBodyBytes: number;
}

/**
 * Reads and validates uWS request heads, one at a time (each read runs to the
 * end inside a uWS handler). Everything a read reuses lives in the instance,
 * not the module, so two readers (the edge's, a queue-proxy's, a test's)
 * never see each other's headers or caches.
 */
export class RequestHeadReader {
  // The uWS forEach callback is one function made here, writing into this
  // scratch state, so capturing headers allocates no closure per request.
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  /** Per header, 1 when the first pass already knows the upstream must not get it. */
  private skip = new Uint8Array(64);
  private count = 0;
  private headerBytes = 0;
  private readonly collect = (name: string, value: string): void => {
    this.names[this.count] = name;
    this.values[this.count] = value;
    this.count++;
    this.headerBytes += name.length + value.length + 4;
  };

  // The forwarding headers this reader adds, for the last (client, Host)
  // seen when the request brought none of its own: most requests repeat them.
  // The proto is the reader's own, so it is not part of the key.
  // No client's text is a NUL, so the first request never matches the empty cache
  // (a peer whose address uWS cannot give, such as a Unix socket's, reads as '').
  private lastClient = '\0';
  private lastHost = '';
  private lastAdded = '';

  // The last IPv4 client seen and its text: most requests come from the same
  // few peers (a load balancer, a load generator), and formatting costs more than comparing.
  private lastV4 = -1;
  private lastV4Text = '';

  // The last Host header seen and its routing form (port stripped, lower-case).
  private lastHostHeader = '';
  private lastHostKey = '';

  /**
   * `forwardedProto` is what X-Forwarded-Proto and Forwarded's proto= say the
   * client spoke. `address`, where the client's address comes from: `peer`,
   * the connection's own; `proxied`, the PROXY protocol header of tidegate's
   * own TLS front (tls-server.ts); `text`, the HTTP/2 stream's `remoteText`
   * (h2-exchange.ts), already text.
   */
  constructor(
    private readonly forwardedProto = 'http',
    private readonly address: 'peer' | 'proxied' | 'text' = 'peer',
  ) {}

  /**
   * Reads and validates a uWS request head; must run synchronously inside the
   * uWS handler. Throws TidegateError for requests that must be refused:
   * smuggling shapes (400), header limit (431), declared body over the limit (413).
   * One pass over the headers reads what tidegate needs and marks what never
   * crosses (framing, forwarding, internal headers); the second writes the rest.
   * `ownTrace`: the edge traces, so the client's traceparent/tracestate stay out of the block.
   */
  read(res: HttpResponse, req: HttpRequest, limits: HeadLimits, ownTrace = false): RequestHead {
    this.count = 0;
    this.headerBytes = 0;
    req.forEach(this.collect);
    const { names, values, count, headerBytes } = this;
    if (count > this.skip.length) this.skip = new Uint8Array(count * 2);
    const skip = this.skip;
    const method = req.getCaseSensitiveMethod();
    const query = req.getQuery();
    const url = query ? `${req.getUrl()}?${query}` : req.getUrl();
    if (headerBytes + url.length > limits.maxHeaderBytes) {
      throw new TidegateError('TG_ERR_HEADERS_TOO_LARGE', `request headers of ${headerBytes + url.length} bytes exceed the ${limits.maxHeaderBytes}-byte limit`);
    }

    let hostHeader = '';
    let tag = '';
    let contentLength = -1;
    let chunked = false;
    let tokens: Set<string> | null = null;
    let xff = '';
    let forwarded = '';
    let proxyRequest = '';
    let networkProbe = '';
    let traceparent = '';
    let tracestate = '';
    const traceDrop = ownTrace ? 1 : 0;
    let hosts = 0;
    for (let i = 0; i < count; i++) {
      const name = names[i]!;
      const value = values[i]!;
      let drop = 0;
      switch (name) {
        case 'host':
          hostHeader = value;
          hosts++;
          break;
        case 'content-length': {
          const n = parseContentLength(value.trim());
          if (n < 0) throw new TidegateError('TG_ERR_SMUGGLING', `bad Content-Length ${JSON.stringify(value)}`);
          if (contentLength >= 0 && contentLength !== n) throw new TidegateError('TG_ERR_SMUGGLING', 'conflicting Content-Length headers');
          contentLength = n;
          drop = 1; // the block gets tidegate's own, once
          break;
        }
        case 'transfer-encoding':
          if (chunked || value.trim().toLowerCase() !== 'chunked') {
            throw new TidegateError('TG_ERR_SMUGGLING', `unsupported Transfer-Encoding ${JSON.stringify(value)}`);
          }
          chunked = true;
          drop = 1; // hop-by-hop; the block gets tidegate's own
          break;
        case 'connection': {
          // Every Connection header counts: a name listed only in the second is not forwarded either.
          const listed = connectionTokens(value);
          if (tokens === null) tokens = listed;
          else if (listed !== null) for (const t of listed) tokens.add(t);
          drop = 1;
          break;
        }
        case 'x-forwarded-for':
          xff = xff ? `${xff}, ${value}` : value;
          drop = 1;
          break;
        case 'forwarded':
          forwarded = forwarded ? `${forwarded}, ${value}` : value;
          drop = 1;
          break;
        case 'x-forwarded-proto':
        case 'x-forwarded-host': // replaced by tidegate's own
        case 'expect':
          drop = 1;
          break;
        case 'knative-serving-tag':
          tag = value;
          break;
        case 'traceparent':
          traceparent = traceparent ? `${traceparent}, ${value}` : value;
          drop = traceDrop;
          break;
        case 'tracestate':
          tracestate = tracestate ? `${tracestate},${value}` : value;
          drop = traceDrop;
          break;
        // Internal headers (INTERNAL_HEADERS): only tidegate sets them, so what a client sent never crosses.
        case 'k-proxy-request':
          proxyRequest = value;
          drop = 1;
          break;
        case 'k-network-probe':
          networkProbe = value;
          drop = 1;
          break;
        case 'k-network-hash':
        case 'k-original-host':
          drop = 1;
          break;
        default:
          if (name.length >= INTERNAL_PREFIX.length && name.startsWith(INTERNAL_PREFIX)) drop = 1;
          // A WebSocket's handshake is per hop: each hop has its own key, and no extension is offered to the
          // pod; only the subprotocols cross. (Here, not as cases: every header pays for each case before it.)
          else if (name.length >= WS_PREFIX.length && name.startsWith(WS_PREFIX) && name !== 'sec-websocket-protocol') drop = 1;
      }
      skip[i] = drop;
    }
    if (chunked && contentLength >= 0) throw new TidegateError('TG_ERR_SMUGGLING', 'both Content-Length and Transfer-Encoding');
    if (hosts > 1) throw new TidegateError('TG_ERR_BAD_REQUEST', 'more than one Host header');
    if (contentLength > limits.maxBodyBytes) {
      throw new TidegateError('TG_ERR_BODY_TOO_LARGE', `Content-Length ${contentLength} exceeds the ${limits.maxBodyBytes}-byte body limit`);
    }

    let block = '';
    for (let i = 0; i < count; i++) {
      if (skip[i] === 1) continue;
      const name = names[i]!;
      if (dropHeader(name, tokens)) continue;
      block += `${name}: ${values[i]}\r\n`;
    }
    const client = this.clientAddress(res);
    block += this.forwardingHeaders(client, hostHeader, xff, forwarded);
    // The framing is tidegate's: it streams exactly this body (re-chunked when chunked).
    if (chunked) block += 'transfer-encoding: chunked\r\n';
    else if (contentLength >= 0) block += `content-length: ${contentLength}\r\n`;

    return {
      method,
      url,
      host: this.hostKey(hostHeader),
      tag,
      headerBlock: block,
      contentLength,
      chunked,
      proxyRequest,
      networkProbe,
      client,
      traceparent,
      tracestate,
      upgrade: false,
    };
  }

  /** The peer's address as text: dotted IPv4 (also for IPv4-mapped IPv6), else uWS's IPv6 text. */
  clientAddress(res: HttpResponse): string {
    // Decided by the reader, not by asking `res`: a property uWS's HttpResponse lacks costs a slow lookup per request.
    if (this.address === 'text') return (res as unknown as { remoteText: string }).remoteText;
    // The TLS front's PROXY header names the client; a connection without one (not the front's) is the peer itself.
    const proxied = this.address === 'proxied' ? new Uint8Array(res.getProxiedRemoteAddress()) : null;
    const viaHeader = proxied !== null && proxied.length > 0;
    const b = viaHeader ? proxied : new Uint8Array(res.getRemoteAddress());
    let o = -1;
    if (b.length === 4) o = 0;
    else if (b.length === 16 && isV4Mapped(b)) o = 12;
    if (o < 0) return Buffer.from(viaHeader ? res.getProxiedRemoteAddressAsText() : res.getRemoteAddressAsText()).toString('latin1');
    const v4 = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    if (v4 !== this.lastV4) {
      this.lastV4 = v4;
      this.lastV4Text = `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
    }
    return this.lastV4Text;
  }

  private forwardingHeaders(client: string, hostHeader: string, xff: string, forwarded: string): string {
    const own = xff === '' && forwarded === '';
    if (own && client === this.lastClient && hostHeader === this.lastHost) return this.lastAdded;
    const proto = this.forwardedProto;
    const me = `for=${client.includes(':') ? `"[${client}]"` : client};proto=${proto}${hostHeader ? `;host=${hostHeader}` : ''}`;
    const added =
      `x-forwarded-for: ${xff ? `${xff}, ${client}` : client}\r\nx-forwarded-proto: ${proto}\r\n` +
      (hostHeader ? `x-forwarded-host: ${hostHeader}\r\n` : '') +
      `forwarded: ${forwarded ? `${forwarded}, ${me}` : me}\r\n`;
    if (own) {
      this.lastClient = client;
      this.lastHost = hostHeader;
      // Kept flat: a string built by concatenation is a tree that every request head using it would walk again.
      this.lastAdded = Buffer.from(added).toString();
    }
    return added;
  }

  private hostKey(hostHeader: string): string {
    if (hostHeader !== this.lastHostHeader) {
      this.lastHostHeader = hostHeader;
      this.lastHostKey = stripPort(hostHeader).toLowerCase();
    }
    return this.lastHostKey;
  }
}

/** ::ffff:a.b.c.d */
function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** "Example.com:8080" → "Example.com"; "[::1]:80" → "[::1]". */
export function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(0, end + 1) : host;
  }
  const colon = host.indexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

/** Strict decimal Content-Length; -1 when malformed. */
export function parseContentLength(value: string): number {
  if (value.length === 0 || value.length > 15 || !/^\d+$/.test(value)) return -1;
  return Number(value);
}
