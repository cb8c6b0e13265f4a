import { realClock, type Clock, type Timer } from '../shared/clock.js';
import { UpstreamBuffers } from './buffers.js';
import { loadRawSockets, type RawSockets } from './raw-socket.js';

/** What sweeps idle connections: every pool of one runtime, on its clock. */
interface Sweepable {
  sweep(now: number): void;
}

/** Something whose writes wait for the end of the event-loop turn. */
interface Flushable {
  flush(): void;
}

/**
 * Everything the upstream client shares between its pools and connections,
 * made explicitly by a composition root (src/bin/*) and passed down, so no
 * state is module-wide: the clock, the one sweep of idle connections, the
 * batch of writes held to the end of a turn, the reused buffers, and the raw
 * socket shortcuts (or null for net.Socket's own path).
 */
export class UpstreamRuntime {
  readonly clock: Clock;
  readonly buffers = new UpstreamBuffers();
  readonly raw: RawSockets | null;
  private readonly pools = new Set<Sweepable>();
  private sweeper: Timer | null = null;
  private readonly held: Flushable[] = [];
  private readonly flushHeld = (): void => {
    const held = this.held;
    for (let i = 0; i < held.length; i++) held[i]!.flush();
    held.length = 0;
  };

  constructor(options: { clock?: Clock; rawSockets?: boolean } = {}) {
    this.clock = options.clock ?? realClock;
    this.raw = options.rawSockets === false ? null : loadRawSockets();
  }

  /**
   * Holds `conn`'s writes until the end of this event-loop turn. The requests
   * that one turn of uWS reads go out to the pods together, so a pod woken
   * by the first finds the rest waiting instead of being woken (and
   * preempting tidegate on a shared core) once per request.
   */
  holdWrites(conn: Flushable): void {
    this.held.push(conn);
    if (this.held.length === 1) setImmediate(this.flushHeld);
  }

  /** A pool's idle connections are swept once a second from now on. */
  addPool(pool: Sweepable): void {
    this.pools.add(pool);
    if (this.sweeper === null) {
      this.sweeper = this.clock.setInterval(() => {
        const now = this.clock.now();
        for (const p of this.pools) p.sweep(now);
      }, 1000);
      this.sweeper.unref?.();
    }
  }

  removePool(pool: Sweepable): void {
    this.pools.delete(pool);
    if (this.pools.size === 0 && this.sweeper !== null) {
      this.clock.clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }
}

/** The composition roots' switch: TIDEGATE_RAW_SOCKETS=0 keeps connections on net.Socket's own path (the tests run both). */
export function rawSocketsFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.TIDEGATE_RAW_SOCKETS !== '0';
}
