import { afterEach, describe, expect, it } from 'vitest';
import http2, { type Http2Server, type Http2Session, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { H2Upstream } from '../../src/upstream/h2-pool.js';
import { UpstreamRuntime } from '../../src/upstream/runtime.js';
import { BodyMode } from '../../src/upstream/response-head.js';
import { nameBytes } from '../../src/upstream/hop-by-hop.js';
import type { DispatchHandler, ResponseTrailers, UpstreamRequest } from '../../src/upstream/dispatcher.js';
import type { TidegateError } from '../../src/shared/errors.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait.js';

// The h2c dispatcher against real node:http2 servers on port 0: one session per pod, a stream per dispatch.

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = http2.constants;

let server: Http2Server | null = null;
let upstream: H2Upstream | null = null;

afterEach(async () => {
  upstream?.close();
  upstream = null;
  for (const c of cleanups.splice(0)) await c();
  const s = server;
  server = null;
  if (s !== null) {
    for (const session of podSessions) session.destroy();
    await new Promise<void>((r) => s.close(() => r()));
  }
  podSessions.clear();
});

const podSessions = new Set<Http2Session>();
const cleanups: (() => Promise<void>)[] = [];

interface Pod {
  address: string;
  /** Sessions the pod accepted so far. */
  sessions: () => number;
  /** Headers of every stream the pod received, in order. */
  seen: IncomingHttpHeaders[];
  /** The pod's TCP connections, to kill one. */
  sockets: Set<net.Socket>;
}

async function startPod(onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void): Promise<Pod> {
  let sessions = 0;
  const seen: IncomingHttpHeaders[] = [];
  const sockets = new Set<net.Socket>();
  const srv = http2.createServer();
  server = srv;
  srv.on('connection', (socket: net.Socket) => sockets.add(socket));
  srv.on('session', (session) => {
    sessions++;
    podSessions.add(session);
    session.on('close', () => podSessions.delete(session));
    session.on('error', () => undefined);
  });
  srv.on('stream', (stream, headers) => {
    stream.on('error', () => undefined); // resets are what several tests are about
    seen.push(headers);
    onStream(stream, headers);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { address: `127.0.0.1:${(srv.address() as AddressInfo).port}`, sessions: () => sessions, seen, sockets };
}

function newUpstream(address: string, clock?: FakeClock): H2Upstream {
  upstream = new H2Upstream(address, new UpstreamRuntime(clock ? { clock } : {}));
  return upstream;
}

function request(method: string, url: string, headerBlock = 'host: pod.example\r\n', contentLength = -1, chunked = false): UpstreamRequest {
  return { method, url, headerBlock, contentLength, chunked, upgrade: false };
}

/** What a handler heard, in order. */
interface Heard {
  status: number;
  /** The bytes ResponseHeaders.writeTo wrote, as latin1. */
  head: string;
  bodyMode: BodyMode;
  contentLength: number;
  /** Values found with ResponseHeaders.find during onResponseStart, by name. */
  found: Record<string, string | null>;
  body: Buffer;
  trailers: ResponseTrailers | null;
  events: string[];
  error: TidegateError | null;
  gotResponse: boolean;
  drains: number;
  /** Resolves at onResponseEnd or onResponseError. */
  done: Promise<void>;
}

function listen(find: string[] = [], hooks: { onData?: (chunk: Buffer) => void } = {}): { handler: DispatchHandler; heard: Heard } {
  let finish!: () => void;
  const chunks: Buffer[] = [];
  const heard: Heard = {
    status: 0,
    head: '',
    bodyMode: BodyMode.None,
    contentLength: -1,
    found: {},
    body: Buffer.alloc(0),
    trailers: null,
    events: [],
    error: null,
    gotResponse: false,
    drains: 0,
    done: new Promise<void>((r) => (finish = r)),
  };
  let corked = false;
  const handler: DispatchHandler = {
    onResponseStart(head) {
      expect(corked).toBe(true);
      heard.events.push('start');
      heard.status = head.status;
      heard.bodyMode = head.bodyMode;
      heard.contentLength = head.contentLength;
      head.headers.writeTo({ writeStatus: (b: Uint8Array) => (heard.head = Buffer.from(b).toString('latin1')) });
      for (const name of find) heard.found[name] = head.headers.find(nameBytes(name));
    },
    onResponseData(chunk) {
      expect(corked).toBe(true);
      if (heard.events.at(-1) !== 'data') heard.events.push('data');
      chunks.push(Buffer.from(chunk));
      hooks.onData?.(chunk);
    },
    onResponseTrailers(trailers) {
      heard.events.push('trailers');
      heard.trailers = trailers;
    },
    onResponseEnd() {
      heard.events.push('end');
      heard.body = Buffer.concat(chunks);
      finish();
    },
    onResponseError(err, gotResponse) {
      heard.events.push('error');
      heard.error = err;
      heard.gotResponse = gotResponse;
      heard.body = Buffer.concat(chunks);
      finish();
    },
    onRequestDrain() {
      heard.drains++;
    },
    onUpgrade: () => null,
    cork(fn) {
      corked = true;
      try {
        fn();
      } finally {
        corked = false;
      }
    },
  };
  return { handler, heard };
}

/** Reads a server stream's whole request body. */
function readAll(stream: ServerHttp2Stream): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('H2Upstream', () => {
  it('carries a GET: pseudo-headers from the request, the head in the HTTP/1.1 dispatcher’s byte shape, the body by its length', async () => {
    const pod = await startPod((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'content-length': '5' });
      stream.end('hello');
    });
    const up = newUpstream(pod.address);
    const { handler, heard } = listen(['content-type', 'set-cookie', 'x-none']);
    const ctl = up.dispatch(request('GET', '/path?q=1', 'host: svc.example\r\nx-custom: yes\r\n'), 'k-proxy-request: activator\r\n', handler);
    ctl.end(); // the proxy ends a body-less request too: a no-op
    await heard.done;
    expect(heard.events).toEqual(['start', 'data', 'end']);
    expect(heard.status).toBe(200);
    expect(heard.bodyMode).toBe(BodyMode.Length);
    expect(heard.contentLength).toBe(5);
    expect(heard.body.toString()).toBe('hello');
    // content-length and date are uWS's to write, as HeadScan.writeTo leaves them out.
    expect(heard.head).toBe('200 OK\r\ncontent-type: text/plain\r\nset-cookie: a=1\r\nset-cookie: b=2');
    expect(heard.found).toEqual({ 'content-type': 'text/plain', 'set-cookie': 'a=1', 'x-none': null });
    expect(ctl.responseDone).toBe(true);
    ctl.release();
    const h = pod.seen[0]!;
    expect(h[':method']).toBe('GET');
    expect(h[':path']).toBe('/path?q=1');
    expect(h[':scheme']).toBe('http');
    expect(h[':authority']).toBe('svc.example');
    expect(h.host).toBeUndefined();
    expect(h['x-custom']).toBe('yes');
    expect(h['k-proxy-request']).toBe('activator');
  });

  it('streams a POST body to the pod and the pod’s answer back; a response without a length is left to the client side to frame', async () => {
    const pod = await startPod((stream, headers) => {
      void readAll(stream).then((body) => {
        stream.respond({ ':status': 201, 'x-te': String(headers['transfer-encoding'] ?? 'none') });
        stream.write(body.subarray(0, 3));
        stream.end(body.subarray(3));
      });
    });
    const up = newUpstream(pod.address);
    // Declared length.
    const one = listen();
    const c1 = up.dispatch(request('POST', '/echo', 'host: pod\r\ncontent-length: 11\r\n', 11), '', one.handler);
    expect(c1.write(Buffer.from('hello '))).toBe(true);
    expect(c1.write(Buffer.from('world'))).toBe(true);
    c1.end();
    await one.heard.done;
    expect(one.heard.status).toBe(201);
    expect(one.heard.bodyMode).toBe(BodyMode.Chunked);
    expect(one.heard.contentLength).toBe(-1);
    expect(one.heard.body.toString()).toBe('hello world');
    expect(pod.seen[0]!['content-length']).toBe('11');
    // A chunked request: no transfer-encoding crosses (HTTP/2 frames it), the body does.
    const two = listen(['x-te']);
    const c2 = up.dispatch(request('POST', '/echo', 'host: pod\r\ntransfer-encoding: chunked\r\n', -1, true), '', two.handler);
    const reused = Buffer.from('abc');
    c2.write(reused);
    reused.write('XYZ'); // the caller's memory is reused once write returns: the dispatcher copied it
    c2.write(Buffer.from('def'));
    c2.end();
    await two.heard.done;
    expect(two.heard.body.toString()).toBe('abcdef');
    expect(two.heard.found['x-te']).toBe('none');
    expect(pod.sessions()).toBe(1);
  });

  it('multiplexes: 60 requests at once are 60 streams on one session', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const pod = await startPod((stream, headers) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        stream.respond({ ':status': 200 });
        stream.end(String(headers[':path']));
      }, 50);
    });
    const up = newUpstream(pod.address);
    const all = Array.from({ length: 60 }, (_, i) => {
      const { handler, heard } = listen();
      up.dispatch(request('GET', `/n/${i}`), '', handler);
      return heard;
    });
    await Promise.all(all.map((h) => h.done));
    all.forEach((h, i) => expect(h.body.toString()).toBe(`/n/${i}`));
    expect(pod.sessions()).toBe(1);
    expect(maxInFlight).toBe(60);
    expect(up.openSessions).toBe(1);
  });

  it('passes the pod’s trailers (lower-case, no pseudo-headers) just before the end', async () => {
    const pod = await startPod((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK', 'x-multi': ['1', '2'] }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
    const up = newUpstream(pod.address);
    const { handler, heard } = listen();
    up.dispatch(request('POST', '/pkg.Svc/Method', 'host: pod\r\ncontent-type: application/grpc\r\ncontent-length: 0\r\n', 0), '', handler);
    await heard.done;
    expect(heard.events).toEqual(['start', 'data', 'trailers', 'end']);
    expect(heard.trailers).toEqual({ 'grpc-status': '0', 'grpc-message': 'OK', 'x-multi': ['1', '2'] });
  });

  it('a gRPC trailers-only response (HEADERS with END_STREAM) has no body', async () => {
    const pod = await startPod((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
    });
    const up = newUpstream(pod.address);
    const { handler, heard } = listen(['grpc-status']);
    up.dispatch(request('POST', '/pkg.Svc/Nope', 'host: pod\r\ncontent-type: application/grpc\r\ncontent-length: 0\r\n', 0), '', handler);
    await heard.done;
    expect(heard.events).toEqual(['start', 'end']);
    expect(heard.bodyMode).toBe(BodyMode.None);
    expect(heard.found['grpc-status']).toBe('12');
  });

  it('HEAD, 204 and 304 have no body; a HEAD keeps its declared length', async () => {
    const pod = await startPod((stream, headers) => {
      const path = String(headers[':path']);
      if (path === '/head') stream.respond({ ':status': 200, 'content-length': '1234' }, { endStream: true });
      else stream.respond({ ':status': Number(path.slice(1)) }, { endStream: true });
    });
    const up = newUpstream(pod.address);
    const head = listen();
    up.dispatch(request('HEAD', '/head'), '', head.handler);
    await head.heard.done;
    expect([head.heard.bodyMode, head.heard.contentLength]).toEqual([BodyMode.None, 1234]);
    for (const status of [204, 304]) {
      const { handler, heard } = listen();
      up.dispatch(request('GET', `/${status}`), '', handler);
      await heard.done;
      expect([heard.status, heard.bodyMode, heard.contentLength, heard.head]).toEqual([status, BodyMode.None, -1, status === 204 ? '204 No Content' : '304 Not Modified']);
    }
  });

  it('flow control end to end: a paused 16 MiB response stops the pod’s writes; other streams on the session keep flowing; resumed, every byte arrives', async () => {
    const TOTAL = 16 * 1024 * 1024;
    const CHUNK = 64 * 1024;
    let written = 0;
    let blocked = false;
    let resumeWriter: (() => void) | null = null;
    const pod = await startPod((stream, headers) => {
      if (headers[':path'] === '/small') {
        stream.respond({ ':status': 200 });
        stream.end('small');
        return;
      }
      stream.respond({ ':status': 200, 'content-length': String(TOTAL) });
      const chunk = Buffer.alloc(CHUNK, 0x61);
      const pump = (): void => {
        while (written < TOTAL) {
          written += CHUNK;
          const ok = stream.write(chunk);
          if (written === TOTAL) stream.end();
          if (!ok) {
            blocked = true;
            resumeWriter = pump;
            stream.once('drain', () => pump());
            return;
          }
        }
      };
      pump();
    });
    const up = newUpstream(pod.address);
    let received = 0;
    let paused = false;
    const big = listen([], {
      onData: (chunk) => {
        received += chunk.length;
        if (received < 256 * 1024 || paused) return;
        paused = true;
        ctl.pause(); // the client stopped reading (proxy-call pauses on a write uWS could not take)
      },
    });
    const ctl = up.dispatch(request('GET', '/big'), '', big.handler);
    await waitFor(() => received >= 256 * 1024 && blocked, 5000, 'the pod blocked');
    const writtenWhilePaused = written;
    await new Promise((r) => setTimeout(r, 300));
    // The pod is held by the stream's window (64 KiB) plus what node buffers on either side: far below 16 MiB.
    expect(written).toBe(writtenWhilePaused);
    expect(written).toBeLessThan(2 * 1024 * 1024);
    expect(resumeWriter).not.toBeNull();
    // The connection window is not held by the paused stream: another request still completes.
    const small = listen();
    up.dispatch(request('GET', '/small'), '', small.handler);
    await small.heard.done;
    expect(small.heard.body.toString()).toBe('small');
    ctl.resume();
    await big.heard.done;
    expect(big.heard.events).toEqual(['start', 'data', 'end']);
    expect(big.heard.body.length).toBe(TOTAL);
    expect(big.heard.body.every((b) => b === 0x61)).toBe(true);
    expect(pod.sessions()).toBe(1);
  });

  it('request-body backpressure: write returns false while the pod does not read, onRequestDrain once it does', async () => {
    let podStream: ServerHttp2Stream | null = null;
    const pod = await startPod((stream) => {
      podStream = stream;
      stream.pause();
    });
    const up = newUpstream(pod.address);
    const { handler, heard } = listen();
    const ctl = up.dispatch(request('POST', '/upload', 'host: pod\r\ntransfer-encoding: chunked\r\n', -1, true), '', handler);
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    while (ctl.write(chunk)) {
      sent += chunk.length;
      if (sent > 64 * 1024 * 1024) throw new Error('never blocked');
    }
    sent += chunk.length;
    expect(heard.drains).toBe(0);
    await waitFor(() => podStream !== null, 5000, 'the stream reached the pod');
    const body = readAll(podStream!);
    podStream!.resume();
    await waitFor(() => heard.drains === 1, 5000, 'onRequestDrain');
    ctl.end();
    expect((await body).length).toBe(sent);
    podStream!.respond({ ':status': 200 });
    podStream!.end();
    await heard.done;
    expect(heard.events).toEqual(['start', 'end']);
  });

  it('a pod that resets the stream: TG_ERR_UPSTREAM_RESET, with gotResponse saying whether its head had come', async () => {
    // node:http2's own server ends a stream (END_STREAM) before it resets it: a pod on raw frames sends a real mid-body reset.
    const address = await startResettingPod();
    const up = newUpstream(address);
    const after = listen();
    up.dispatch(request('GET', '/after-head'), '', after.handler);
    await after.heard.done;
    expect(after.heard.events).toEqual(['start', 'data', 'error']);
    expect(after.heard.error?.code).toBe('TG_ERR_UPSTREAM_RESET');
    expect(after.heard.gotResponse).toBe(true);
    expect(after.heard.body.toString()).toBe('part');
    upstream!.close();
    // Reset before any head.
    const pod = await startPod((stream) => stream.close(NGHTTP2_INTERNAL_ERROR));
    const up2 = newUpstream(pod.address);
    const before = listen();
    up2.dispatch(request('GET', '/before-head'), '', before.handler);
    await before.heard.done;
    expect(before.heard.events).toEqual(['error']);
    expect(before.heard.error?.code).toBe('TG_ERR_UPSTREAM_RESET');
    expect(before.heard.gotResponse).toBe(false);
    // A stream reset is not the session's end.
    const next = listen();
    up2.dispatch(request('GET', '/again'), '', next.handler);
    await next.heard.done;
    expect(pod.sessions()).toBe(1);
  });

  it('abort sends RST_STREAM(CANCEL): the pod sees its stream cancelled, the handler hears nothing more', async () => {
    let podCode: number | undefined;
    let podClosed = false;
    const pod = await startPod((stream) => {
      stream.on('close', () => {
        podCode = stream.rstCode;
        podClosed = true;
      });
      stream.respond({ ':status': 200 });
      stream.write('first');
    });
    const up = newUpstream(pod.address);
    const { handler, heard } = listen();
    const ctl = up.dispatch(request('GET', '/slow'), '', handler);
    await waitFor(() => heard.events.includes('data'), 5000, 'the first bytes');
    ctl.abort();
    await waitFor(() => podClosed, 5000, 'the pod’s stream closed');
    expect(podCode).toBe(NGHTTP2_CANCEL);
    await new Promise((r) => setTimeout(r, 50));
    expect(heard.events).toEqual(['start', 'data']);
    // The session stays for the next request.
    const next = listen();
    up.dispatch(request('GET', '/x'), '', next.handler);
    await waitFor(() => pod.seen.length === 2, 5000, 'the next stream');
    expect(pod.sessions()).toBe(1);
  });

  it('a refused connection: TG_ERR_UPSTREAM_REFUSED with no response, connecting until then; the next dispatch tries again', async () => {
    const port = await freePort();
    const up = newUpstream(`127.0.0.1:${port}`);
    const { handler, heard } = listen();
    const ctl = up.dispatch(request('POST', '/x', 'host: pod\r\ncontent-length: 3\r\n', 3), '', handler);
    expect(ctl.connecting).toBe(true);
    ctl.write(Buffer.from('abc'));
    ctl.end();
    await heard.done;
    expect(heard.events).toEqual(['error']);
    expect(heard.error?.code).toBe('TG_ERR_UPSTREAM_REFUSED');
    expect(heard.gotResponse).toBe(false);
    // The pod comes up on that port: the next dispatch opens a new session.
    const pod = await startPodOn(port);
    const again = listen();
    up.dispatch(request('GET', '/x'), '', again.handler);
    await again.heard.done;
    expect(again.heard.status).toBe(200);
    expect(pod.sessions()).toBe(1);
  });

  it('connecting stays true until the response head (a GOAWAY may still refuse the stream), then turns false', async () => {
    let podStream: ServerHttp2Stream | null = null;
    const pod = await startPod((stream) => {
      podStream = stream;
    });
    const up = newUpstream(pod.address);
    const { handler, heard } = listen();
    const ctl = up.dispatch(request('GET', '/x'), '', handler);
    await waitFor(() => podStream !== null, 5000, 'the stream');
    expect(ctl.connecting).toBe(true);
    podStream!.respond({ ':status': 200 });
    podStream!.end();
    await heard.done;
    expect(ctl.connecting).toBe(false);
  });

  it('GOAWAY: a stream above lastStreamID is refused unseen (replayable, its body kept by the caller), one below finishes, the next dispatch opens a new session', async () => {
    const streams: ServerHttp2Stream[] = [];
    const pod = await startPod((stream) => {
      streams.push(stream);
      if (streams.length === 1) {
        // Stream 1 answers its head at once and its body later.
        stream.respond({ ':status': 200 });
        stream.write('one-');
      }
    });
    const up = newUpstream(pod.address);
    const first = listen();
    up.dispatch(request('GET', '/first'), '', first.handler);
    await waitFor(() => first.heard.events.includes('data'), 5000, 'stream 1 answered');
    // The session is connected; a POST whose body goes out now.
    const second = listen();
    const ctl = up.dispatch(request('POST', '/second', 'host: pod\r\ncontent-length: 4\r\n', 4), '', second.handler);
    // ProxyCall keeps a copy of what it writes while `connecting` (proxy-call.ts writeBody): this body is kept.
    expect(ctl.connecting).toBe(true);
    ctl.write(Buffer.from('body'));
    ctl.end();
    await waitFor(() => streams.length === 2, 5000, 'stream 3 reached the pod');
    expect(streams[1]!.id).toBe(3);
    streams[0]!.session!.goaway(NGHTTP2_NO_ERROR, 1);
    await second.heard.done;
    expect(second.heard.events).toEqual(['error']);
    expect(second.heard.error?.code).toBe('TG_ERR_UPSTREAM_REFUSED');
    expect(second.heard.gotResponse).toBe(false);
    // A new dispatch goes to a new session while stream 1 is still open on the old one.
    const third = listen();
    up.dispatch(request('GET', '/third'), '', third.handler);
    await waitFor(() => streams.length === 3, 5000, 'the third stream');
    expect(pod.sessions()).toBe(2);
    expect(streams[2]!.session).not.toBe(streams[0]!.session);
    streams[2]!.respond({ ':status': 200 });
    streams[2]!.end('three');
    await third.heard.done;
    expect(third.heard.body.toString()).toBe('three');
    // Stream 1 finishes normally on the old session.
    streams[0]!.end('done');
    await first.heard.done;
    expect(first.heard.events).toEqual(['start', 'data', 'end']);
    expect(first.heard.body.toString()).toBe('one-done');
    await waitFor(() => up.openSessions === 1, 5000, 'the old session closed');
  });

  it('a pod that dies mid-response: TG_ERR_UPSTREAM_RESET with gotResponse; the next dispatch reconnects', async () => {
    let kill = true;
    const pod = await startPod((stream) => {
      stream.respond({ ':status': 200 });
      if (!kill) {
        stream.end('alive');
        return;
      }
      stream.write('partial', () => setTimeout(() => [...pod.sockets].at(-1)!.destroy(), 20));
    });
    const up = newUpstream(pod.address);
    const { handler, heard } = listen();
    up.dispatch(request('GET', '/dies'), '', handler);
    await heard.done;
    expect(heard.events).toEqual(['start', 'data', 'error']);
    expect(heard.error?.code).toBe('TG_ERR_UPSTREAM_RESET');
    expect(heard.gotResponse).toBe(true);
    kill = false;
    const next = listen();
    up.dispatch(request('GET', '/next'), '', next.handler);
    await next.heard.done;
    expect(next.heard.body.toString()).toBe('alive');
    expect(pod.sessions()).toBe(2);
  });

  it('drops connection-specific request headers (and those Connection lists), keeps te only as "trailers", always sends it for gRPC', async () => {
    const pod = await startPod((stream) => {
      stream.respond({ ':status': 200 }, { endStream: true });
    });
    const up = newUpstream(pod.address);
    const block =
      'Host: svc.example\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nProxy-Connection: keep-alive\r\n' +
      'Upgrade: h2c\r\nTE: gzip\r\nContent-Type: application/grpc+proto\r\nCookie: a=1\r\ncookie: b=2\r\nx-list: 1\r\nX-List: 2\r\ncontent-length: 0\r\n';
    const grpc = listen();
    up.dispatch(request('POST', '/pkg.Svc/M', block, 0), 'x-tidegate-hop: edge\r\n', grpc.handler);
    await grpc.heard.done;
    const h = pod.seen[0]!;
    for (const name of ['connection', 'keep-alive', 'x-hop', 'proxy-connection', 'upgrade', 'transfer-encoding', 'host']) expect(h[name], name).toBeUndefined();
    expect(h.te).toBe('trailers');
    expect(h[':authority']).toBe('svc.example');
    expect(h['content-type']).toBe('application/grpc+proto');
    expect(h.cookie).toBe('a=1; b=2');
    expect(h['x-list']).toBe('1, 2');
    expect(h['x-tidegate-hop']).toBe('edge');
    // Not gRPC: te crosses only when it says trailers.
    const plain = listen();
    up.dispatch(request('GET', '/a', 'host: svc.example\r\nte: trailers\r\n'), '', plain.handler);
    await plain.heard.done;
    expect(pod.seen[1]!.te).toBe('trailers');
    const none = listen();
    up.dispatch(request('GET', '/b', 'te: gzip\r\n'), '', none.handler);
    await none.heard.done;
    expect(pod.seen[2]!.te).toBeUndefined();
    // No Host: the pod's address is the authority.
    expect(pod.seen[2]![':authority']).toBe(pod.address);
  });

  it('an upgrade request is refused as a protocol error, after dispatch returned', async () => {
    const pod = await startPod(() => undefined);
    const up = newUpstream(pod.address);
    const { handler, heard } = listen();
    up.dispatch({ ...request('GET', '/ws'), upgrade: true }, '', handler);
    expect(heard.events).toEqual([]);
    await heard.done;
    expect(heard.error?.code).toBe('TG_ERR_UPSTREAM_PROTOCOL');
    expect(heard.gotResponse).toBe(false);
    expect(pod.sessions()).toBe(0);
  });

  it('an idle session is closed by the sweep after idleTimeoutMs; the next dispatch opens another', async () => {
    const pod = await startPod((stream) => stream.respond({ ':status': 200 }, { endStream: true }));
    const clock = new FakeClock();
    const up = newUpstream(pod.address, clock);
    const one = listen();
    const c1 = up.dispatch(request('GET', '/1'), '', one.handler);
    await one.heard.done;
    c1.release();
    await waitFor(() => podSessions.size === 1 && up.openStreams === 0, 5000, 'one idle session');
    clock.advance(29_000);
    up.sweep(clock.now());
    expect(up.openSessions).toBe(1);
    clock.advance(1_000);
    up.sweep(clock.now());
    await waitFor(() => podSessions.size === 0 && up.openSessions === 0, 5000, 'the idle session closed');
    const two = listen();
    up.dispatch(request('GET', '/2'), '', two.handler);
    await two.heard.done;
    expect(pod.sessions()).toBe(2);
  });

  it('close lets in-flight streams finish, then closes the session', async () => {
    let podStream: ServerHttp2Stream | null = null;
    const pod = await startPod((stream) => {
      podStream = stream;
      stream.respond({ ':status': 200 });
    });
    const up = newUpstream(pod.address);
    const { handler, heard } = listen();
    up.dispatch(request('GET', '/long'), '', handler);
    await waitFor(() => podStream !== null && heard.events.includes('start'), 5000, 'the head');
    up.close();
    podStream!.end('bye');
    await heard.done;
    expect(heard.events).toEqual(['start', 'data', 'end']);
    await waitFor(() => up.openSessions === 0 && podSessions.size === 0, 5000, 'the session closed');
    expect(pod.sessions()).toBe(1);
  });
});

/** A pod on a given port (after a refusal there). */
async function startPodOn(port: number): Promise<Pod> {
  let sessions = 0;
  const srv = http2.createServer();
  server = srv;
  srv.on('session', (session) => {
    sessions++;
    podSessions.add(session);
    session.on('close', () => podSessions.delete(session));
  });
  srv.on('stream', (stream) => stream.respond({ ':status': 200 }, { endStream: true }));
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  return { address: `127.0.0.1:${port}`, sessions: () => sessions, seen: [], sockets: new Set() };
}

function frame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}

/**
 * An HTTP/2 pod written frame by frame on net: each request gets HEADERS
 * (:status 200, HPACK static index 8), DATA "part", and 20 ms later
 * RST_STREAM(INTERNAL_ERROR), with no END_STREAM ever.
 */
async function startResettingPod(): Promise<string> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    sock.write(frame(4, 0, 0, Buffer.alloc(0))); // SETTINGS
    let buf = Buffer.alloc(0);
    let preface = true;
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (preface) {
        if (buf.length < 24) return;
        buf = buf.subarray(24);
        preface = false;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) return;
        const [type, flags] = [buf[3]!, buf[4]!];
        const id = buf.readUInt32BE(5) & 0x7fffffff;
        buf = buf.subarray(9 + len);
        if (type === 4 && (flags & 1) === 0) sock.write(frame(4, 1, 0, Buffer.alloc(0))); // SETTINGS ACK
        if (type !== 1) continue;
        sock.write(frame(1, 4, id, Buffer.from([0x88])));
        sock.write(frame(0, 0, id, Buffer.from('part')));
        const code = Buffer.alloc(4);
        code.writeUInt32BE(NGHTTP2_INTERNAL_ERROR);
        setTimeout(() => sock.write(frame(3, 0, id, code)), 20);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  });
  return `127.0.0.1:${(srv.address() as AddressInfo).port}`;
}
