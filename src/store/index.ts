import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import type { Store } from './store.js';

export interface CreateStoreOptions {
  /** Shared Redis (--redis / REDIS_URL); without it the store lives in this process. */
  redisUrl?: string;
  clock: Clock;
  logger: Logger;
  statsRetentionMs?: number;
}

export function createStore(opts: CreateStoreOptions): Store {
  const retention = opts.statsRetentionMs === undefined ? {} : { statsRetentionMs: opts.statsRetentionMs };
  if (opts.redisUrl) return new RedisStore({ url: opts.redisUrl, clock: opts.clock, logger: opts.logger, ...retention });
  return new MemoryStore({ clock: opts.clock, ...retention });
}
