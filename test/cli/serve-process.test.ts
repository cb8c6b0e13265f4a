import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { waitFor } from '../support/serve.js';
import { freePort } from '../support/ports.js';
import { CLI, runCli as run } from '../support/cli.js';

let app: Upstream;
let dir: string;

beforeAll(async () => {
  await fs.access(CLI); // npm test builds dist/ before running vitest
  app = await startUpstream('app');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-cli-'));
});

afterAll(async () => {
  await app?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('tidegate serve as a process', () => {
  it('exits 1 with file:line:col for a broken config', async () => {
    const file = path.join(dir, 'broken.yaml');
    await fs.writeFile(file, 'domain: example.com\nservices:\n  - name: x\n    bogus: 1\n');
    const p = run(['serve', '--config', file, '--port', '0', '--admin-port', '0']);
    expect(await p.exit).toBe(1);
    expect(p.out()).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
  });

  it('finishes in-flight requests on SIGTERM and exits 0', async () => {
    const file = path.join(dir, 'ok.yaml');
    await fs.writeFile(file, `domain: example.com\nservices:\n  - name: app\n    revisions:\n      - name: app-1\n        endpoints: ["${app.address}"]\n    traffic: [{ revisionName: app-1, percent: 100 }]\n`);
    const [port, adminPort] = [await freePort(), await freePort()];
    const p = run(['serve', '--config', file, '--port', String(port), '--admin-port', String(adminPort)]);
    await waitFor(async () => {
      try {
        const r = await request(`http://127.0.0.1:${adminPort}/readyz`);
        await r.body.text();
        return r.statusCode === 200;
      } catch {
        return false;
      }
    }, 10_000, 'serve ready');
    await waitFor(async () => {
      const r = await request(`http://127.0.0.1:${port}/`, { headers: { host: 'app.example.com' } });
      await r.body.text();
      return r.statusCode === 200;
    }, 5000, 'route ready');
    const inflight = Array.from({ length: 5 }, () => request(`http://127.0.0.1:${port}/?sleep=600`, { headers: { host: 'app.example.com' } }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() })));
    await waitFor(() => app.seen.filter((s) => s.url === '/?sleep=600').length === 5, 3000, 'requests at the app');
    p.child.kill('SIGTERM');
    const results = await Promise.all(inflight);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await p.exit).toBe(0);
    expect(p.out()).toContain('shutting down');
  });
});
