import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { rawRequest } from '../support/raw-http.js';

let a: Upstream, b: Upstream, c: Upstream;
let edge: TestEdge;

beforeAll(async () => {
  [a, b, c] = await Promise.all([startUpstream('a'), startUpstream('b'), startUpstream('c')]);
  edge = await startEdge(`
domain: example.com
tagHeaderRouting: true
services:
  - name: web
    hosts: [www.example.org]
    revisions:
      - name: web-a
        endpoints: ["${a.address}"]
      - name: web-b
        endpoints: ["${b.address}"]
      - name: web-c
        endpoints: ["${c.address}"]
    traffic:
      - revisionName: web-a
        percent: 90
      - revisionName: web-b
        percent: 10
        tag: canary
      - latestRevision: true
        percent: 0
        tag: latest
`);
  await waitFor(() => edge.edge.revision('web-a')?.readyPods === 1 && edge.edge.revision('web-c')?.readyPods === 1, 5000, 'static pods');
});

afterAll(async () => {
  await edge?.close();
  await Promise.all([a?.close(), b?.close(), c?.close()]);
});

describe('routing', () => {
  it('routes {tag}-{name}.{domain} to the tagged revision at 100 %', async () => {
    for (let i = 0; i < 20; i++) expect((await edge.get('canary-web.example.com')).body).toBe('b\n');
    expect((await edge.get('latest-web.example.com')).body).toBe('c\n');
  });

  it('strips the port and ignores case in Host', async () => {
    const r = await edge.get('LATEST-Web.Example.COM:8080');
    expect(r.status).toBe(200);
    expect(r.body).toBe('c\n');
  });

  it('honours Knative-Serving-Tag on the default host when tagHeaderRouting is on', async () => {
    for (let i = 0; i < 20; i++) expect((await edge.get('web.example.com', '/', { 'knative-serving-tag': 'latest' })).body).toBe('c\n');
  });

  it('falls back to the split for an unknown tag header', async () => {
    const r = await edge.get('web.example.com', '/', { 'knative-serving-tag': 'nope' });
    expect(['a\n', 'b\n']).toContain(r.body);
  });

  it('answers 404 naming the host for an unknown host', async () => {
    const r = await edge.get('nobody.example.com');
    expect(r.status).toBe(404);
    expect(r.headers['x-tidegate-error']).toBe('router-no-route');
    expect(r.body).toContain('nobody.example.com');
  });

  it('splits 10,000 requests 90/10 within ±2 points, via the extra host too', async () => {
    const pool = new Pool(`http://127.0.0.1:${edge.port}`, { connections: 32 });
    const counts: Record<string, number> = {};
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        next++;
        const res = await pool.request({ path: '/', method: 'GET', headers: { host: 'www.example.org' } });
        const body = await res.body.text();
        counts[body] = (counts[body] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    await pool.close();
    const total = (counts['a\n'] ?? 0) + (counts['b\n'] ?? 0);
    expect(total).toBe(10_000);
    expect(Math.abs(((counts['b\n'] ?? 0) / total) * 100 - 10)).toBeLessThanOrEqual(2);
  });

  it('forwards Host, appends X-Forwarded-* and Forwarded, strips hop-by-hop headers', async () => {
    c.seen.length = 0;
    const r = await rawRequest(
      edge.port,
      'GET /x?y=1 HTTP/1.1\r\nHost: latest-web.example.com\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: x-secret, keep-alive\r\n' +
        'X-Secret: hidden\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic abc\r\nX-Kept: yes\r\n\r\n',
    );
    expect(r.status).toBe(200);
    const seen = c.seen.at(-1)!;
    expect(seen.url).toBe('/x?y=1');
    expect(seen.headers['host']).toBe('latest-web.example.com');
    expect(seen.headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('latest-web.example.com');
    expect(seen.headers['forwarded']).toBe('for=127.0.0.1;proto=http;host=latest-web.example.com');
    expect(seen.headers['x-kept']).toBe('yes');
    for (const h of ['x-secret', 'keep-alive', 'te', 'proxy-authorization']) expect(seen.headers[h]).toBeUndefined();
  });
});
