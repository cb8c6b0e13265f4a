/**
 * `tidegate autoscaler` as a process against a real redis-server: it takes
 * the lease, publishes statuses, scales from zero at once on a poke (a pod
 * of the local actuator registers ready), and on SIGTERM exits 0 having
 * handed the lease back. Without Redis it refuses to start (exit 2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { RedisStore } from '../../src/store/redis.js';
import { startRedis, type RedisHandle } from '../support/redis-server.js';
import { CLI } from '../support/cli.js';
import { waitFor, waitForValue } from '../support/wait.js';

const HELLO = path.resolve('examples/hello.js');
let redis: RedisHandle;
let dir: string;

beforeAll(async () => {
  await fs.access(CLI); // npm test builds dist/ before running vitest
  redis = await startRedis();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-autoscaler-'));
});
afterAll(async () => {
  await redis?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string | undefined> = {}) {
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exit };
}

describe('tidegate autoscaler as a process', () => {
  it('exits 2 without Redis', async () => {
    const file = path.join(dir, 'none.yaml');
    await fs.writeFile(file, 'services: []\n');
    const env: Record<string, string | undefined> = { REDIS_URL: '' };
    const p = run(['autoscaler', '--config', file], env);
    expect(await p.exit).toBe(2);
    expect(p.out()).toContain('--redis URL');
  });

  it('holds the lease, scales from zero at once on a poke, and releases the lease on SIGTERM', async () => {
    const file = path.join(dir, 'app.yaml');
    await fs.writeFile(
      file,
      `autoscaler:\n  initial-scale: 0\n  allow-zero-initial-scale: true\nservices:\n  - name: app\n    revisions:\n      - name: app-1\n        command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(HELLO)}]\n        env: { STARTUP_DELAY_MS: "0" }\n    traffic: [{ revisionName: app-1, percent: 100 }]\n`,
    );
    const probe = new RedisStore({ url: redis.url, clock: realClock, logger: silentLogger });
    const p = run(['autoscaler', '--config', file, '--redis', redis.url]);
    try {
      const first = await waitForValue(() => probe.getStatus('app-1'), (st) => st !== null, 10_000, 'a status for app-1');
      expect(first).toMatchObject({ desiredPods: 0, activatorInPath: true });
      expect(await probe.acquireLease('autoscaler', 'probe', 1000)).toBe(false);

      const pokedAt = Date.now();
      await probe.poke('app-1');
      await waitFor(async () => (await probe.getStatus('app-1'))?.desiredPods === 1, 5000, 'desired 1');
      const decided = Date.now();
      // A tick comes every 2 s; a poke is decided at once.
      expect(decided - pokedAt).toBeLessThan(1500);
      await waitFor(async () => (await probe.listPods('app-1')).some((pod) => pod.ready), 10_000, 'a ready pod');

      p.child.kill('SIGTERM');
      expect(await p.exit).toBe(0);
      expect(await probe.acquireLease('autoscaler', 'probe', 1000)).toBe(true);
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await probe.close();
    }
  }, 30_000);
});
