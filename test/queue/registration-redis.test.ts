import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { realClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { startRedis, type RedisHandle } from '../support/redis-server.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { freePort } from '../support/ports.js';
import { CLI } from '../support/cli.js';
import { waitForValue } from '../support/wait.js';

// The real binary against a real redis-server: what an edge or autoscaler
// sharing that Redis sees of a queue-proxy.
const agent = new Agent({ connections: 10 });
let redis: RedisHandle;
let store: Store;
let app: Upstream;

beforeAll(async () => {
  await fs.access(CLI); // npm test builds dist/ before running vitest
  redis = await startRedis();
  store = await createStore({ redisUrl: redis.url, clock: realClock, logger: silentLogger });
  app = await startUpstream('app');
});
afterAll(async () => {
  await store?.close();
  await redis?.stop();
  await app?.close();
  await agent.close();
});

describe('queue-proxy registration in a Redis store', () => {
  it('registers ready with its advertised address, reports per-second stats (proxied apart), and leaves on SIGTERM', async () => {
    const port = await freePort();
    const child: ChildProcess = spawn(
      process.execPath,
      [CLI, 'queue-proxy', '--revision', 'rev-r', '--upstream', app.address, '--port', String(port), '--redis', redis.url, '--pod-id', 'pod-r', '--advertise', `127.0.0.1:${port}`, '--drain-seconds', '0'],
      { env: { ...process.env, LOG_LEVEL: 'warn', ADMIN_PORT: '0' }, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const pods = await waitForValue(() => store.listPods('rev-r'), (ps) => ps.some((p) => p.ready), 10_000, 'pod registered ready');
      expect(pods).toEqual([{ id: 'pod-r', revision: 'rev-r', address: `127.0.0.1:${port}`, ready: true, queueProxy: true }]);

      // Its first report comes before the requests, so every one of them falls in
      // a period that ends at one report and starts at the one before: the
      // per-second figures times those periods give back the exact counts,
      // however late the report timer runs on a busy machine.
      const first = await waitForValue(() => store.readStats('rev-r', 0), (ss) => ss.length > 0, 5000, 'the first stats report');
      const hit = (headers: Record<string, string>) => request(`http://127.0.0.1:${port}/?sleep=400`, { dispatcher: agent, headers }).then((r) => r.body.text());
      await Promise.all([hit({}), hit({}), hit({ 'k-proxy-request': 'activator' })]);
      const answered = Date.now();
      const stats = await waitForValue(
        () => store.readStats('rev-r', 0),
        (ss) => ss.some((s) => s.time > answered),
        5000,
        'a stats report after the 3 answers',
      );
      stats.sort((a, b) => a.time - b.time);
      expect(stats[0]!.time).toBe(first[0]!.time);
      expect(stats.every((s) => s.pod === 'pod-r')).toBe(true);
      const total = (f: (s: (typeof stats)[number]) => number) => stats.slice(1).reduce((n, s, i) => n + (f(s) * (s.time - stats[i]!.time)) / 1000, 0);
      expect(total((s) => s.requests)).toBeCloseTo(3, 6);
      expect(total((s) => s.proxiedRequests)).toBeCloseTo(1, 6);
      const area = total((s) => s.concurrency); // request·seconds: 3 × at least 0.4 s
      expect(area).toBeGreaterThan(1.19);
      expect(area).toBeLessThan(3);
      expect(total((s) => s.proxiedConcurrency)).toBeGreaterThan(0.39);
      expect(total((s) => s.proxiedConcurrency)).toBeLessThan(area / 2);

      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(await store.listPods('rev-r')).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a killed queue-proxy disappears when its TTL lapses', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'queue-proxy', '--revision', 'rev-k', '--upstream', app.address, '--port', String(port), '--redis', redis.url], {
      env: { ...process.env, LOG_LEVEL: 'warn', ADMIN_PORT: '0' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exit = new Promise((r) => child.on('exit', r));
    try {
      const pods = await waitForValue(() => store.listPods('rev-k'), (ps) => ps.some((p) => p.ready), 10_000, 'pod registered ready');
      expect(pods[0]!.id).toMatch(/^rev-k-[0-9a-f]{6}$/);
      expect(pods[0]!.address).toBe(`127.0.0.1:${port}`);
    } finally {
      child.kill('SIGKILL');
    }
    await exit;
    await waitForValue(() => store.listPods('rev-k'), (ps) => ps.length === 0, 6000, 'pod gone after its TTL');
  });
});
