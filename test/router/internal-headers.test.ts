import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import type { QueueProxyHandle } from '../../src/queue/sidecar.js';
import type { PodRegistry } from '../../src/queue/registration.js';
import type { PodStat } from '../../src/store/store.js';
import { INTERNAL_HEADERS } from '../../src/upstream/hop-by-hop.js';
import { startTestQueueProxy } from '../support/queue-proxy.js';

// Issue 9, finding 6 (the edge's half): headers tidegate's parts send each
// other were taken from clients as they came. `K-Proxy-Request: activator`
// made a queue-proxy count the request as the activator's, which the
// autoscaler subtracts (the load went unseen), and `K-Network-Probe: queue`
// was answered "200 queue" by the queue-proxy for any client. The edge now
// removes them all; the ones it sets itself still reach the queue-proxy.
//
// client → edge → queue-proxy (in this process, stats recorded) → app

let app: Upstream;
let qp: QueueProxyHandle;
let edge: TestEdge;
const stats: PodStat[] = [];

beforeAll(async () => {
  app = await startUpstream('app');
  const store: PodRegistry = {
    registerPod: () => Promise.resolve(),
    reportStats: (s) => (stats.push(...s), Promise.resolve()),
    removePod: () => Promise.resolve(),
  };
  qp = await startTestQueueProxy(app.address, { revision: 'app-1', podId: 'pod-q', store, periodMs: 100 });
  // containerConcurrency 1 at the edge: a second request at once waits in its activator buffer.
  edge = await startEdge(`
domain: example.com
services:
  - name: app
    revisions:
      - name: app-1
        containerConcurrency: 1
        endpoints: ["127.0.0.1:${qp.port}"]
    traffic:
      - revisionName: app-1
        percent: 100
`);
  await waitFor(() => edge.edge.revision('app-1')?.readyPods === 1 && qp.ready(), 5000, 'pod and queue-proxy ready');
});

afterAll(async () => {
  await edge?.close();
  await qp?.shutdown();
  await app?.close();
});

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const r = await request(`http://127.0.0.1:${edge.port}${path}`, { headers: { host: 'app.example.com', ...headers } });
  return { status: r.statusCode, body: await r.body.text() };
}

/** Σ figure × period over the stats reported since `from` (per-second figures → counts). */
function total(from: number, f: (s: PodStat) => number): number {
  let sum = 0;
  for (let i = Math.max(from, 1); i < stats.length; i++) sum += (f(stats[i]!) * (stats[i]!.time - stats[i - 1]!.time)) / 1000;
  return sum;
}

/** Where to start counting: after two fresh reports, so no earlier request falls in the window. */
async function mark(): Promise<number> {
  const now = stats.length;
  await waitFor(() => stats.length >= now + 2, 2000, 'two fresh stats reports');
  return stats.length;
}

/** Waits until every request sent has been counted out (a report with nothing in flight after them). */
async function reported(from: number, requests: number): Promise<void> {
  await waitFor(() => total(from, (s) => s.requests) >= requests - 0.01 && stats.at(-1)!.concurrency === 0, 3000, `${requests} requests reported`);
}

const internal: Record<string, string> = { 'x-tidegate-anything': 'x', 'X-Tidegate-Cold-Start': '1' };
for (const n of INTERNAL_HEADERS) internal[n] = n === 'k-proxy-request' ? 'activator' : 'queue';

describe('internal headers from clients (client → edge → queue-proxy → app)', () => {
  it('never reach the pod', async () => {
    const seen = app.seen.length;
    const r = await get('/internal', { ...internal, 'x-ordinary': 'kept' });
    expect(r.status).toBe(200);
    const got = app.seen.slice(seen);
    expect(got.map((s) => s.url)).toEqual(['/internal']);
    const names = Object.keys(got[0]!.headers);
    expect(names.filter((n) => INTERNAL_HEADERS.includes(n) || n.startsWith('x-tidegate-'))).toEqual([]);
    expect(got[0]!.headers['x-ordinary']).toBe('kept');
  });

  it('K-Network-Probe: queue through the edge is not answered by the queue-proxy: the app answers it', async () => {
    const seen = app.seen.length;
    const r = await get('/probe-from-outside', { 'k-network-probe': 'queue' });
    expect(r).toEqual({ status: 200, body: 'app\n' });
    expect(app.seen.slice(seen).map((s) => s.url)).toEqual(['/probe-from-outside']);
  });

  it('K-Proxy-Request: activator from a client does not hide its load: the queue-proxy counts it as the pod’s own', async () => {
    const from = await mark();
    for (let i = 0; i < 3; i++) expect((await get(`/claimed?i=${i}`, { 'k-proxy-request': 'activator' })).status).toBe(200);
    await reported(from, 3);
    expect(total(from, (s) => s.requests)).toBeCloseTo(3, 6);
    expect(total(from, (s) => s.proxiedRequests)).toBeCloseTo(0, 6);
  });

  it('the edge’s own K-Proxy-Request still reaches the queue-proxy (a request that waited in its buffer)', async () => {
    const from = await mark();
    // Two at once at containerConcurrency 1: the second waits in the edge's activator buffer.
    const answers = await Promise.all([get('/first?sleep=300'), get('/second?sleep=10')]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    await reported(from, 2);
    expect(total(from, (s) => s.requests)).toBeCloseTo(2, 6);
    expect(total(from, (s) => s.proxiedRequests)).toBeCloseTo(1, 6);
  });
});
