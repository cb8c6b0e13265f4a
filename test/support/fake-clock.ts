import type { Clock, Timer } from '../../src/shared/clock.js';

interface Pending {
  id: number;
  at: number;
  fn: () => void;
  every: number;
}

/** A Clock whose time moves only when a test calls advance(). */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers = new Map<number, Pending>();

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, 0);
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearTimeout(timer: Timer): void {
    this.timers.delete((timer as { id: number }).id);
  }

  clearInterval(timer: Timer): void {
    this.clearTimeout(timer);
  }

  /** Moves time forward, firing due timers in order (intervals repeat). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.timers.values()) if (p.at <= end && (!next || p.at < next.at)) next = p;
      if (!next) break;
      this.t = Math.max(this.t, next.at);
      if (next.every > 0) next.at += next.every;
      else this.timers.delete(next.id);
      next.fn();
    }
    this.t = end;
  }

  /** Advances and lets promise callbacks run between steps of `step` ms. */
  async advanceAsync(ms: number, step = ms): Promise<void> {
    for (let done = 0; done < ms; done += step) {
      this.advance(Math.min(step, ms - done));
      for (let i = 0; i < 10; i++) await Promise.resolve();
      await new Promise((r) => setImmediate(r));
    }
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  private add(fn: () => void, ms: number, every: number): Timer {
    const id = ++this.seq;
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), fn, every });
    return { id, unref: () => undefined } as Timer;
  }
}
