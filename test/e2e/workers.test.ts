import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getMetrics, metricValue, startEdge, staticAppConfig, waitFor, type TestEdge } from '../support/serve.js';
import { appConfig, HOST } from './harness.js';
import { descendants, HAVE_DIST, spawnServe } from './serve-process.js';

// `serve --workers N`: several event loops on one data port, one control plane.
// The main thread runs from the sources here; the other loops run dist/ (npm test builds it).

let edge: TestEdge | null = null;
let pod: http.Server | null = null;

afterEach(async () => {
  await edge?.close();
  edge = null;
  await new Promise<void>((r) => (pod ? pod.close(() => r()) : r()));
  pod = null;
});

interface CountingPod {
  address: string;
  max(): number;
  served(): number;
  inFlight(): number;
  /** The pod's own time-weighted average of requests in flight over [from, to) (epoch ms). */
  concurrency(from: number, to: number): number;
}

/** A pod that holds each request `holdMs` and records the most it ever had at once, and when each one was there. */
async function startCountingPod(holdMs: number): Promise<CountingPod> {
  let now = 0;
  let max = 0;
  let served = 0;
  const spans: [number, number][] = [];
  pod = http.createServer((req, res) => {
    now++;
    max = Math.max(max, now);
    const start = Date.now();
    setTimeout(() => {
      now--;
      served++;
      spans.push([start, Date.now()]);
      res.end('ok');
    }, holdMs);
  });
  pod.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => pod!.listen(0, '127.0.0.1', r));
  const concurrency = (from: number, to: number): number => {
    let sum = 0;
    for (const [a, b] of spans) sum += Math.max(0, Math.min(b, to) - Math.max(a, from));
    return sum / (to - from);
  };
  return { address: `127.0.0.1:${(pod.address() as AddressInfo).port}`, max: () => max, served: () => served, inFlight: () => now, concurrency };
}

/** One request on a connection of its own (so the kernel spreads them over the loops). */
function getOnce(port: number, urlPath = '/'): Promise<number> {
  return getWithHeaders(port, urlPath).then((r) => r.status);
}

function getWithHeaders(port: number, urlPath = '/'): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, headers: { host: HOST }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', () => resolve({ status: 0, headers: {} }));
    req.end();
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!HAVE_DIST)('serve --workers', () => {
  it.each([2, 4])('with containerConcurrency 1 and %i loops, the pod never has two requests at once', async (workers) => {
    const p = await startCountingPod(50);
    edge = await startEdge(staticAppConfig(p.address, { revision: ['containerConcurrency: 1'] }), { workers });
    await waitFor(() => edge!.edge.revision('app-1')?.readyPods === 1, 5000, 'static pod');
    const statuses = await Promise.all(Array.from({ length: 20 }, () => getOnce(edge!.port)));
    expect(statuses).toEqual(Array(20).fill(200));
    expect(p.served()).toBe(20);
    expect(p.max()).toBe(1);
    // The other loops served some of them (the main process's own counter has fewer than 20)…
    expect(metricValue(await edge.metrics.registry.metrics(), /^tidegate_requests_total\{.*code="200"/)).toBeLessThan(20);
    // …and every loop's requests are in the process's metrics (the other loops report once a second).
    await waitFor(async () => metricValue(await getMetrics(edge!.adminPort), /^tidegate_requests_total\{.*code="200"/) === 20, 5000, '20 requests counted');
  }, 30_000);

  it('a limited revision with free pods answers every loop at once, with no cold-start mark', async () => {
    const p = await startCountingPod(1);
    edge = await startEdge(staticAppConfig(p.address, { revision: ['containerConcurrency: 4'] }), { workers: 2 });
    await waitFor(() => edge!.edge.revision('app-1')?.readyPods === 1, 5000, 'static pod');
    for (let i = 0; i < 20; i++) {
      const r = await getWithHeaders(edge.port);
      expect(r.status).toBe(200);
      expect(r.headers['x-tidegate-cold-start']).toBeUndefined();
    }
    expect(metricValue(await edge.metrics.registry.metrics(), /^tidegate_requests_total\{.*code="200"/)).toBeLessThan(20);
  });

  it.each([1, 2])('with %i loop(s), the per-pod stats the autoscaler gets match the concurrency the pod itself saw, within 1 %', async (workers) => {
    const p = await startCountingPod(1000);
    edge = await startEdge(staticAppConfig(p.address), { workers });
    await waitFor(() => edge!.edge.revision('app-1')?.readyPods === 1, 5000, 'static pod');
    const start = Date.now();
    // 8 clients, each with one request in flight at all times, for 5 s.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() - start < 5000) await getOnce(edge!.port);
      }),
    );
    await new Promise((r) => setTimeout(r, 1500)); // the last period reported
    // Whole periods well inside the load; each stat covers the second before its time.
    const inside = (await edge.store.readStats('app-1', start))
      .filter((s) => !s.pod.startsWith('activator:'))
      .filter((s) => s.time > start + 1500 && s.time <= start + 4500);
    expect(inside.length).toBeGreaterThanOrEqual(2);
    expect(new Set(inside.map((s) => s.time)).size).toBe(inside.length); // one entry per pod and period, as one loop reports
    const reported = inside.reduce((a, s) => a + s.concurrency, 0) / inside.length;
    const truth = inside.reduce((a, s) => a + p.concurrency(s.time - 1000, s.time), 0) / inside.length;
    console.log(`${workers} loop(s): the autoscaler got ${reported.toFixed(3)}, the pod saw ${truth.toFixed(3)}`);
    expect(reported).toBeGreaterThan(7.5);
    expect(Math.abs(reported - truth) / truth).toBeLessThan(0.01);
  }, 30_000);

  it('wakes a revision from zero once for a burst spread over the loops', async () => {
    edge = await startEdge(appConfig({ maxScale: 3, target: 100 }), { workers: 2 });
    const seen = new Set<string>();
    const watch = setInterval(() => {
      void edge?.store.listPods('app-1').then((pods) => pods.forEach((p) => seen.add(p.id)));
    }, 20);
    try {
      const statuses = await Promise.all(Array.from({ length: 20 }, () => getOnce(edge!.port)));
      expect(statuses).toEqual(Array(20).fill(200));
    } finally {
      clearInterval(watch);
    }
    expect(seen.size).toBe(1);
  }, 30_000);

  it('on shutdown finishes the requests in flight on every loop', async () => {
    const p = await startCountingPod(800);
    edge = await startEdge(staticAppConfig(p.address), { workers: 2 });
    await waitFor(() => edge!.edge.revision('app-1')?.readyPods === 1, 5000, 'static pod');
    const inFlight = Array.from({ length: 16 }, () => getOnce(edge!.port));
    await waitFor(() => p.inFlight() === 16, 5000, 'all 16 at the pod');
    expect(edge.edge.requestsInFlight).toBeLessThan(16); // some are on the other loop
    const closing = edge.close();
    edge = null;
    expect(await Promise.all(inFlight)).toEqual(Array(16).fill(200));
    await closing;
  }, 30_000);

  it('restarts a loop that dies, and the port keeps serving', async () => {
    const p = await startCountingPod(1);
    edge = await startEdge(staticAppConfig(p.address), { workers: 2 });
    await waitFor(() => edge!.edge.revision('app-1')?.readyPods === 1, 5000, 'static pod');
    edge.loops.crash(1);
    await waitFor(async () => metricValue(await getMetrics(edge!.adminPort), /^tidegate_worker_restarts_total /) === 1, 5000, 'the restart counted');
    await waitFor(() => edge!.loops.listening === 2, 5000, 'the loop listening again');
    const before = metricValue(await edge.metrics.registry.metrics(), /^tidegate_requests_total\{.*code="200"/);
    const statuses = await Promise.all(Array.from({ length: 40 }, () => getOnce(edge!.port)));
    expect(statuses).toEqual(Array(40).fill(200));
    // The loop started again serves its share.
    expect(metricValue(await edge.metrics.registry.metrics(), /^tidegate_requests_total\{.*code="200"/) - before).toBeLessThan(40);
  }, 30_000);

  it("writes every loop's access-log lines, each whole, through the main process", async () => {
    const p = await startCountingPod(1);
    const chunks: Buffer[] = [];
    edge = await startEdge(staticAppConfig(p.address), {
      workers: 2,
      accessLog: (chunk, done) => {
        chunks.push(Buffer.from(chunk));
        done(null, chunk.length);
      },
    });
    await waitFor(() => edge!.edge.revision('app-1')?.readyPods === 1, 5000, 'static pod');
    const statuses = await Promise.all(Array.from({ length: 30 }, () => getOnce(edge!.port, '/logged')));
    expect(statuses).toEqual(Array(30).fill(200));
    expect(metricValue(await edge.metrics.registry.metrics(), /^tidegate_requests_total\{.*code="200"/)).toBeLessThan(30);
    await waitFor(() => Buffer.concat(chunks).toString().split('\n').filter((l) => l.includes('"/logged"')).length === 30, 5000, '30 lines');
    for (const line of Buffer.concat(chunks).toString().trim().split('\n')) expect(JSON.parse(line)).toMatchObject({ path: '/logged', status: 200 });
  });

  it('a serve process with --workers 3: SIGTERM with requests in flight on the loops, all answered, exit 0, no loop left', async () => {
    const p = await startCountingPod(700);
    const serve = await spawnServe(staticAppConfig(p.address), ['--workers', '3']);
    try {
      await waitFor(() => /tidegate serving/.test(serve.output()), 10_000, 'serving');
      const loops = descendants(serve.child.pid!);
      expect(loops.length).toBeGreaterThanOrEqual(2);
      const inFlight = Array.from({ length: 12 }, () => getOnce(serve.port));
      await waitFor(() => p.inFlight() === 12, 5000, 'all 12 at the pod');
      serve.child.kill('SIGTERM');
      expect(await Promise.all(inFlight)).toEqual(Array(12).fill(200));
      expect(await serve.exit).toBe(0);
      expect(loops.filter(alive)).toEqual([]);
    } finally {
      await serve.cleanup();
    }
  }, 30_000);

  it('reloads the config in every loop under load with no failed request', async () => {
    const p = await startCountingPod(5);
    const config = staticAppConfig(p.address);
    edge = await startEdge(config, { workers: 2 });
    await waitFor(() => edge!.edge.revision('app-1')?.readyPods === 1, 5000, 'static pod');
    const statuses: number[] = [];
    let running = true;
    const load = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (running) statuses.push(await getOnce(edge!.port));
      }),
    );
    // A second host for the same service: every loop must route it once the reload lands.
    await edge.rewrite(config.replace('  - name: app\n', '  - name: app\n    hosts: [other.example.com]\n'));
    await waitFor(async () => (await edge!.get('other.example.com')).status === 200, 5000, 'the reload');
    const other = await Promise.all(
      Array.from({ length: 20 }, () =>
        new Promise<number>((resolve) => {
          const req = http.request({ host: '127.0.0.1', port: edge!.port, path: '/', headers: { host: 'other.example.com' }, agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', () => resolve(0));
          req.end();
        }),
      ),
    );
    running = false;
    await load;
    expect(statuses.length).toBeGreaterThan(50);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(other).toEqual(Array(20).fill(200));
  }, 30_000);
});
