import { describe, expect, it } from 'vitest';
import type { HttpRequest, HttpResponse } from '../../src/shared/uws.js';
import { TidegateError } from '../../src/shared/errors.js';
import { INTERNAL_HEADERS } from '../../src/upstream/hop-by-hop.js';
import { RequestHeadReader, type HeadLimits, type RequestHead } from '../../src/proxy/request-head.js';

// The framing and forwarding decisions of a request head, without sockets:
// a fake of the few uWS HttpRequest/HttpResponse calls the reader makes.
// Header names come lower-cased, as uWS hands them to forEach.

type Headers = readonly (readonly [string, string])[];

interface FakeRequest {
  headers: Headers;
  method?: string;
  url?: string;
  query?: string;
  /** Runs between two forEach callbacks (after the first), to interleave another read. */
  during?: () => void;
}

function fakeReq({ headers, method = 'GET', url = '/', query = '', during }: FakeRequest): HttpRequest {
  const req = {
    forEach(cb: (name: string, value: string) => void) {
      headers.forEach(([n, v], i) => {
        cb(n, v);
        if (i === 0) during?.();
      });
    },
    getCaseSensitiveMethod: () => method,
    getUrl: () => url,
    getQuery: () => query,
    getHeader: (name: string) => headers.find(([n]) => n === name)?.[1] ?? '',
  };
  return req as unknown as HttpRequest;
}

const ab = (bytes: number[]) => Uint8Array.from(bytes).buffer;
const text = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0)).buffer;

/** A peer: 4 bytes (IPv4) or 16 (IPv6), and the text uWS gives for it. */
function fakeRes(address: number[], asText = ''): HttpResponse {
  const res = { getRemoteAddress: () => ab(address), getRemoteAddressAsText: () => text(asText) };
  return res as unknown as HttpResponse;
}

const V4 = [10, 0, 0, 1];
const V6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_TEXT = '2001:db8::1';
const LIMITS: HeadLimits = { maxHeaderBytes: 16 * 1024, maxBodyBytes: 1024 * 1024 };

/** What tidegate adds for client 10.0.0.1, Host example.com, no forwarding headers of the client's. */
const FWD = ['x-forwarded-for: 10.0.0.1', 'x-forwarded-proto: http', 'x-forwarded-host: example.com', 'forwarded: for=10.0.0.1;proto=http;host=example.com'];

function lines(block: string): string[] {
  expect(block.endsWith('\r\n') || block === '').toBe(true);
  return block.split('\r\n').slice(0, -1);
}

/** The code of the TidegateError `fn` throws, or 'accepted'. */
function outcome(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof TidegateError) return e.code;
    throw e;
  }
  return 'accepted';
}

function read(headers: Headers, opts: { limits?: HeadLimits; ownTrace?: boolean; reader?: RequestHeadReader; res?: HttpResponse } = {}): RequestHead {
  const reader = opts.reader ?? new RequestHeadReader();
  return reader.read(opts.res ?? fakeRes(V4), fakeReq({ headers }), opts.limits ?? LIMITS, opts.ownTrace ?? false);
}

const H = ['host', 'example.com'] as const;

describe('framing: what the upstream is told about the body', () => {
  // Every row's request also has Host: example.com first; `kept` are the client's lines forwarded before tidegate's.
  type Accepted = { contentLength: number; chunked: boolean; kept?: string[]; framing: string[] };
  const rows: { name: string; headers: Headers; limits?: HeadLimits; want: Accepted | string }[] = [
    { name: 'no body', headers: [], want: { contentLength: -1, chunked: false, framing: [] } },
    { name: 'one Content-Length', headers: [['content-length', '5']], want: { contentLength: 5, chunked: false, framing: ['content-length: 5'] } },
    { name: 'Content-Length 0', headers: [['content-length', '0']], want: { contentLength: 0, chunked: false, framing: ['content-length: 0'] } },
    { name: 'two equal Content-Lengths collapse to one', headers: [['content-length', '5'], ['content-length', '5']], want: { contentLength: 5, chunked: false, framing: ['content-length: 5'] } },
    { name: 'two different Content-Lengths', headers: [['content-length', '5'], ['content-length', '6']], want: 'TG_ERR_SMUGGLING' },
    // Whitespace around a value is not part of it (RFC 9110 §5.5); uWS strips it before the reader sees it anyway.
    { name: 'Content-Length " 1" (optional whitespace)', headers: [['content-length', ' 1']], want: { contentLength: 1, chunked: false, framing: ['content-length: 1'] } },
    { name: 'Content-Length "1 1"', headers: [['content-length', '1 1']], want: 'TG_ERR_SMUGGLING' },
    { name: 'Content-Length "+1"', headers: [['content-length', '+1']], want: 'TG_ERR_SMUGGLING' },
    { name: 'Content-Length "-1"', headers: [['content-length', '-1']], want: 'TG_ERR_SMUGGLING' },
    { name: 'Content-Length "1e3"', headers: [['content-length', '1e3']], want: 'TG_ERR_SMUGGLING' },
    { name: 'Content-Length "0x10"', headers: [['content-length', '0x10']], want: 'TG_ERR_SMUGGLING' },
    { name: 'Content-Length "1.0"', headers: [['content-length', '1.0']], want: 'TG_ERR_SMUGGLING' },
    { name: 'Content-Length ""', headers: [['content-length', '']], want: 'TG_ERR_SMUGGLING' },
    { name: 'Content-Length "5, 5" (a list in one header)', headers: [['content-length', '5, 5']], want: 'TG_ERR_SMUGGLING' },
    { name: 'Content-Length of 16 digits', headers: [['content-length', '1000000000000000']], want: 'TG_ERR_SMUGGLING' },
    {
      name: 'Content-Length of 15 digits is a number (then over the body limit)',
      headers: [['content-length', '999999999999999']],
      limits: { maxHeaderBytes: 1024, maxBodyBytes: 1e15 },
      want: { contentLength: 999999999999999, chunked: false, framing: ['content-length: 999999999999999'] },
    },
    { name: 'Transfer-Encoding chunked', headers: [['transfer-encoding', 'chunked']], want: { contentLength: -1, chunked: true, framing: ['transfer-encoding: chunked'] } },
    { name: 'Transfer-Encoding Chunked', headers: [['transfer-encoding', 'Chunked']], want: { contentLength: -1, chunked: true, framing: ['transfer-encoding: chunked'] } },
    { name: 'Transfer-Encoding CHUNKED', headers: [['transfer-encoding', 'CHUNKED']], want: { contentLength: -1, chunked: true, framing: ['transfer-encoding: chunked'] } },
    { name: 'Transfer-Encoding "chunked, identity"', headers: [['transfer-encoding', 'chunked, identity']], want: 'TG_ERR_SMUGGLING' },
    { name: 'Transfer-Encoding "gzip, chunked"', headers: [['transfer-encoding', 'gzip, chunked']], want: 'TG_ERR_SMUGGLING' },
    { name: 'Transfer-Encoding identity', headers: [['transfer-encoding', 'identity']], want: 'TG_ERR_SMUGGLING' },
    { name: 'two Transfer-Encoding headers', headers: [['transfer-encoding', 'chunked'], ['transfer-encoding', 'chunked']], want: 'TG_ERR_SMUGGLING' },
    { name: 'Content-Length then Transfer-Encoding', headers: [['content-length', '5'], ['transfer-encoding', 'chunked']], want: 'TG_ERR_SMUGGLING' },
    { name: 'Transfer-Encoding then Content-Length', headers: [['transfer-encoding', 'chunked'], ['content-length', '5']], want: 'TG_ERR_SMUGGLING' },
    { name: 'two Host headers', headers: [['host', 'other.example.com']], want: 'TG_ERR_BAD_REQUEST' },
    { name: 'two equal Host headers', headers: [['host', 'example.com']], want: 'TG_ERR_BAD_REQUEST' },
    // Host: example.com is 4 + 11 + 4 bytes, the URL "/" one more: 20 in all.
    { name: 'head exactly at maxHeaderBytes', headers: [], limits: { maxHeaderBytes: 20, maxBodyBytes: 100 }, want: { contentLength: -1, chunked: false, framing: [] } },
    { name: 'head one byte over maxHeaderBytes', headers: [], limits: { maxHeaderBytes: 19, maxBodyBytes: 100 }, want: 'TG_ERR_HEADERS_TOO_LARGE' },
    { name: 'Content-Length at maxBodyBytes', headers: [['content-length', '100']], limits: { maxHeaderBytes: 1024, maxBodyBytes: 100 }, want: { contentLength: 100, chunked: false, framing: ['content-length: 100'] } },
    { name: 'Content-Length over maxBodyBytes', headers: [['content-length', '101']], limits: { maxHeaderBytes: 1024, maxBodyBytes: 100 }, want: 'TG_ERR_BODY_TOO_LARGE' },
    { name: 'chunked is not refused by maxBodyBytes up front', headers: [['transfer-encoding', 'chunked']], limits: { maxHeaderBytes: 1024, maxBodyBytes: 0 }, want: { contentLength: -1, chunked: true, framing: ['transfer-encoding: chunked'] } },
    // Connection may not take away the framing or the routing (issue 9, finding 1).
    {
      name: 'Connection: content-length keeps the length',
      headers: [['connection', 'content-length'], ['content-length', '5']],
      want: { contentLength: 5, chunked: false, framing: ['content-length: 5'] },
    },
    {
      name: 'Connection: transfer-encoding keeps the chunking',
      headers: [['connection', 'Transfer-Encoding'], ['transfer-encoding', 'chunked']],
      want: { contentLength: -1, chunked: true, framing: ['transfer-encoding: chunked'] },
    },
    { name: 'Connection: host keeps Host', headers: [['connection', 'close, host']], want: { contentLength: -1, chunked: false, framing: [] } },
    {
      name: 'Connection: x-foo drops X-Foo, wherever it is',
      headers: [['x-foo', '1'], ['x-bar', '2'], ['connection', 'keep-alive, X-Foo'], ['x-foo', '3']],
      want: { contentLength: -1, chunked: false, kept: ['x-bar: 2'], framing: [] },
    },
    {
      name: 'two Connection headers: the names of both are dropped',
      headers: [['connection', 'x-foo'], ['x-foo', '1'], ['connection', 'x-bar'], ['x-bar', '2'], ['x-kept', '3']],
      want: { contentLength: -1, chunked: false, kept: ['x-kept: 3'], framing: [] },
    },
    {
      name: 'a WebSocket handshake is per hop: only the subprotocols cross',
      headers: [['sec-websocket-key', 'a2V5'], ['sec-websocket-version', '13'], ['sec-websocket-extensions', 'permessage-deflate'], ['sec-websocket-protocol', 'chat'], ['x-kept', '1']],
      want: { contentLength: -1, chunked: false, kept: ['sec-websocket-protocol: chat', 'x-kept: 1'], framing: [] },
    },
    { name: 'Connection: close drops only itself', headers: [['connection', 'close'], ['x-bar', '2']], want: { contentLength: -1, chunked: false, kept: ['x-bar: 2'], framing: [] } },
    {
      name: 'hop-by-hop headers are dropped',
      headers: [['keep-alive', 'timeout=5'], ['te', 'trailers'], ['trailer', 'x-t'], ['upgrade', 'h2c'], ['http2-settings', 'AAA'], ['proxy-connection', 'keep-alive'], ['proxy-authorization', 'Basic x'], ['proxy-anything', '1'], ['x-kept', 'y']],
      want: { contentLength: -1, chunked: false, kept: ['x-kept: y'], framing: [] },
    },
    { name: 'Expect is dropped', headers: [['expect', '100-continue'], ['content-length', '3']], want: { contentLength: 3, chunked: false, framing: ['content-length: 3'] } },
    {
      name: 'X-Forwarded-Proto and X-Forwarded-Host are replaced',
      headers: [['x-forwarded-proto', 'https'], ['x-forwarded-host', 'evil.example']],
      want: { contentLength: -1, chunked: false, framing: [] },
    },
  ];

  for (const row of rows) {
    it(row.name, () => {
      const headers: Headers = [H, ...row.headers];
      const limits = row.limits ?? LIMITS;
      if (typeof row.want === 'string') {
        expect(outcome(() => read(headers, { limits }))).toBe(row.want);
        return;
      }
      const head = read(headers, { limits });
      expect({ contentLength: head.contentLength, chunked: head.chunked }).toEqual({ contentLength: row.want.contentLength, chunked: row.want.chunked });
      expect(lines(head.headerBlock)).toEqual(['host: example.com', ...(row.want.kept ?? []), ...FWD, ...row.want.framing]);
    });
  }
});

describe('headers only tidegate sets', () => {
  it('are dropped, and K-Proxy-Request / K-Network-Probe are read', () => {
    const head = read([
      H,
      ['k-proxy-request', 'activator'],
      ['k-network-probe', 'queue'],
      ['k-network-hash', 'abc'],
      ['k-original-host', 'evil.example'],
      ['x-tidegate-anything', '1'],
      ['x-tidegate-', '2'],
      ['x-tidegate', 'not internal: no dash'],
    ]);
    expect(head.proxyRequest).toBe('activator');
    expect(head.networkProbe).toBe('queue');
    expect(lines(head.headerBlock)).toEqual(['host: example.com', 'x-tidegate: not internal: no dash', ...FWD]);
  });

  it('every name in INTERNAL_HEADERS is dropped (the reader matches its own list)', () => {
    for (const name of INTERNAL_HEADERS) {
      expect(lines(read([H, [name, 'x']]).headerBlock), name).toEqual(['host: example.com', ...FWD]);
    }
  });

  it('are empty when absent', () => {
    const head = read([H]);
    expect([head.proxyRequest, head.networkProbe]).toEqual(['', '']);
  });
});

describe('forwarding headers', () => {
  it("append the peer to the client's X-Forwarded-For (all of its headers, in order)", () => {
    const head = read([H, ['x-forwarded-for', '1.2.3.4'], ['x-forwarded-for', '5.6.7.8, 9.9.9.9']]);
    expect(lines(head.headerBlock)).toEqual([
      'host: example.com',
      'x-forwarded-for: 1.2.3.4, 5.6.7.8, 9.9.9.9, 10.0.0.1',
      'x-forwarded-proto: http',
      'x-forwarded-host: example.com',
      'forwarded: for=10.0.0.1;proto=http;host=example.com',
    ]);
  });

  it("append the peer to the client's Forwarded, an IPv6 peer quoted in brackets", () => {
    const head = read([H, ['forwarded', 'for=1.2.3.4']], { res: fakeRes(V6, V6_TEXT) });
    expect(lines(head.headerBlock)).toEqual([
      'host: example.com',
      'x-forwarded-for: 2001:db8::1',
      'x-forwarded-proto: http',
      'x-forwarded-host: example.com',
      `forwarded: for=1.2.3.4, for="[2001:db8::1]";proto=http;host=example.com`,
    ]);
    expect(head.client).toBe(V6_TEXT);
  });

  it('say the proto the reader was made for', () => {
    const head = read([H], { reader: new RequestHeadReader('https') });
    expect(lines(head.headerBlock)).toEqual([
      'host: example.com',
      'x-forwarded-for: 10.0.0.1',
      'x-forwarded-proto: https',
      'x-forwarded-host: example.com',
      'forwarded: for=10.0.0.1;proto=https;host=example.com',
    ]);
  });

  it('leave out the host when the request has none', () => {
    const head = read([]);
    expect(lines(head.headerBlock)).toEqual(['x-forwarded-for: 10.0.0.1', 'x-forwarded-proto: http', 'forwarded: for=10.0.0.1;proto=http']);
    expect(head.host).toBe('');
  });

  it('are the same from the cache as freshly made, and a request with its own is never served the cached ones', () => {
    const reader = new RequestHeadReader();
    const plain = read([H], { reader }).headerBlock;
    const withXff = read([H, ['x-forwarded-for', '1.2.3.4']], { reader }).headerBlock;
    expect(read([H], { reader }).headerBlock).toBe(plain);
    expect(withXff).toContain('x-forwarded-for: 1.2.3.4, 10.0.0.1\r\n');
    expect(read([H, ['x-forwarded-for', '1.2.3.4']], { reader }).headerBlock).toBe(withXff);
    expect(lines(plain)).toEqual(['host: example.com', ...FWD]);
  });

  it("are added on a reader's first request even from a peer uWS gives no address for", () => {
    const reader = new RequestHeadReader();
    const res = fakeRes([], '');
    const first = reader.read(res, fakeReq({ headers: [] }), LIMITS);
    const second = reader.read(res, fakeReq({ headers: [] }), LIMITS);
    expect(lines(first.headerBlock)).toEqual(['x-forwarded-for: ', 'x-forwarded-proto: http', 'forwarded: for=;proto=http']);
    expect(second.headerBlock).toBe(first.headerBlock);
  });
});

describe('trace context', () => {
  const headers: Headers = [H, ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'], ['tracestate', 'a=1'], ['tracestate', 'b=2']];

  it('is forwarded as it came, and read', () => {
    const head = read(headers);
    expect(head.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(head.tracestate).toBe('a=1,b=2');
    expect(lines(head.headerBlock)).toEqual(['host: example.com', 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'tracestate: a=1', 'tracestate: b=2', ...FWD]);
  });

  it('is left out of the block when the edge traces (ownTrace), and still read', () => {
    const head = read(headers, { ownTrace: true });
    expect(head.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(head.tracestate).toBe('a=1,b=2');
    expect(lines(head.headerBlock)).toEqual(['host: example.com', ...FWD]);
  });
});

describe('what the router reads', () => {
  it('Knative-Serving-Tag is read and still forwarded', () => {
    const head = read([H, ['knative-serving-tag', 'canary']]);
    expect(head.tag).toBe('canary');
    expect(lines(head.headerBlock)).toContain('knative-serving-tag: canary');
    expect(read([H]).tag).toBe('');
  });

  const hosts: [string, string][] = [
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['App.Example.com:8080', 'app.example.com'],
    ['[::1]:80', '[::1]'],
    ['[::1]', '[::1]'],
    ['[2001:DB8::1]:8443', '[2001:db8::1]'],
    ['127.0.0.1:9000', '127.0.0.1'],
  ];
  for (const [header, key] of hosts) {
    it(`Host ${header} routes as ${key}, and is forwarded as sent`, () => {
      const head = read([['host', header]]);
      expect(head.host).toBe(key);
      expect(lines(head.headerBlock)).toContain(`host: ${header}`);
      expect(lines(head.headerBlock)).toContain(`x-forwarded-host: ${header}`);
    });
  }

  it('the host key follows the Host header from one request to the next on one reader', () => {
    const reader = new RequestHeadReader();
    expect(['A.example:1', 'b.example', 'A.example:1', ''].map((h) => read(h ? [['host', h]] : [], { reader }).host)).toEqual(['a.example', 'b.example', 'a.example', '']);
  });

  it('method and URL come as sent, the query joined with "?"', () => {
    const reader = new RequestHeadReader();
    const head = reader.read(fakeRes(V4), fakeReq({ headers: [H], method: 'PATCH', url: '/a/b', query: 'x=1&y=%20' }), LIMITS);
    expect([head.method, head.url]).toEqual(['PATCH', '/a/b?x=1&y=%20']);
    expect(reader.read(fakeRes(V4), fakeReq({ headers: [H], url: '/a' }), LIMITS).url).toBe('/a');
  });

  it('the URL counts against maxHeaderBytes', () => {
    const req = (url: string) => fakeReq({ headers: [H], url });
    const limits = { maxHeaderBytes: 25, maxBodyBytes: 0 };
    expect(outcome(() => new RequestHeadReader().read(fakeRes(V4), req('/23456'), limits))).toBe('accepted');
    expect(outcome(() => new RequestHeadReader().read(fakeRes(V4), req('/234567'), limits))).toBe('TG_ERR_HEADERS_TOO_LARGE');
  });
});

describe('many headers', () => {
  it('more than the scratch space holds at first: each kept or dropped as it should be', () => {
    const headers: [string, string][] = [['host', 'example.com']];
    for (let i = 0; i < 150; i++) headers.push(i % 2 === 0 ? [`x-keep-${i}`, `${i}`] : [`x-tidegate-${i}`, `${i}`]);
    const reader = new RequestHeadReader();
    read([H, ['x-tidegate-a', '1'], ['x-keep', '1']], { reader }); // a small head first, on the same reader
    const head = read(headers, { reader });
    const kept = headers.filter(([n]) => n.startsWith('x-keep-')).map(([n, v]) => `${n}: ${v}`);
    expect(lines(head.headerBlock)).toEqual(['host: example.com', ...kept, ...FWD]);
    // And a small head after it does not see the big one's leftovers.
    expect(lines(read([H, ['x-keep', '1']], { reader }).headerBlock)).toEqual(['host: example.com', 'x-keep: 1', ...FWD]);
  });
});

describe('two readers share nothing', () => {
  const resA = fakeRes([10, 0, 0, 1]);
  const resB = fakeRes([10, 0, 0, 2]);
  const blockA = ['host: a.example', 'x-a: 1', 'x-forwarded-for: 10.0.0.1', 'x-forwarded-proto: http', 'x-forwarded-host: a.example', 'forwarded: for=10.0.0.1;proto=http;host=a.example'];
  const blockB = ['host: B.example:81', 'x-b: 2', 'x-forwarded-for: 10.0.0.2', 'x-forwarded-proto: https', 'x-forwarded-host: B.example:81', 'forwarded: for=10.0.0.2;proto=https;host=B.example:81'];
  const headersA: Headers = [['host', 'a.example'], ['x-a', '1']];
  const headersB: Headers = [['host', 'B.example:81'], ['x-b', '2']];

  it('interleaved reads each get their own client, host, proto and headers', () => {
    const a = new RequestHeadReader('http');
    const b = new RequestHeadReader('https');
    for (let round = 0; round < 3; round++) {
      const ha = a.read(resA, fakeReq({ headers: headersA }), LIMITS);
      const hb = b.read(resB, fakeReq({ headers: headersB }), LIMITS);
      expect([ha.client, ha.host, lines(ha.headerBlock)]).toEqual(['10.0.0.1', 'a.example', blockA]);
      expect([hb.client, hb.host, lines(hb.headerBlock)]).toEqual(['10.0.0.2', 'b.example', blockB]);
    }
  });

  it("a read inside another reader's header capture does not disturb it", () => {
    const a = new RequestHeadReader('http');
    const b = new RequestHeadReader('https');
    let inner: RequestHead | null = null;
    const outer = a.read(resA, fakeReq({ headers: headersA, during: () => (inner = b.read(resB, fakeReq({ headers: headersB }), LIMITS)) }), LIMITS);
    expect(inner).not.toBeNull();
    expect(lines(outer.headerBlock)).toEqual(blockA);
    expect(lines(inner!.headerBlock)).toEqual(blockB);
  });

  it('one reader refusing a request leaves the other as it was', () => {
    const a = new RequestHeadReader();
    const b = new RequestHeadReader();
    const first = b.read(resB, fakeReq({ headers: [['host', 'b.example']] }), LIMITS);
    expect(outcome(() => a.read(resA, fakeReq({ headers: [['host', 'x'], ['content-length', '1'], ['transfer-encoding', 'chunked']] }), LIMITS))).toBe('TG_ERR_SMUGGLING');
    expect(b.read(resB, fakeReq({ headers: [['host', 'b.example']] }), LIMITS).headerBlock).toBe(first.headerBlock);
  });
});

describe('clientAddress', () => {
  const mapped = (a: number, b: number, c: number, d: number) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d];
  const rows: { name: string; address: number[]; asText?: string; want: string }[] = [
    { name: 'IPv4', address: [192, 168, 1, 20], want: '192.168.1.20' },
    { name: 'IPv4 0.0.0.0', address: [0, 0, 0, 0], want: '0.0.0.0' },
    { name: 'IPv4 255.255.255.255', address: [255, 255, 255, 255], want: '255.255.255.255' },
    { name: 'IPv4-mapped IPv6', address: mapped(127, 0, 0, 1), asText: '0000:0000:0000:0000:0000:ffff:7f00:0001', want: '127.0.0.1' },
    { name: 'IPv6', address: V6, asText: V6_TEXT, want: V6_TEXT },
    { name: 'IPv6 loopback', address: [...Array<number>(15).fill(0), 1], asText: '::1', want: '::1' },
    // Only ::ffff:0:0/96 is an IPv4 address in IPv6 clothing; these are IPv6.
    { name: '::fffe:a.b.c.d is IPv6', address: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 1, 2, 3, 4], asText: '::fffe:102:304', want: '::fffe:102:304' },
    { name: '1::ffff:a.b.c.d is IPv6', address: [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4], asText: '1::ffff:102:304', want: '1::ffff:102:304' },
  ];
  for (const row of rows) {
    it(`${row.name} → ${row.want}`, () => {
      expect(new RequestHeadReader().clientAddress(fakeRes(row.address, row.asText ?? 'uWS text must not be used'))).toBe(row.want);
    });
  }

  it('one reader, alternating peers: each call names its own peer', () => {
    const reader = new RequestHeadReader();
    const peers = [[10, 0, 0, 1], mapped(10, 0, 0, 2), [10, 0, 0, 1], V6, [10, 0, 0, 1]];
    expect(peers.map((p) => reader.clientAddress(fakeRes(p, V6_TEXT)))).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.1', V6_TEXT, '10.0.0.1']);
  });

  it('is what read() reports as the client', () => {
    expect(read([H], { res: fakeRes(mapped(172, 16, 0, 9)) }).client).toBe('172.16.0.9');
  });
});
