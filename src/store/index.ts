import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { MemoryStore } from './memory.js';
import type { Store } from './store.js';

export interface CreateStoreOptions {
  /** Shared Redis (--redis / REDIS_URL); without it the store lives in this process. */
  redisUrl?: string;
  clock: Clock;
  logger: Logger;
  statsRetentionMs?: number;
}

/**
 * The store for these options. The Redis client is loaded only when a Redis
 * URL is given: ioredis alone adds about 23 MiB of RSS to a process that
 * never talks to Redis.
 */
export async function createStore(opts: CreateStoreOptions): Promise<Store> {
  const retention = opts.statsRetentionMs === undefined ? {} : { statsRetentionMs: opts.statsRetentionMs };
  if (opts.redisUrl) {
    const { RedisStore } = await import('./redis.js');
    return new RedisStore({ url: opts.redisUrl, clock: opts.clock, logger: opts.logger, ...retention });
  }
  return new MemoryStore({ clock: opts.clock, ...retention });
}
