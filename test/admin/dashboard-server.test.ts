/** Issue 15, dashboard v2: what the admin server answers for the page, its files and /history. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { AdminServer } from '../../src/admin/server.js';
import { EdgeMetrics } from '../../src/admin/metrics.js';
import { History, REVISION_FIELDS, type HistoryDoc, type RevisionField } from '../../src/admin/history.js';

const T0 = 1_700_000_000_000;
let admin: AdminServer;
let port: number;

beforeAll(async () => {
  const history = new History(10);
  const values = Object.fromEntries(REVISION_FIELDS.map((f) => [f, 1])) as Record<RevisionField, number>;
  for (let i = 0; i < 3; i++) {
    history.record({ time: T0 + i * 1000, revisions: [{ name: 'r', service: 's', metric: 'concurrency', targetPerPod: 7, maxScale: 0, values, pods: [] }], services: [] });
  }
  admin = new AdminServer({ registry: new EdgeMetrics(false).registry, status: () => ({ services: [], revisions: [] }), ready: () => true, history: (since) => history.since(since) });
  port = await admin.listen('127.0.0.1', 0);
});

afterAll(() => admin?.close());

async function get(path: string): Promise<{ status: number; type: string; body: string }> {
  const res = await request(`http://127.0.0.1:${port}${path}`);
  return { status: res.statusCode, type: String(res.headers['content-type']), body: await res.body.text() };
}

describe('admin dashboard files', () => {
  it('serves the page, its script and style, and uPlot from the package, with no URL outside the admin server', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    // What the page loads: scripts and <link>s (the nav's <a> links are the other admin endpoints).
    const refs = [...page.body.matchAll(/<(?:script src|link [^>]*href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toEqual(expect.arrayContaining(['/uplot.min.js', '/uplot.min.css', '/dashboard.js', '/dashboard.css']));
    for (const ref of refs) {
      // Everything the page loads comes from here: it must work offline.
      expect(ref, ref).toMatch(/^(\/|data:)/);
      if (ref.startsWith('data:')) continue;
      const file = await get(ref);
      expect(file.status, ref).toBe(200);
      expect(file.body.length, ref).toBeGreaterThan(100);
    }
    expect((await get('/uplot.min.js')).body).toContain('uPlot');
    expect((await get('/dashboard.js')).body).not.toMatch(/https?:\/\//);
  });
});

describe('GET /history', () => {
  it('answers every sample, or only those after since=T', async () => {
    const all = JSON.parse((await get('/history')).body) as HistoryDoc;
    expect(all.t).toEqual([T0, T0 + 1000, T0 + 2000]);
    expect(all.revisions[0]!.series.ready).toEqual([1, 1, 1]);
    const later = await get(`/history?since=${T0 + 1000}`);
    expect(later.type).toBe('application/json');
    expect((JSON.parse(later.body) as HistoryDoc).t).toEqual([T0 + 2000]);
  });

  it('refuses a since that is not a number', async () => {
    const res = await get('/history?since=yesterday');
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/since/);
  });
});
