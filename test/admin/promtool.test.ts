/**
 * Issue 9, finding 12: /metrics passes `promtool check metrics` (no `_total`
 * on a gauge), Node/process metrics carry their standard names
 * (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, …) and
 * tidegate's own the `tidegate_` prefix. Run on a live serve after traffic,
 * so labelled series exist. Without promtool this fails under CI=true
 * (.ci/run installs Debian's prometheus package) and is skipped elsewhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { getMetrics, startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { QueueMetrics } from '../../src/queue/metrics.js';

const PROMTOOL = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
const MISSING = 'promtool not found: apt-get install prometheus (Debian ships promtool in it; .ci/run installs it)';

let app: Upstream;
let edge: TestEdge;

beforeAll(async () => {
  app = await startUpstream('app');
  edge = await startEdge(`domain: example.com
services:
  - name: app
    revisions:
      - name: app-1
        endpoints: ["${app.address}"]
    traffic: [{ revisionName: app-1, percent: 100 }]
  - name: gone
    revisions:
      - name: gone-1
        endpoints: ["127.0.0.1:1"]
    traffic: [{ revisionName: gone-1, percent: 100 }]
`);
});

afterAll(async () => {
  await edge?.close();
  await app?.close();
});

function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

/** The metric families in an exposition: name → type. */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

function expectStandardNames(text: string): void {
  const names = families(text);
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds']) expect(names.has(name), name).toBe(true);
  const odd = [...names.keys()].filter((n) => !/^(tidegate_|process_|nodejs_)/.test(n) || n.startsWith('tidegate_process_'));
  expect(odd).toEqual([]);
  for (const [name, type] of names) if (name.endsWith('_total')) expect(type, name).toBe('counter');
}

describe('/metrics is promtool-clean with standard process metric names', () => {
  it('edge (serve), after traffic', async (ctx) => {
    if (!PROMTOOL) {
      if (process.env['CI'] === 'true') throw new Error(MISSING);
      ctx.skip(MISSING);
    }
    for (const [host, path] of [['app.example.com', '/'], ['app.example.com', '/?status=503'], ['gone.example.com', '/'], ['nobody.example.com', '/']] as const) await edge.get(host, path);
    // The gauges are refreshed once a second.
    await waitFor(async () => (await getMetrics(edge.adminPort)).includes('tidegate_revision_ready_pods{'), 5000, 'gauges with labels');
    const text = await getMetrics(edge.adminPort);
    expect(text).toMatch(/tidegate_requests_total\{service="app",revision="app-1",code="200"\} 1/);
    expect(text).toMatch(/tidegate_errors_total\{hop="router-no-route"\} 1/);
    expect(promtool(text)).toEqual({ status: 0, out: '' });
    expectStandardNames(text);
  });

  it('queue-proxy', async (ctx) => {
    if (!PROMTOOL) {
      if (process.env['CI'] === 'true') throw new Error(MISSING);
      ctx.skip(MISSING);
    }
    const m = new QueueMetrics();
    m.requests.labels('r-1', '200').inc();
    m.duration.labels('r-1').observe(0.02);
    m.inFlight.labels('r-1', 'p').set(1);
    m.queueDepth.labels('r-1').set(0);
    m.errors.labels('queue-proxy-timeout').inc();
    m.ready.labels('r-1', 'p').set(1);
    const text = await m.registry.metrics();
    expect(promtool(text)).toEqual({ status: 0, out: '' });
    expectStandardNames(text);
  });
});
