import { splitAddress } from '../shared/probe.js';
import { UpstreamConnection } from './connection.js';
import type { DispatchController, DispatchHandler, Dispatcher, UpstreamRequest } from './dispatcher.js';
import type { UpstreamRuntime } from './runtime.js';

export interface PoolOptions {
  /** Idle connections kept beyond this are closed. */
  readonly maxIdle?: number;
  /** The longest an idle connection is kept, whatever the pod's Keep-Alive says (below Node's 5 s server default, to avoid reuse races). */
  readonly idleTimeoutMs?: number;
}

/**
 * The HTTP/1.1 dispatcher for one upstream address: keep-alive connections,
 * one request each at a time. There is no cap on open connections: a pool
 * grows to the concurrency it carries (the throttler or the breaker, not the
 * pool, bounds in-flight requests per pod), and idle connections are reused
 * most-recently-used first, so the least recently used ones age out.
 */
export class UpstreamPool implements Dispatcher {
  readonly host: string;
  readonly port: number;
  readonly maxIdle: number;
  readonly idleTimeoutMs: number;
  private idle: UpstreamConnection[] = [];
  private closed = false;

  constructor(
    readonly address: string,
    private readonly runtime: UpstreamRuntime,
    options: PoolOptions = {},
  ) {
    const { host, port } = splitAddress(address);
    this.host = host;
    this.port = port;
    this.maxIdle = options.maxIdle ?? 1024;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 4000;
    runtime.addPool(this);
  }

  dispatch(request: UpstreamRequest, extraHeaders: string, handler: DispatchHandler): DispatchController {
    const conn = this.acquire();
    conn.start(handler, request, extraHeaders);
    return conn;
  }

  /** An idle connection, or a new one (writes before connect are buffered by the socket). */
  private acquire(): UpstreamConnection {
    // Idle connections expire lazily (no socket timer per request): skip stale ones.
    const now = this.runtime.clock.now();
    for (let conn = this.idle.pop(); conn !== undefined; conn = this.idle.pop()) {
      if (conn.idleUntil > now) return conn;
      conn.destroy();
    }
    return new UpstreamConnection(this, this.runtime);
  }

  /** Called by a connection whose exchange finished cleanly; `keepAliveMs`: how long the pod said it keeps it. */
  release(conn: UpstreamConnection, keepAliveMs: number): void {
    if (this.closed || this.idle.length >= this.maxIdle) {
      conn.destroy();
      return;
    }
    conn.idleUntil = this.runtime.clock.now() + Math.min(keepAliveMs, this.idleTimeoutMs);
    this.idle.push(conn);
  }

  /**
   * Closes idle connections past their time. The stack is in release order,
   * not expiry order (each pod response may name its own Keep-Alive
   * timeout), so every entry is looked at: once a second, over idle ones only.
   */
  sweep(now: number): void {
    const idle = this.idle;
    let stale: UpstreamConnection[] | null = null;
    let kept = 0;
    for (let i = 0; i < idle.length; i++) {
      const conn = idle[i]!;
      if (conn.idleUntil > now) idle[kept++] = conn;
      else (stale ??= []).push(conn);
    }
    if (stale === null) return;
    idle.length = kept;
    // Destroyed after the stack is consistent: destroy() calls forget(), which looks there.
    for (const conn of stale) conn.destroy();
  }

  /** Called by a connection when its socket is gone. */
  forget(conn: UpstreamConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Closes idle connections now and busy ones when their exchange ends. */
  close(): void {
    this.closed = true;
    for (const conn of this.idle.splice(0)) conn.destroy();
    this.runtime.removePool(this);
  }
}
