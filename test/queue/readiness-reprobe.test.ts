import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
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

// Knative keeps probing a pod for its whole life (kubelet → queue-proxy →
// app): a hung app leaves rotation and comes back once it answers. The real
// binary, a real Redis (what the edges route by) and an app that hangs.
const agent = new Agent({ connections: 10 });
let redis: RedisHandle;
let store: Store;
let app: Upstream;
/** While true the app accepts requests and never answers them (its probe path included). */
let hung = false;
const held: http.ServerResponse[] = [];

beforeAll(async () => {
  await fs.access(CLI);
  redis = await startRedis();
  store = await createStore({ redisUrl: redis.url, clock: realClock, logger: silentLogger });
  app = await startUpstream('app', (req, res) => {
    if (hung) {
      held.push(res);
      return;
    }
    res.writeHead(req.url === '/healthz' ? 204 : 200, { 'content-type': 'text/plain' });
    res.end(req.url === '/healthz' ? undefined : 'app\n');
  });
});
afterAll(async () => {
  for (const res of held) res.destroy();
  await store?.close();
  await redis?.stop();
  await app?.close();
  await agent.close();
});

const status = (url: string, headers: Record<string, string> = {}) =>
  request(url, { dispatcher: agent, headers, headersTimeout: 5000 }).then(
    async (r) => ({ status: r.statusCode, body: await r.body.text() }),
    () => ({ status: 0, body: '' }),
  );

describe('queue-proxy readiness after the first pass', () => {
  it('a hung app leaves rotation after failureThreshold failed probes and comes back when it answers again', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const child: ChildProcess = spawn(
      process.execPath,
      [
        CLI, 'queue-proxy', '--revision', 'rev-h', '--upstream', app.address, '--port', String(port), '--admin-port', String(adminPort),
        '--redis', redis.url, '--pod-id', 'pod-h', '--advertise', `127.0.0.1:${port}`, '--drain-seconds', '0',
        '--readiness-path', '/healthz', '--readiness-period-seconds', '1', '--readiness-timeout-seconds', '1', '--readiness-failure-threshold', '2',
      ],
      { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const readyInStore = () => store.listPods('rev-h').then((ps) => ps.some((p) => p.ready));
    const probe = () => status(`http://127.0.0.1:${port}/`, { 'k-network-probe': 'queue' });
    try {
      await waitForValue(readyInStore, (r) => r, 10_000, 'registered ready');
      expect(await probe()).toEqual({ status: 200, body: 'queue' });
      expect(await status(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'app\n' });

      hung = true;
      await waitForValue(readyInStore, (r) => !r, 15_000, 'out of rotation in the store');
      expect(await status(`http://127.0.0.1:${adminPort}/readyz`)).toEqual({ status: 503, body: 'not ready' });
      expect((await probe()).status).toBe(503);

      hung = false;
      await waitForValue(readyInStore, (r) => r, 15_000, 'back in rotation');
      expect(await status(`http://127.0.0.1:${adminPort}/readyz`)).toEqual({ status: 200, body: 'ready' });
      expect(await probe()).toEqual({ status: 200, body: 'queue' });
      expect(await status(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'app\n' });

      child.kill('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
