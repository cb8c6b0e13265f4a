import { splitAddress } from '../shared/probe.js';
import { realClock, type Clock } from '../shared/clock.js';
import { UpstreamConnection } from './connection.js';

export interface PoolOptions {
  /** Idle connections kept beyond this are closed. */
  readonly maxIdle?: number;
  /** Idle connections are closed after this long (below Node's 5 s keep-alive default, to avoid reuse races). */
  readonly idleTimeoutMs?: number;
  readonly clock?: Clock;
}

/** Every pool, so one background sweep closes connections left idle too long. */
const pools = new Set<UpstreamPool>();
let sweeper: ReturnType<Clock['setInterval']> | null = null;

/**
 * Keep-alive connections to one upstream address. There is no cap on open
 * connections: a pool grows to the concurrency it carries (the throttler,
 * not the pool, bounds in-flight requests per pod), and idle connections
 * are reused most-recently-used first.
 */
export class UpstreamPool {
  readonly host: string;
  readonly port: number;
  readonly maxIdle: number;
  readonly idleTimeoutMs: number;
  private idle: UpstreamConnection[] = [];
  private open = new Set<UpstreamConnection>();
  private closed = false;
  private readonly clock: Clock;

  constructor(
    readonly address: string,
    options: PoolOptions = {},
  ) {
    const { host, port } = splitAddress(address);
    this.host = host;
    this.port = port;
    this.maxIdle = options.maxIdle ?? 1024;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 4000;
    this.clock = options.clock ?? realClock;
    pools.add(this);
    if (sweeper === null) {
      sweeper = this.clock.setInterval(sweepAll, 1000);
      sweeper.unref?.();
    }
  }

  /** An idle connection, or a new one (writes before connect are buffered by the socket). */
  acquire(): UpstreamConnection {
    // Idle connections expire lazily (no socket timer per request): skip stale ones.
    const now = this.clock.now();
    for (let conn = this.idle.pop(); conn !== undefined; conn = this.idle.pop()) {
      if (conn.idleUntil > now) return conn;
      conn.destroy();
    }
    const fresh = new UpstreamConnection(this);
    this.open.add(fresh);
    return fresh;
  }

  /** Called by a connection whose exchange finished cleanly. */
  release(conn: UpstreamConnection, idleTimeoutMs: number): void {
    if (this.closed || this.idle.length >= this.maxIdle) {
      conn.destroy();
      return;
    }
    conn.idleUntil = this.clock.now() + Math.min(idleTimeoutMs, this.idleTimeoutMs);
    this.idle.push(conn);
  }

  /** Closes idle connections past their time (oldest are at the bottom of the stack). */
  sweep(now = this.clock.now()): void {
    let stale = 0;
    while (stale < this.idle.length && this.idle[stale]!.idleUntil <= now) stale++;
    if (stale > 0) for (const conn of this.idle.splice(0, stale)) conn.destroy();
  }

  /** Called by a connection when its socket is gone. */
  forget(conn: UpstreamConnection): void {
    this.open.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Closes idle connections now and busy ones when their exchange ends. */
  close(): void {
    this.closed = true;
    for (const conn of this.idle.splice(0)) conn.destroy();
    pools.delete(this);
  }
}

function sweepAll(): void {
  for (const pool of pools) pool.sweep();
}
