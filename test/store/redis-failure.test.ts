/**
 * RedisStore and StoreView when Redis goes away: fail fast, one event and
 * one log line per state change, pub/sub back after a restart, and a view
 * that keeps routing state while Redis is gone (fail static).
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { realClock } from '../../src/shared/clock.js';
import { TidegateError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/log.js';
import { RedisStore } from '../../src/store/redis.js';
import type { PodRecord, StoreEvent } from '../../src/store/store.js';
import { StoreView } from '../../src/store/view.js';
import { startRedis, type RedisHandle } from '../support/redis-server.js';
import { startCutProxy } from './cut-proxy.js';
import { waitFor } from '../support/wait.js';

const pod = (id: string): PodRecord => ({ id, revision: 'a', address: `10.0.0.1:${id.length}`, ready: true });
const ids = (pods: readonly PodRecord[]) => pods.map((p) => p.id);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recordingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  return { logger, lines };
}

describe('Redis store when Redis fails', () => {
  let redis: RedisHandle;
  const closers: (() => Promise<void> | void)[] = [];

  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await redis.stop();
  });

  function store(url = redis.url, logger = silentLogger): RedisStore {
    const s = new RedisStore({ url, clock: realClock, logger, prefix: 'f:' });
    closers.push(() => s.close());
    return s;
  }

  it('rejects commands fast while down, emits and logs one event per state change, and resubscribes after a restart', async () => {
    const log = recordingLogger();
    const a = store(redis.url, log.logger);
    const b = store();
    await waitFor(() => a.connected && b.connected, 5000, 'both stores connected');
    const events: StoreEvent[] = [];
    a.subscribe((e) => events.push(e));
    const heardByB: StoreEvent[] = [];
    b.subscribe((e) => heardByB.push(e));

    await redis.kill();
    await waitFor(() => events.some((e) => e.type === 'connection'), 5000, 'connection down event');
    for (const attempt of [() => a.listPods('a'), () => a.registerPod(pod('a-1'), 1000), () => a.poke('a'), () => a.acquireLease('l', 'x', 1000)]) {
      const start = performance.now();
      const err = await attempt().then(
        () => null,
        (e: unknown) => e,
      );
      expect(performance.now() - start).toBeLessThan(1000);
      expect(err).toBeInstanceOf(TidegateError);
      expect((err as TidegateError).code).toBe('TG_ERR_STORE_UNAVAILABLE');
    }
    await sleep(600); // several reconnect attempts fail meanwhile
    expect(events).toEqual([{ type: 'connection', up: false }]);
    expect(a.connected).toBe(false);

    await redis.restart();
    await waitFor(() => a.connected && b.connected, 5000, 'both stores reconnected');
    expect(events).toEqual([
      { type: 'connection', up: false },
      { type: 'connection', up: true },
    ]);
    await a.poke('after-restart');
    await waitFor(() => heardByB.some((e) => e.type === 'poke' && e.revision === 'after-restart'), 5000, 'poke over pub/sub after restart');
    await a.registerPod(pod('a-1'), 10_000);
    expect(ids(await b.listPods('a'))).toEqual(['a-1']);

    const said = log.lines.map((l) => l.msg).filter((m) => m.startsWith('store:'));
    expect(said).toEqual(['store: redis connected', 'store: redis connection lost; keeping the last known state until it returns', 'store: redis connection restored']);
  });

  it('starting while Redis is down: commands reject within a second, and the store connects once Redis is there', async () => {
    await redis.kill();
    const a = store();
    const events: StoreEvent[] = [];
    a.subscribe((e) => events.push(e));
    const start = performance.now();
    await expect(a.listPods()).rejects.toMatchObject({ code: 'TG_ERR_STORE_UNAVAILABLE' });
    expect(performance.now() - start).toBeLessThan(1000);
    const view = new StoreView({ store: a, clock: realClock, logger: silentLogger, resyncMs: 60_000 });
    closers.push(() => view.stop());
    await view.start(); // does not throw
    expect(view.connected).toBe(false);
    await redis.restart();
    await waitFor(() => a.connected, 5000, 'store connected after Redis appeared');
    expect(events).toEqual([{ type: 'connection', up: true }]);
    await waitFor(() => view.connected, 5000, 'view resynced on connection up');
  });

  it('a StoreView keeps its last pods while Redis is down and follows the store again after the restart', async () => {
    const writer = store();
    const viewStore = store();
    await waitFor(() => writer.connected && viewStore.connected, 5000, 'stores connected');
    const view = new StoreView({ store: viewStore, clock: realClock, logger: silentLogger, resyncMs: 60_000 });
    closers.push(() => view.stop());
    await view.start();
    await writer.registerPod(pod('a-1'), 30_000);
    await waitFor(() => ids(view.pods('a')).join() === 'a-1', 5000, 'view sees a-1');

    await redis.kill();
    await waitFor(() => !view.connected, 5000, 'view notices the outage');
    await sleep(300);
    expect(ids(view.pods('a'))).toEqual(['a-1']); // fail static

    await redis.restart(); // empty: pods come back by their heartbeats
    await waitFor(() => writer.connected, 5000, 'writer reconnected');
    await writer.registerPod(pod('a-1'), 30_000);
    await writer.registerPod(pod('a-2'), 30_000);
    await waitFor(() => ids(view.pods('a')).join() === 'a-1,a-2', 5000, 'view sees the pods registered after the restart');
    expect(view.connected).toBe(true);
  });

  it('a StoreView cut off from Redis picks up the changes it missed as soon as its connection returns', async () => {
    const proxy = await startCutProxy(redis.port);
    closers.push(() => proxy.close());
    const writer = store();
    const viewStore = store(`redis://127.0.0.1:${proxy.port}`);
    await waitFor(() => writer.connected && viewStore.connected, 5000, 'stores connected');
    // A long period: only the reconnect can explain a prompt catch-up.
    const view = new StoreView({ store: viewStore, clock: realClock, logger: silentLogger, resyncMs: 60_000 });
    closers.push(() => view.stop());
    await view.start();
    await writer.registerPod(pod('a-1'), 30_000);
    await waitFor(() => ids(view.pods('a')).join() === 'a-1', 5000, 'view sees a-1');

    proxy.cut();
    await waitFor(() => !view.connected, 5000, 'view notices the outage');
    // Published while the view's subscriber is gone: it never hears these.
    await writer.registerPod(pod('a-2'), 30_000);
    await writer.removePod('a', 'a-1');
    await writer.setStatus('a', {
      desiredPods: 1,
      mode: 'stable',
      stableConcurrency: 1,
      panicConcurrency: 1,
      excessBurstCapacity: 0,
      activatorInPath: false,
      time: 1,
    });
    await sleep(200);
    expect(ids(view.pods('a'))).toEqual(['a-1']);
    expect(view.status('a')).toBeNull();

    proxy.restore();
    await waitFor(() => ids(view.pods('a')).join() === 'a-2', 5000, 'view catches up after reconnecting');
    expect(view.status('a')?.desiredPods).toBe(1);
  });
});
