/**
 * deploy/grafana/tidegate.json queries only metrics tidegate exposes: every
 * metric name in every panel and variable query is a family on a live
 * serve's /metrics or in the queue-proxy's registry (a renamed metric would
 * leave a panel silently empty). Its PromQL parses (`promtool check rules`,
 * where promtool is installed: under CI=true it must be), and the dashboard
 * is well-formed: unique panel ids, a grid 24 wide, every `$variable` defined.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueueMetrics } from '../../src/queue/metrics.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { getMetrics, startEdge, waitFor, type TestEdge } from '../support/serve.js';

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string | { query: string } }> };
}

const dashboard = JSON.parse(fs.readFileSync('deploy/grafana/tidegate.json', 'utf8')) as Dashboard;
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
const variableQueries = dashboard.templating.list.filter((v) => v.type === 'query').map((v) => ({ panel: `variable ${v.name}`, expr: typeof v.query === 'string' ? v.query : v.query.query }));

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/** The metric names a PromQL expression selects (functions, keywords, labels, durations and strings left out). */
function metricNames(expr: string): string[] {
  let e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  e = e.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  e = e.replace(/label_values\(\s*([a-zA-Z_:][\w:]*)\s*,[^)]*\)/g, ' $1 ');
  const names: string[] = [];
  for (const m of e.matchAll(/(?<![\w$.])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1]!.toLowerCase())) continue;
    names.push(m[1]!);
  }
  return names;
}

/** Metric families of an exposition: name → type, with a histogram's _bucket/_sum/_count series. */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    out.set(m[1]!, m[2]!);
    if (m[2] === 'histogram' || m[2] === 'summary') for (const s of ['_bucket', '_sum', '_count']) out.set(`${m[1]}${s}`, m[2]);
  }
  return out;
}

let app: Upstream;
let edge: TestEdge;
let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-grafana-'));
  app = await startUpstream('app');
  edge = await startEdge(`domain: example.com
services:
  - name: app
    revisions:
      - name: app-1
        endpoints: ["${app.address}"]
`);
});
afterAll(async () => {
  await edge?.close();
  await app?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('deploy/grafana/tidegate.json', () => {
  it('the name extraction finds metrics and skips functions, labels and keywords', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le, revision) (rate(a_bucket{x="y{z}"}[5m])))')).toEqual(['a_bucket']);
    expect(metricNames('sum by (r) (b{revision=~"$revision"} unless on (instance) c)')).toEqual(['b', 'c']);
    expect(metricNames('label_values(d, revision)')).toEqual(['d']);
  });

  it('queries only metrics that a live serve or the queue-proxy exposes', async () => {
    await edge.get('app.example.com', '/');
    await waitFor(async () => (await getMetrics(edge.adminPort)).includes('tidegate_revision_ready_pods{'), 5000, 'gauges with labels');
    const known = new Map([...families(await new QueueMetrics().registry.metrics()), ...families(await getMetrics(edge.adminPort))]);
    const all = [...exprs, ...variableQueries];
    expect(all.length).toBeGreaterThan(20);
    const missing = all.flatMap(({ panel, expr }) => metricNames(expr).filter((n) => !known.has(n)).map((n) => `${panel}: ${n}`));
    expect(missing).toEqual([]);
    // The scaling story is there: decisions, readiness, concurrency, panic, buffering, cold starts.
    const used = new Set(all.flatMap(({ expr }) => metricNames(expr)));
    for (const n of ['tidegate_revision_desired_pods', 'tidegate_revision_ready_pods', 'tidegate_revision_stable_concurrency', 'tidegate_revision_panic_mode', 'tidegate_activator_buffered_requests', 'tidegate_cold_start_seconds_bucket', 'tidegate_requests_total', 'tidegate_request_duration_seconds_bucket']) {
      expect(used.has(n), n).toBe(true);
    }
  });

  it('its PromQL parses (promtool check rules)', (ctx) => {
    const missing = 'promtool not found: apt-get install prometheus (Debian ships promtool in it; .ci/run installs it)';
    if (spawnSync('promtool', ['--version']).status !== 0) {
      if (process.env['CI'] === 'true') throw new Error(missing);
      ctx.skip(missing);
    }
    // Grafana's variables as Grafana substitutes them.
    const rules = exprs.map(({ expr }, i) => `      - record: dashboard:expr:${i}\n        expr: ${JSON.stringify(expr.replaceAll('$revision', '.*').replaceAll('$__rate_interval', '1m'))}`);
    const file = path.join(dir, 'rules.yaml');
    fs.writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 20_000 });
    expect(`${r.stdout}${r.stderr}`).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
    expect(r.status).toBe(0);
  });

  it('is a well-formed dashboard: unique ids, a 24-wide grid, one Prometheus variable, every $variable defined', () => {
    expect(dashboard.uid).toBe('tidegate');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      const refs = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refs).size, p.title).toBe(refs.length);
    }
    const defined = new Set([...dashboard.templating.list.map((v) => v.name), '__rate_interval', '__all']);
    const text = JSON.stringify(dashboard);
    const used = [...text.matchAll(/\$\{?([a-zA-Z_]\w*)/g)].map((m) => m[1]!);
    expect(used.filter((v) => !defined.has(v))).toEqual([]);
  });
});
