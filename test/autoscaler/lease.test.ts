/**
 * Two runners on one real redis-server: exactly one acts (the lease
 * holder); when the leader's store connection dies the other takes over
 * within a few lease periods, and the two never actuate in the same period.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoscalerRunner } from '../../src/autoscaler/runner.js';
import { realClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { RedisStore } from '../../src/store/redis.js';
import { startRedis, type RedisHandle } from '../support/redis-server.js';
import { config, FakeEdge, RecordingActuator, type ScaleCall } from './world.js';
import { waitFor } from '../support/wait.js';

const REV = 'app-00001';
const TICK_MS = 200; // lease ttl = 3 ticks = 600 ms
const YAML = `autoscaler:
  stable-window: 6s
services:
  - name: app
    revisions:
      - name: ${REV}
        command: [node, app.js]
        annotations:
          autoscaling.knative.dev/target: "10"
          autoscaling.knative.dev/target-utilization-percentage: "100"
    traffic:
      - revisionName: ${REV}
        percent: 100
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let redis: RedisHandle;
const stores: RedisStore[] = [];
const store = (prefix: string) => {
  const s = new RedisStore({ url: redis.url, clock: realClock, logger: silentLogger, prefix });
  stores.push(s);
  return s;
};

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await redis.stop();
});

describe('autoscaler lease on real Redis', () => {
  it('one leader; kill its store connection; the other takes over within a few seconds; no double actuation', async () => {
    const prefix = 'lease1:';
    const cfg = config(YAML);
    const shared = store(prefix); // the world: pods and stats
    const calls: ScaleCall[] = [];
    const edge = new FakeEdge(shared, realClock, REV);
    edge.load = 30;
    const mk = (name: string) => {
      const s = store(prefix);
      const actuator = new RecordingActuator(shared, realClock, calls, name, 100);
      return { s, runner: new AutoscalerRunner({ store: s, actuator, clock: realClock, logger: silentLogger, config: () => cfg, holder: name, lease: true, tickMs: TICK_MS }) };
    };
    const a = mk('a');
    const b = mk('b');
    try {
      a.runner.start();
      await waitFor(() => calls.length > 0, 5000, 'a to act');
      b.runner.start();
      // Both running: only ever one leader, and only a acts.
      for (let i = 0; i < 15; i++) {
        await sleep(100);
        expect(a.runner.isLeader && b.runner.isLeader).toBe(false);
      }
      expect(a.runner.isLeader).toBe(true);
      expect(calls.length).toBeGreaterThan(0);
      expect(calls.every((c) => c.by === 'a')).toBe(true);

      // The leader's connection to Redis dies (its process keeps running).
      await a.s.close();
      const killedAt = Date.now();
      await waitFor(() => calls.some((c) => c.by === 'b'), 5000, 'b to take over');
      expect(Date.now() - killedAt).toBeLessThan(3000);
      const firstB = calls.find((c) => c.by === 'b');
      // a stopped acting before b began: no overlapping actuation.
      const lastA = Math.max(...calls.filter((c) => c.by === 'a').map((c) => c.at));
      expect(lastA).toBeLessThanOrEqual(killedAt);
      expect(firstB?.at).toBeGreaterThan(killedAt);

      // b keeps deciding: more load → more pods, and a never acts again.
      edge.load = 60;
      await waitFor(() => b.runner.isLeader && calls.some((c) => c.by === 'b' && c.count === 6), 8000, 'b to scale up to 6');
      expect(a.runner.isLeader).toBe(false);
      expect(calls.filter((c) => c.by === 'a' && c.at > killedAt)).toEqual([]);
    } finally {
      edge.stop();
      await a.runner.stop();
      await b.runner.stop();
    }
  });

  it('a leader that stops hands the lease back: the standby takes over at its next tick', async () => {
    const prefix = 'lease2:';
    const cfg = config(YAML);
    const shared = store(prefix);
    const calls: ScaleCall[] = [];
    const mk = (name: string) =>
      new AutoscalerRunner({ store: store(prefix), actuator: new RecordingActuator(shared, realClock, calls, name, 100), clock: realClock, logger: silentLogger, config: () => cfg, holder: name, lease: true, tickMs: 1000 });
    const a = mk('a');
    const b = mk('b');
    try {
      a.start();
      await waitFor(() => a.isLeader && calls.length > 0, 5000, 'a to lead');
      b.start();
      await sleep(300);
      expect(b.isLeader).toBe(false);
      await a.stop();
      const stoppedAt = Date.now();
      await waitFor(() => b.isLeader, 3000, 'b to lead');
      // With a 1 s tick the lease (3 s) would still be a's had it not been released.
      expect(Date.now() - stoppedAt).toBeLessThan(2000);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
