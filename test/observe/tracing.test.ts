import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startResetter, startUpstream, type Upstream } from '../support/upstream.js';
import { getMetrics, startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

let app: Upstream;
let slow: Upstream;
let rx: OtlpReceiver;
let resetter: Awaited<ReturnType<typeof startResetter>>;
let edge: TestEdge;

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

beforeAll(async () => {
  [app, slow, rx, resetter] = await Promise.all([startUpstream('app'), startUpstream('slow'), startOtlpReceiver(), startResetter(1)]);
  edge = await startEdge(
    `
domain: example.com
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
  - name: flaky
    revisions:
      - name: flaky-00001
        endpoints: ["${resetter.address}"]
`,
    { otlpEndpoint: rx.endpoint, traceSample: 1, traceDelayMs: 20 },
  );
  await waitFor(() => ['web-00001', 'one-00001', 'flaky-00001'].every((r) => edge.edge.revision(r)?.readyPods === 1), 5000, 'static pods');
});

beforeEach(() => {
  rx.status = 200;
});

afterAll(async () => {
  await edge?.close();
  await Promise.all([app?.close(), slow?.close(), rx?.close(), resetter?.close()]);
});

/** What the pod got as traceparent for the request at `url`. */
function podTraceparent(up: Upstream, url: string): RegExpExecArray {
  const seen = up.seen.find((s) => s.url === url);
  expect(seen, `the pod saw ${url}`).toBeDefined();
  const tp = String(seen!.headers['traceparent']);
  const m = TRACEPARENT.exec(tp);
  expect(m, `a valid traceparent, got ${tp}`).not.toBeNull();
  return m!;
}

async function spanWhere(match: (s: ReceivedSpan) => boolean, what: string): Promise<ReceivedSpan> {
  let found: ReceivedSpan | undefined;
  await waitFor(() => (found = rx.spans.find(match)) !== undefined, 5000, what);
  return found!;
}

describe('tracing', () => {
  it("exports a server span whose parent is the client's span, and the pod's parent is that server span", async () => {
    const r = await edge.get('web.example.com', '/traced', { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'vendor=abc' });
    expect(r.status).toBe(200);
    const [, traceId, podParent, flags] = podTraceparent(app, '/traced');
    expect(traceId).toBe(TRACE);
    expect(podParent).not.toBe(PARENT);
    expect(flags).toBe('01');
    expect(app.seen.find((s) => s.url === '/traced')!.headers['tracestate']).toBe('vendor=abc');

    const span = await spanWhere((s) => s.spanId === podParent, 'the server span');
    expect(span).toMatchObject({ traceId: TRACE, parentSpanId: PARENT, name: 'GET', kind: 2, traceState: 'vendor=abc' });
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET',
      'server.address': 'web.example.com',
      'http.response.status_code': 200,
      'tidegate.service': 'web',
      'tidegate.revision': 'web-00001',
    });
    expect(String(span.attributes['tidegate.pod'])).toContain('web-00001');
    expect(span.resource['service.name']).toBe('tidegate');
    expect(BigInt(span.endTimeUnixNano) >= BigInt(span.startTimeUnixNano)).toBe(true);
    expect(rx.requests.every((q) => q.path === '/v1/traces' && q.contentType === 'application/json')).toBe(true);
  });

  it("follows an unsampled parent: the pod gets tidegate's span id with the flag off, nothing is exported", async () => {
    const trace = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
    await edge.get('web.example.com', '/unsampled', { traceparent: `00-${trace}-${PARENT}-00` });
    const [, traceId, podParent, flags] = podTraceparent(app, '/unsampled');
    expect([traceId, flags]).toEqual([trace, '00']);
    expect(podParent).not.toBe(PARENT);
    // A sampled request after it is exported; the unsampled one never is.
    await edge.get('web.example.com', '/after-unsampled', { traceparent: `00-${TRACE}-${PARENT}-01` });
    const [, , afterSpan] = podTraceparent(app, '/after-unsampled');
    await spanWhere((s) => s.spanId === afterSpan, 'the sampled span after it');
    expect(rx.spans.some((s) => s.traceId === trace)).toBe(false);
  });

  it('starts a new trace for a request without a valid traceparent (root, sampled at --trace-sample 1) and drops its tracestate', async () => {
    await edge.get('web.example.com', '/root', { traceparent: `00-${TRACE.toUpperCase()}-${PARENT}-01`, tracestate: 'orphan=1' });
    const [, traceId, podParent, flags] = podTraceparent(app, '/root');
    expect(traceId).not.toBe(TRACE);
    expect(flags).toBe('01');
    expect(app.seen.find((s) => s.url === '/root')!.headers['tracestate']).toBeUndefined();
    const span = await spanWhere((s) => s.spanId === podParent, 'the root span');
    expect(span.traceId).toBe(traceId);
    expect(span.parentSpanId).toBe('');
  });

  it('adds an activator.buffer child span for a buffered request; the pod still gets the server span as parent', async () => {
    const first = edge.get('one.example.com', '/busy?sleep=1000');
    await waitFor(() => slow.seen.some((s) => s.url === '/busy?sleep=1000'), 5000, 'the first request at the pod');
    const r = await edge.get('one.example.com', '/waited', { traceparent: `00-${TRACE}-${PARENT}-01` });
    expect(r.status).toBe(200);
    await first;
    const [, , podParent] = podTraceparent(slow, '/waited');
    const server = await spanWhere((s) => s.spanId === podParent, 'the server span of the buffered request');
    const buffer = await spanWhere((s) => s.name === 'activator.buffer' && s.parentSpanId === podParent, 'the activator.buffer span');
    expect(server.parentSpanId).toBe(PARENT);
    expect(buffer).toMatchObject({ traceId: TRACE, kind: 1 });
    expect(buffer.attributes).toMatchObject({ 'tidegate.revision': 'one-00001', 'tidegate.released': 'true' });
    expect(buffer.spanId).not.toBe(server.spanId);
    expect(BigInt(buffer.startTimeUnixNano) >= BigInt(server.startTimeUnixNano)).toBe(true);
    expect(BigInt(buffer.endTimeUnixNano) <= BigInt(server.endTimeUnixNano)).toBe(true);
  });

  it('gives a retry that waits for its only pod (granted at once) a released activator.buffer span', async () => {
    // The pod resets the first connection; the GET goes back through the buffer to the same, free, pod.
    const trace = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2';
    const r = await edge.get('flaky.example.com', '/retry', { traceparent: `00-${trace}-${PARENT}-01` });
    expect(r.status).toBe(200);
    const server = await spanWhere((s) => s.traceId === trace && s.kind === 2, 'the server span of the retried request');
    expect(server.attributes['http.response.status_code']).toBe(200);
    const buffers = rx.spans.filter((s) => s.traceId === trace && s.name === 'activator.buffer');
    expect(buffers.map((b) => b.attributes['tidegate.released'])).toEqual(['true']);
    expect(buffers[0]!.parentSpanId).toBe(server.spanId);
  });

  it('marks a request tidegate failed: 404 span with error.type and an error status', async () => {
    await edge.get('nowhere.example.com', '/missing', { traceparent: `00-${TRACE}-${PARENT}-01` });
    const span = await spanWhere((s) => s.attributes['http.response.status_code'] === 404, 'the 404 span');
    expect(span.attributes['error.type']).toBe('router-no-route');
    expect(span.attributes['tidegate.revision']).toBeUndefined();
  });

  it('counts failed exports and keeps serving while the collector fails', async () => {
    rx.status = 503;
    const before = rx.requests.length;
    for (let i = 0; i < 3; i++) expect((await edge.get('web.example.com', `/while-down-${i}`)).status).toBe(200);
    await waitFor(async () => /tidegate_trace_export_failures_total [1-9]/.test(await getMetrics(edge.adminPort)), 5000, 'a counted export failure');
    expect(rx.requests.length).toBeGreaterThan(before);
    rx.status = 200;
    await edge.get('web.example.com', '/after-down', { traceparent: `00-${TRACE}-${PARENT}-01` });
    const [, , podParent] = podTraceparent(app, '/after-down');
    await spanWhere((s) => s.spanId === podParent, 'a span exported once the collector is back');
    expect(await getMetrics(edge.adminPort)).toMatch(/tidegate_trace_spans_dropped_total\{reason="export-failed"\} [1-9]/);
  });
});
