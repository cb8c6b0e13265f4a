import { afterAll, beforeAll } from 'vitest';
import { realClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { RedisStore } from '../../src/store/redis.js';
import { startRedis, type RedisHandle } from '../support/redis-server.js';
import { CONTRACT_STATS_RETENTION_MS, storeContract } from './store.contract.js';

let redis: RedisHandle;
let n = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

async function untilConnected(stores: RedisStore[]): Promise<void> {
  const start = performance.now();
  while (!stores.every((s) => s.connected)) {
    if (performance.now() - start > 5000) throw new Error('RedisStore did not connect');
    await new Promise((r) => setTimeout(r, 5));
  }
}

storeContract('redis', async () => {
  // A fresh prefix per test keeps tests apart on the one server.
  const prefix = `t${++n}:`;
  const opts = { url: redis.url, clock: realClock, logger: silentLogger, prefix, statsRetentionMs: CONTRACT_STATS_RETENTION_MS };
  const store = new RedisStore(opts);
  const peer = new RedisStore(opts); // another process on the same Redis
  await untilConnected([store, peer]);
  return {
    store,
    peer,
    clock: null,
    statsRetentionMs: CONTRACT_STATS_RETENTION_MS,
    cleanup: async () => {
      await store.close();
      await peer.close();
    },
  };
});
