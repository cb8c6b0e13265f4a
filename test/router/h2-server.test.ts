/**
 * HTTP/2 clients through the edge (the h2c listener, h2-server.ts, and the
 * uWS-shaped stream adapter, h2-exchange.ts) to HTTP/1.1 pods: the same
 * routing, errors and limits as HTTP/1.1, with real node:http2 and curl
 * clients on real sockets.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { H2Server } from '../../src/router/h2-server.js';
import { silentLogger } from '../../src/shared/log.js';
import { startBareEdge, type BareEdge } from '../support/bare-edge.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

const CONFIG = `domain: example.com
limits:
  max-body-size: 1Mi
services:
  - name: app
    revisions:
      - name: app-1
        endpoints: ["127.0.0.1:1"]
    traffic: [{ revisionName: app-1, percent: 100 }]
`;

let pod: Upstream;
let bare: BareEdge;
let h2: H2Server;
let port: number;
let session: http2.ClientHttp2Session;

interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
}

function call(headers: http2.OutgoingHttpHeaders, body?: Buffer | string, s = session): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = s.request({ ':authority': 'app.example.com', ...headers }, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let status = 0;
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      head = h;
      status = Number(h[':status']);
    });
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = t;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status, headers: head, body: Buffer.concat(chunks), trailers }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

beforeAll(async () => {
  pod = await startUpstream('pod-a');
  bare = await startBareEdge(CONFIG);
  bare.setPods('app-1', [pod.address]);
  h2 = new H2Server(bare.edge, silentLogger);
  port = await h2.listen('127.0.0.1', 0);
  session = http2.connect(`http://127.0.0.1:${port}`);
});

afterAll(async () => {
  session?.close();
  h2?.destroy();
  bare?.close();
  await pod?.close();
});

describe('HTTP/2 with prior knowledge (h2c) through the edge', () => {
  it('routes a GET by :authority to the pod, which sees HTTP/1.1 with Host and X-Forwarded-Proto http', async () => {
    const before = pod.seen.length;
    const r = await call({ ':method': 'GET', ':path': '/hello?x=1' });
    expect(r.status, r.body.toString()).toBe(200);
    expect(r.body.toString()).toContain('pod-a');
    const seen = pod.seen[before]!;
    expect(seen.url).toBe('/hello?x=1');
    expect(seen.headers.host).toBe('app.example.com');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(r.headers['connection']).toBeUndefined();
    expect(r.headers['keep-alive']).toBeUndefined();
  });

  it('carries request bodies with and without content-length, byte for byte', async () => {
    const body = Buffer.alloc(300_000, 7);
    const sha = createHash('sha256').update(body).digest('hex');
    const withLength = await call({ ':method': 'POST', ':path': '/echo', 'content-length': String(body.length) }, body);
    const streamed = await call({ ':method': 'POST', ':path': '/echo' }, body);
    for (const r of [withLength, streamed]) {
      expect(r.status).toBe(200);
      expect(r.body.toString()).toContain(sha);
    }
  });

  it('serves many streams at once on one session', async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => call({ ':method': 'GET', ':path': `/n/${i}` })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
  });

  it('streams a large response to a client that reads it all', async () => {
    const r = await call({ ':method': 'GET', ':path': '/?bytes=4000000' });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(4_000_000);
  });

  it("keeps tidegate's error header: an unknown host is 404 router-no-route", async () => {
    const r = await call({ ':method': 'GET', ':path': '/', ':authority': 'nope.example.com' });
    expect(r.status).toBe(404);
    expect(r.headers['x-tidegate-error']).toBe('router-no-route');
  });

  it('refuses a body over max-body-size with 413 and keeps the session usable', async () => {
    const r = await call({ ':method': 'POST', ':path': '/echo', 'content-length': String(2 * 1024 * 1024) }, Buffer.alloc(2 * 1024 * 1024));
    expect(r.status).toBe(413);
    expect(r.headers['x-tidegate-error']).toBe('edge-body-too-large');
    expect((await call({ ':method': 'GET', ':path': '/' })).status).toBe(200);
  });

  it("answers a gRPC call's error as a gRPC status (trailers-only), with X-Tidegate-Error", async () => {
    const r = await call({ ':method': 'POST', ':path': '/pkg.Svc/Method', ':authority': 'nope.example.com', 'content-type': 'application/grpc', te: 'trailers' }, Buffer.from([0, 0, 0, 0, 0]));
    expect(r.status).toBe(200);
    expect(r.headers['grpc-status']).toBe('12');
    expect(r.headers['x-tidegate-error']).toBe('router-no-route');
    expect(decodeURIComponent(String(r.headers['grpc-message']))).toContain('nope.example.com');
    expect(r.body.length).toBe(0);
  });

  it('a client reset mid-request reaches the pod as a closed connection', async () => {
    const before = pod.aborted;
    const stream = session.request({ ':method': 'GET', ':path': '/?sleep=2000', ':authority': 'app.example.com' });
    stream.on('error', () => undefined);
    await waitFor(() => bare.edge.revision('app-1')!.throttler.inFlightOf('app-1-0') === 1, 3000, 'in flight');
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => pod.aborted === before + 1, 3000, 'the pod sees the request go');
    await waitFor(() => bare.edge.revision('app-1')!.throttler.inFlightOf('app-1-0') === 0, 3000, 'its slot back');
  });

  it('a body longer than its content-length is refused by the HTTP/2 layer: a reset, and nothing extra reaches the pod', async () => {
    const stream = session.request({ ':authority': 'app.example.com', ':path': '/echo', ':method': 'POST', 'content-length': '5' });
    const reset = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode ?? -1)));
    stream.on('error', () => undefined);
    stream.end('0123456789GET /smuggled HTTP/1.1\r\nhost: app.example.com\r\n\r\n');
    expect(await reset).toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
    expect((await call({ ':method': 'GET', ':path': '/after' })).status).toBe(200);
    expect(pod.seen.some((r) => r.url === '/smuggled')).toBe(false);
  });

  it('answers curl --http2-prior-knowledge', async () => {
    const { stdout } = await run('curl', ['-sS', '--http2-prior-knowledge', '-H', 'Host: app.example.com', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `http://127.0.0.1:${port}/`]);
    expect(stdout).toBe('2 200');
  });
});
