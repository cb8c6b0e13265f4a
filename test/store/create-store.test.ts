import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/shared/log.js';
import { createStore } from '../../src/store/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { RedisStore } from '../../src/store/redis.js';
import { FakeClock } from '../support/fake-clock.js';
import { startRedis } from '../support/redis-server.js';

describe('createStore', () => {
  it('keeps state in the process without a Redis URL', async () => {
    const store = await createStore({ clock: new FakeClock(), logger: silentLogger });
    expect(store).toBeInstanceOf(MemoryStore);
    await store.close();
  });

  it('uses Redis when given a URL, so two stores share pods', async () => {
    const redis = await startRedis();
    try {
      const clock = new FakeClock();
      const a = await createStore({ redisUrl: redis.url, clock, logger: silentLogger });
      const b = await createStore({ redisUrl: redis.url, clock, logger: silentLogger });
      expect(a).toBeInstanceOf(RedisStore);
      await a.registerPod({ id: 'p', revision: 'r', address: 'h:1', ready: true }, 10_000);
      expect((await b.listPods('r')).map((p) => p.id)).toEqual(['p']);
      await a.close();
      await b.close();
    } finally {
      await redis.stop();
    }
  });
});
