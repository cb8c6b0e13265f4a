/**
 * Pods that refuse connections (nothing listens any more). A refused
 * connection never reached an app, so any request, POST included, may go to
 * another pod; a static revision whose every pod refuses answers 502 at
 * once instead of waiting for pods nobody will restart; one pod death is
 * one ejection however many connections it refused; and a managed
 * revision, which does wait for a pod that accepts, still answers within
 * its timeoutSeconds.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { deadPort } from '../support/upstream.js';
import { getMetrics, startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { startBareEdge, type BareEdge } from '../support/bare-edge.js';

/** An app that answers POSTs with the length of their body and closes each connection, so every request opens a new one. */
async function startApp(name: string): Promise<{ address: string; posts: number; kill(): void; close(): Promise<void> }> {
  const state = { address: '', posts: 0, kill: () => undefined as void, close: () => Promise.resolve() };
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      if (req.method === 'POST') state.posts++;
      res.writeHead(200, { connection: 'close', 'content-type': 'text/plain' });
      res.end(`${name} ${bytes}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Stops listening (new connections are refused); requests already inside finish.
  state.kill = () => void server.close();
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

const ejections = (metrics: string, revision: string): number => Number(new RegExp(`^tidegate_pod_ejections_total\\{revision="${revision}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);

describe('a static revision whose pods refuse connections', () => {
  let edge: TestEdge;
  let dead: number;
  let deadToo: number;
  let alive: Awaited<ReturnType<typeof startApp>>;
  let dying: Awaited<ReturnType<typeof startApp>>;

  beforeAll(async () => {
    [dead, deadToo, alive, dying] = await Promise.all([deadPort(), deadPort(), startApp('alive'), startApp('dying')]);
    edge = await startEdge(`
domain: example.com
services:
  - name: dead
    revisions:
      - name: dead-1
        endpoints: ["127.0.0.1:${dead}"]
    traffic: [{ revisionName: dead-1, percent: 100 }]
  - name: deadpair
    revisions:
      - name: deadpair-1
        containerConcurrency: 2
        endpoints: ["127.0.0.1:${dead}", "127.0.0.1:${deadToo}"]
    traffic: [{ revisionName: deadpair-1, percent: 100 }]
  - name: pair
    revisions:
      - name: pair-1
        endpoints: ["${dying.address}", "${alive.address}"]
    traffic: [{ revisionName: pair-1, percent: 100 }]
`);
    await waitFor(() => edge.edge.revision('dead-1')?.readyPods === 1 && edge.edge.revision('deadpair-1')?.readyPods === 2 && edge.edge.revision('pair-1')?.readyPods === 2, 5000, 'static pods');
  });

  afterAll(async () => {
    await edge?.close();
    await Promise.all([alive?.close(), dying?.close()]);
  });

  async function timed(host: string, method: 'GET' | 'POST' = 'GET') {
    const t0 = Date.now();
    const res = await request(`http://127.0.0.1:${edge.port}/`, { method, headers: { host }, ...(method === 'POST' ? { body: 'x'.repeat(100) } : {}), signal: AbortSignal.timeout(10_000) });
    await res.body.text();
    return { status: res.statusCode, error: res.headers['x-tidegate-error'], ms: Date.now() - t0 };
  }

  it('answers 502 at once to each of many sequential requests, before and after the pod is tried again', async () => {
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await timed('dead.example.com', i % 2 === 0 ? 'GET' : 'POST'));
    // The first ejection (1 s) runs out: the pod is tried again, refuses again, and is left out for longer.
    await new Promise((r) => setTimeout(r, 1200));
    for (let i = 0; i < 4; i++) results.push(await timed('dead.example.com'));
    for (const r of results) expect(r).toMatchObject({ status: 502, error: 'upstream-refused' });
    for (const r of results) expect(r.ms).toBeLessThan(1000);
  });

  it('answers 502 at once to many concurrent requests, for a revision of two dead pods with a concurrency limit too', async () => {
    const results = await Promise.all([
      ...Array.from({ length: 12 }, () => timed('dead.example.com')),
      ...Array.from({ length: 12 }, (_, i) => timed('deadpair.example.com', i % 2 === 0 ? 'GET' : 'POST')),
    ]);
    for (const r of results) expect(r).toMatchObject({ status: 502, error: 'upstream-refused' });
    for (const r of results) expect(r.ms).toBeLessThan(1000);
  });

  it('counts a dead pod as one ejection, however many connections it refused', async () => {
    const metrics = await getMetrics(edge.adminPort);
    expect(ejections(metrics, 'dead-1')).toBe(1);
    expect(ejections(metrics, 'deadpair-1')).toBe(2);
  });

  it('a pod killed under POST load: the POSTs it refused are sent to the other pod and succeed; one ejection', async () => {
    const workers = 4;
    const dispatcher = new Agent({ connections: workers });
    const outcomes: { status: number; error: unknown; body: string }[] = [];
    let running = true;
    let n = 0;
    const loops = Array.from({ length: workers }, async () => {
      while (running) {
        const body = 'p'.repeat(1000 + (n++ % 50));
        const res = await request(`http://127.0.0.1:${edge.port}/`, { method: 'POST', headers: { host: 'pair.example.com' }, body, dispatcher });
        outcomes.push({ status: res.statusCode, error: res.headers['x-tidegate-error'], body: await res.body.text() });
      }
    });
    await waitFor(() => dying.posts >= 20, 5000, 'POSTs at the pod that will die');
    dying.kill();
    const atKill = outcomes.length;
    await waitFor(() => outcomes.length >= atKill + 200, 10_000, 'POSTs after the kill');
    running = false;
    await Promise.all(loops);
    await dispatcher.close();

    // Only a request the dying pod had already taken in may fail (it is reset, the pod may have seen it); none is refused.
    const failed = outcomes.filter((o) => o.status !== 200);
    expect(failed.filter((o) => o.error === 'upstream-refused')).toEqual([]);
    expect(failed.length).toBeLessThanOrEqual(workers);
    // Every body arrived whole at whichever pod answered.
    for (const o of outcomes.filter((x) => x.status === 200)) expect(o.body).toMatch(/^(alive|dying) 10[0-4]\d$/);
    expect(ejections(await getMetrics(edge.adminPort), 'pair-1')).toBe(1);
  });
});

describe('a managed revision whose pods refuse connections', () => {
  let bare: BareEdge;
  let dead: number;
  let alive: Awaited<ReturnType<typeof startApp>>;

  beforeAll(async () => {
    [dead, alive] = await Promise.all([deadPort(), startApp('alive')]);
    bare = await startBareEdge(`
domain: example.com
activator:
  buffer-timeout: 20s
services:
  - name: lone
    revisions:
      - name: lone-1
        command: [node, app.js]
        timeoutSeconds: 1
    traffic: [{ revisionName: lone-1, percent: 100 }]
  - name: two
    revisions:
      - name: two-1
        command: [node, app.js]
        containerConcurrency: 10
    traffic: [{ revisionName: two-1, percent: 100 }]
`);
    bare.setPods('lone-1', [`127.0.0.1:${dead}`]);
  });

  afterAll(async () => {
    bare?.close();
    await alive?.close();
  });

  async function timed(host: string, method: 'GET' | 'POST' = 'GET', body?: string) {
    const t0 = Date.now();
    const res = await request(`http://127.0.0.1:${bare.port}/`, { method, headers: { host }, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(10_000) });
    return { status: res.statusCode, error: res.headers['x-tidegate-error'], body: await res.body.text(), ms: Date.now() - t0 };
  }

  it('waits for a pod that accepts, but never past timeoutSeconds, also for requests that arrive while its only pod is left out', async () => {
    const first = timed('lone.example.com');
    await new Promise((r) => setTimeout(r, 300)); // the pod has refused and is ejected by now
    const later = await Promise.all([timed('lone.example.com'), timed('lone.example.com', 'POST', 'abc')]);
    for (const r of [await first, ...later]) {
      expect(r).toMatchObject({ status: 504 });
      expect(r.ms).toBeLessThan(1600);
    }
  });

  it('sends a POST (with its body) that one pod refused to the other pod', async () => {
    bare.setPods('two-1', [`127.0.0.1:${dead}`, alive.address]);
    // Round robin over two pods: one of the first two requests meets the dead one.
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await timed('two.example.com', 'POST', 'b'.repeat(5000 + i)));
    expect(results.map((r) => `${r.status} ${r.body}`)).toEqual(['200 alive 5000', '200 alive 5001', '200 alive 5002', '200 alive 5003']);
    expect(ejections(await bare.metrics.registry.metrics(), 'two-1')).toBe(1);
  });
});
