/**
 * The Store shared by several processes, on Redis (ioredis). Two
 * connections: one for commands, one subscribed to the events channel.
 *
 * Failure behaviour: while Redis is down every command rejects at once with
 * TG_ERR_STORE_UNAVAILABLE (no offline queue, so nothing piles up behind a
 * dead server), ioredis keeps reconnecting, and listeners get one
 * `connection` event per state change. Callers fail static: they keep what
 * they last saw (view.ts). Key layout: docs/store.md.
 */
import { Redis } from 'ioredis';
import type { Clock } from '../shared/clock.js';
import { TidegateError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { DEFAULT_STATS_RETENTION_MS } from './memory.js';
import { ACQUIRE_LEASE, LIST_PODS, REGISTER_POD, RELEASE_LEASE, REMOVE_POD } from './redis-scripts.js';
import { redisKeys, type RedisKeys } from './redis-keys.js';
import type { PodRecord, PodStat, RevisionStatus, Store, StoreEvent, StoreListener } from './store.js';

export interface RedisStoreOptions {
  url: string;
  clock: Clock;
  logger: Logger;
  statsRetentionMs?: number;
  /** Prepended to every key and channel, so several installations can share one Redis. */
  prefix?: string;
}

/** In-flight commands on a connection that silently died give up after this. */
const COMMAND_TIMEOUT_MS = 1000;

export class RedisStore implements Store {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly retentionMs: number;
  private readonly keys: RedisKeys;
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly listeners = new Set<StoreListener>();
  private cmdReady = false;
  private subReady = false;
  private up = false;
  private everUp = false;
  private closed = false;
  /** Settles at the first connection attempt's outcome; commands before it wait for it. */
  private readonly firstAttempt: Promise<void>;

  constructor(opts: RedisStoreOptions) {
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.retentionMs = opts.statsRetentionMs ?? DEFAULT_STATS_RETENTION_MS;
    this.keys = redisKeys(opts.prefix ?? 'tg:');
    const common = {
      // Reconnect forever, quickly at first, at most once a second.
      retryStrategy: (times: number) => Math.min(times * 50, 1000),
      connectTimeout: 1000,
      autoResubscribe: false, // resubscribed by hand, so we know when events flow again
    };
    this.cmd = new Redis(opts.url, {
      ...common,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: COMMAND_TIMEOUT_MS,
    });
    this.sub = new Redis(opts.url, { ...common, maxRetriesPerRequest: null });

    this.firstAttempt = new Promise((resolve) => {
      this.cmd.once('ready', resolve);
      this.cmd.once('close', resolve);
      this.cmd.once('end', resolve);
    });
    // Connection errors are reported through state changes below, once each.
    this.cmd.on('error', () => undefined);
    this.sub.on('error', () => undefined);
    this.cmd.on('ready', () => this.setState('cmd', true));
    this.cmd.on('close', () => this.setState('cmd', false));
    this.sub.on('ready', () => {
      this.sub.subscribe(this.keys.events).then(
        () => this.setState('sub', true),
        () => undefined, // the connection dropped again; the next 'ready' retries
      );
    });
    this.sub.on('close', () => this.setState('sub', false));
    this.sub.on('message', (_channel: string, message: string) => this.onMessage(message));
  }

  async registerPod(pod: PodRecord, ttlMs: number): Promise<void> {
    const k = this.keys;
    await this.run((r) =>
      r.eval(
        REGISTER_POD,
        3,
        k.pods(pod.revision),
        k.podExpiry(pod.revision),
        k.podRevisions,
        pod.id,
        JSON.stringify(pod),
        Math.max(1, Math.round(ttlMs)),
        pod.revision,
        k.events,
        event('pods', pod.revision),
      ),
    );
  }

  async removePod(revision: string, id: string): Promise<void> {
    const k = this.keys;
    await this.run((r) => r.eval(REMOVE_POD, 2, k.pods(revision), k.podExpiry(revision), id, k.events, event('pods', revision)));
  }

  async listPods(revision?: string): Promise<PodRecord[]> {
    const revisions = revision === undefined ? await this.run((r) => r.smembers(this.keys.podRevisions)) : [revision];
    const lists = await Promise.all(revisions.map((rev) => this.listRevision(rev)));
    return lists.flat();
  }

  async reportStats(stats: readonly PodStat[]): Promise<void> {
    if (stats.length === 0) return;
    const byRevision = new Map<string, PodStat[]>();
    for (const s of stats) {
      const list = byRevision.get(s.revision);
      if (list) list.push(s);
      else byRevision.set(s.revision, [s]);
    }
    const cutoff = this.clock.now() - this.retentionMs;
    await this.run((r) => {
      const tx = r.multi();
      for (const [rev, list] of byRevision) {
        const key = this.keys.stats(rev);
        tx.zadd(key, ...list.flatMap((s) => [s.time, JSON.stringify(s)]));
        tx.zremrangebyscore(key, '-inf', cutoff);
        tx.pexpire(key, this.retentionMs);
      }
      return tx.exec().then(checkExec);
    });
  }

  async readStats(revision: string, sinceMs: number): Promise<PodStat[]> {
    const from = Math.max(sinceMs, this.clock.now() - this.retentionMs);
    const members = await this.run((r) => r.zrangebyscore(this.keys.stats(revision), `(${from}`, '+inf'));
    return members.map((m) => JSON.parse(m) as PodStat);
  }

  async setStatus(revision: string, status: RevisionStatus): Promise<void> {
    await this.run((r) =>
      r
        .multi()
        .hset(this.keys.status, revision, JSON.stringify(status))
        .publish(this.keys.events, event('status', revision))
        .exec()
        .then(checkExec),
    );
  }

  async getStatus(revision: string): Promise<RevisionStatus | null> {
    const json = await this.run((r) => r.hget(this.keys.status, revision));
    return json === null ? null : (JSON.parse(json) as RevisionStatus);
  }

  async listStatuses(): Promise<Map<string, RevisionStatus>> {
    const all = await this.run((r) => r.hgetall(this.keys.status));
    return new Map(Object.entries(all).map(([rev, json]) => [rev, JSON.parse(json) as RevisionStatus]));
  }

  async poke(revision: string): Promise<void> {
    await this.run((r) => r.publish(this.keys.events, event('poke', revision)));
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const got = await this.run((r) => r.eval(ACQUIRE_LEASE, 1, this.keys.lease(name), holder, Math.max(1, Math.round(ttlMs))));
    return got === 1;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.run((r) => r.eval(RELEASE_LEASE, 1, this.keys.lease(name), holder));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.cmd.disconnect();
    this.sub.disconnect();
    await Promise.resolve();
  }

  /** Whether both connections are usable (commands and events). */
  get connected(): boolean {
    return this.up;
  }

  private async listRevision(revision: string): Promise<PodRecord[]> {
    const k = this.keys;
    const rows = (await this.run((r) =>
      r.eval(LIST_PODS, 3, k.pods(revision), k.podExpiry(revision), k.podRevisions, revision, k.events, event('pods', revision)),
    )) as string[];
    return rows.map((json) => JSON.parse(json) as PodRecord).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Runs a command when connected, else rejects at once (fail fast, never queue). */
  private async run<T>(command: (r: Redis) => Promise<T>): Promise<T> {
    if (this.closed) throw new TidegateError('TG_ERR_STORE_UNAVAILABLE', 'store is closed');
    if (this.cmd.status !== 'ready' && !this.everUp) await this.firstAttempt;
    if (this.cmd.status !== 'ready') throw new TidegateError('TG_ERR_STORE_UNAVAILABLE', `redis is ${this.cmd.status}`);
    try {
      return await command(this.cmd);
    } catch (err) {
      throw new TidegateError('TG_ERR_STORE_UNAVAILABLE', `redis command failed: ${(err as Error).message}`, { cause: err });
    }
  }

  private setState(conn: 'cmd' | 'sub', ready: boolean): void {
    if (conn === 'cmd') this.cmdReady = ready;
    else this.subReady = ready;
    const up = this.cmdReady && this.subReady;
    if (up === this.up || this.closed) return;
    this.up = up;
    if (up) {
      this.logger.info(this.everUp ? 'store: redis connection restored' : 'store: redis connected');
      this.everUp = true;
    } else {
      this.logger.warn('store: redis connection lost; keeping the last known state until it returns');
    }
    this.emit({ type: 'connection', up });
  }

  private onMessage(message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return; // not ours: someone else published on the channel
    }
    const { type, revision } = (parsed ?? {}) as { type?: unknown; revision?: unknown };
    if ((type === 'pods' || type === 'status' || type === 'poke') && typeof revision === 'string') {
      this.emit({ type, revision });
    }
  }

  private emit(ev: StoreEvent): void {
    for (const listener of [...this.listeners]) listener(ev);
  }
}

function event(type: 'pods' | 'status' | 'poke', revision: string): string {
  return JSON.stringify({ type, revision });
}

/** MULTI/EXEC reports per-command errors in its result rather than rejecting. */
function checkExec(results: [Error | null, unknown][] | null): void {
  if (results === null) throw new Error('transaction aborted');
  for (const [err] of results) if (err) throw err;
}
