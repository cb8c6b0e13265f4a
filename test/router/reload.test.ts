import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';

let a: Upstream, b: Upstream;
let edge: TestEdge;

const config = (traffic: string, extra = '') => `
domain: example.com
services:
  - name: web
    revisions:
      - name: web-a
        endpoints: ["${a.address}"]
      - name: web-b
        endpoints: ["${b.address}"]
    traffic:
${traffic}
${extra}`;

beforeAll(async () => {
  [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
  edge = await startEdge(config('      - { revisionName: web-a, percent: 100 }'));
  await waitFor(() => edge.edge.revision('web-a')?.readyPods === 1 && edge.edge.revision('web-b')?.readyPods === 1, 5000, 'static pods');
});

afterAll(async () => {
  await edge?.close();
  await Promise.all([a?.close(), b?.close()]);
});

describe('hot reload under load', () => {
  it('swaps a valid edit in and refuses a broken one, with zero failed requests', async () => {
    const pool = new Pool(`http://127.0.0.1:${edge.port}`, { connections: 16 });
    const seen: Record<string, number> = {};
    const failures: string[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const res = await pool.request({ path: '/', method: 'GET', headers: { host: 'web.example.com' } });
          const body = await res.body.text();
          if (res.statusCode !== 200) failures.push(`${res.statusCode} ${body}`);
          else seen[body] = (seen[body] ?? 0) + 1;
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, worker));
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(seen['b\n']).toBeUndefined();
      // A valid edit: 100 % to b.
      await edge.rewrite(config('      - { revisionName: web-b, percent: 100 }'));
      await waitFor(() => (seen['b\n'] ?? 0) > 50, 5000, 'traffic to move to b');
      const reloads = await edge.metrics.registry.getSingleMetricAsString('tidegate_config_reloads_total');
      expect(reloads).toMatch(/result="ok"} 1/);
      // A broken edit (percents add up to 90): refused, b keeps serving.
      await edge.rewrite(config('      - { revisionName: web-a, percent: 90 }'));
      await waitFor(async () => /result="failed"} 1/.test(await edge.metrics.registry.getSingleMetricAsString('tidegate_config_reloads_total')), 5000, 'refused reload');
      const bBefore = seen['b\n']!;
      const aBefore = seen['a\n'] ?? 0;
      await new Promise((r) => setTimeout(r, 300));
      expect(seen['b\n']!).toBeGreaterThan(bBefore);
      expect(seen['a\n'] ?? 0).toBe(aBefore);
    } finally {
      stop = true;
      await load;
      await pool.close();
    }
    expect(failures).toEqual([]);
  });
});
