import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startResetter, startUpstream, type Upstream } from '../support/upstream.js';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { rawRequest } from '../support/raw-http.js';
import type { WriteFn } from '../../src/observe/line-writer.js';

const FIELDS = ['time', 'client', 'method', 'host', 'path', 'protocol', 'status', 'bytes_in', 'bytes_out', 'duration_ms', 'service', 'revision', 'pod', 'cold_start_ms', 'retries', 'error', 'trace_id'];

let app: Upstream;
let slow: Upstream;
let full: Upstream;
let resetter: Awaited<ReturnType<typeof startResetter>>;
let edge: TestEdge;
let text = '';
const collect: WriteFn = (chunk, done) => {
  text += chunk.toString();
  setImmediate(() => done(null, chunk.length));
};

type Line = Record<string, unknown>;
const lines = (): Line[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

/** Waits for the access-log line of the request that matches. */
async function lineFor(match: (l: Line) => boolean, what: string): Promise<Line> {
  let found: Line | undefined;
  await waitFor(() => (found = lines().find(match)) !== undefined, 5000, what);
  return found!;
}

beforeAll(async () => {
  [app, slow] = await Promise.all([startUpstream('app'), startUpstream('slow')]);
  resetter = await startResetter(1);
  // A pod whose queue-proxy is full answers with tidegate's error header itself.
  full = await startUpstream('full', (_req, res) => {
    // ?evil: a header value a broken or hostile pod might send, quotes and backslashes in it.
    const evil = (_req.url ?? '').includes('evil');
    res.writeHead(503, { 'x-tidegate-error': evil ? 'a"b\\c\u00e9' : 'queue-proxy-queue-full', 'content-type': 'text/plain' });
    res.end('queue full\n');
  });
  edge = await startEdge(
    `
domain: example.com
limits:
  max-header-size: 2Ki
services:
  - name: web
    revisions:
      - name: web-00001
        endpoints: ["${app.address}"]
  - name: one
    revisions:
      - name: one-00001
        containerConcurrency: 1
        endpoints: ["${slow.address}"]
  - name: full
    revisions:
      - name: full-00001
        endpoints: ["${full.address}"]
  - name: flaky
    revisions:
      - name: flaky-00001
        endpoints: ["${resetter.address}"]
`,
    { accessLog: collect },
  );
  await waitFor(() => ['web-00001', 'one-00001', 'flaky-00001', 'full-00001'].every((r) => edge.edge.revision(r)?.readyPods === 1), 5000, 'static pods');
});

afterAll(async () => {
  await edge?.close();
  await Promise.all([app?.close(), slow?.close(), resetter?.close(), full?.close()]);
});

describe('access log', () => {
  it('writes one JSON line per request, with exactly the contract fields, after the response', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const r = await edge.get('web.example.com', '/hello?x=1', { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(r.status).toBe(200);
    const l = await lineFor((x) => x['path'] === '/hello?x=1', 'the GET line');
    expect(Object.keys(l)).toEqual(FIELDS);
    expect(l).toMatchObject({
      client: '127.0.0.1',
      method: 'GET',
      host: 'web.example.com',
      protocol: 'http/1.1',
      status: 200,
      bytes_in: 0,
      bytes_out: Buffer.byteLength(r.body),
      service: 'web',
      revision: 'web-00001',
      pod: expect.stringContaining('web-00001') as unknown,
      cold_start_ms: null,
      retries: 0,
      error: null,
      trace_id: traceId,
    });
    expect(new Date(String(l['time'])).toISOString()).toBe(l['time']);
    // Not tracing itself, tidegate passes the client's traceparent on untouched.
    expect(app.seen.find((x) => x.url === '/hello?x=1')!.headers['traceparent']).toBe(`00-${traceId}-00f067aa0ba902b7-01`);
    expect(typeof l['duration_ms']).toBe('number');
  });

  it('counts request and response body bytes', async () => {
    const res = await request(`http://127.0.0.1:${edge.port}/upload`, { method: 'POST', headers: { host: 'web.example.com' }, body: Buffer.alloc(1000, 1) });
    const body = await res.body.text();
    const l = await lineFor((x) => x['path'] === '/upload', 'the POST line');
    expect(l).toMatchObject({ method: 'POST', status: 200, bytes_in: 1000, bytes_out: Buffer.byteLength(body), trace_id: null });
  });

  it('logs a request with no route (404) with its error and no revision', async () => {
    const r = await edge.get('nowhere.example.com', '/x404');
    expect(r.status).toBe(404);
    const l = await lineFor((x) => x['path'] === '/x404', 'the 404 line');
    expect(l).toMatchObject({ status: 404, error: 'router-no-route', service: null, revision: null, pod: null, host: 'nowhere.example.com' });
    expect(l['bytes_out']).toBe(Buffer.byteLength(r.body));
  });

  it('logs requests refused while their head is read (400, 431)', async () => {
    const smuggled = await rawRequest(edge.port, 'POST /x400 HTTP/1.1\r\nHost: web.example.com\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc');
    expect(smuggled.status).toBe(400);
    const l400 = await lineFor((x) => x['path'] === '/x400', 'the 400 line');
    expect(l400).toMatchObject({ method: 'POST', host: 'web.example.com', status: 400, error: 'edge-smuggling', revision: null, client: '127.0.0.1' });
    expect(Object.keys(l400)).toEqual(FIELDS);

    const big = await rawRequest(edge.port, `GET /x431 HTTP/1.1\r\nHost: web.example.com\r\nX-Big: ${'b'.repeat(3000)}\r\n\r\n`);
    expect(big.status).toBe(431);
    const l431 = await lineFor((x) => x['path'] === '/x431', 'the 431 line');
    expect(l431).toMatchObject({ status: 431, error: 'edge-headers-too-large' });
  });

  it('gives a buffered request its wait in cold_start_ms', async () => {
    // containerConcurrency 1: the second request waits in the activator buffer for the first to end.
    const first = edge.get('one.example.com', '/first?sleep=1000');
    await waitFor(() => slow.seen.length === 1, 5000, 'the first request at the pod');
    const second = await edge.get('one.example.com', '/second');
    expect(second.status).toBe(200);
    await first;
    const l = await lineFor((x) => x['path'] === '/second', 'the buffered line');
    expect(typeof l['cold_start_ms']).toBe('number');
    expect(l['cold_start_ms'] as number).toBeGreaterThanOrEqual(0);
    expect((await lineFor((x) => x['path'] === '/first?sleep=1000', 'the first line'))['cold_start_ms']).toBeNull();
  });

  it("logs the X-Tidegate-Error of a pod's own error response (its queue-proxy's)", async () => {
    const r = await edge.get('full.example.com', '/full');
    expect([r.status, r.headers['x-tidegate-error']]).toEqual([503, 'queue-proxy-queue-full']);
    const l = await lineFor((x) => x['path'] === '/full', 'the 503 line');
    expect(l).toMatchObject({ status: 503, error: 'queue-proxy-queue-full', revision: 'full-00001', bytes_out: 11 });
  });

  it('keeps a line valid JSON whatever a pod puts in X-Tidegate-Error, and a client in the path', async () => {
    const r = await rawRequest(edge.port, 'GET /"q\\?evil HTTP/1.1\r\nHost: full.example.com\r\n\r\n');
    expect(r.status).toBe(503);
    const l = await lineFor((x) => typeof x['path'] === 'string' && (x['path']).startsWith('/"q'), 'the hostile line');
    expect(l).toMatchObject({ path: '/"q\\?evil', status: 503, error: 'a"b\\c\u00e9' });
  });

  it('counts retries', async () => {
    // The pod resets its first connection; the GET is tried again and answered.
    const r = await edge.get('flaky.example.com', '/retried');
    expect(r.status).toBe(200);
    const l = await lineFor((x) => x['path'] === '/retried', 'the retried line');
    expect(l).toMatchObject({ status: 200, retries: 1, error: null, revision: 'flaky-00001' });
  });

  it('logs a client that went away with status 0', async () => {
    const ac = new AbortController();
    const p = request(`http://127.0.0.1:${edge.port}/gone?sleep=2000`, { headers: { host: 'web.example.com' }, signal: ac.signal }).catch(() => undefined);
    await waitFor(() => app.seen.some((s) => s.url === '/gone?sleep=2000'), 5000, 'the request at the pod');
    ac.abort();
    await p;
    const l = await lineFor((x) => x['path'] === '/gone?sleep=2000', 'the aborted line');
    expect(l['status']).toBe(0);
  });
});
