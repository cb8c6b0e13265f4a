/**
 * Lines out to a file descriptor (stdout) without ever blocking the event
 * loop: lines are appended to one pending string, written every `flushMs`
 * (or as soon as 64 KiB are waiting) with fs.write (libuv's thread pool, so
 * a slow pipe or file blocks a pool thread, never a request), one write at
 * a time, and whatever arrives meanwhile goes out with the next. A write
 * per event-loop turn cost a thread-pool round trip per few requests (a
 * context switch each, when the process has one CPU); one per 10 ms does not. When the reader falls
 * so far behind that the pending text passes `maxPendingChars`, new lines
 * are dropped, counted, and the drop is logged (once per episode): memory
 * stays bounded, and no line is lost silently.
 */
import fs from 'node:fs';
import type { Clock, Timer } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';

/** Where the bytes go: fs.write on a descriptor in production, anything in tests. */
export type WriteFn = (chunk: Buffer, done: (err: NodeJS.ErrnoException | null, written: number) => void) => void;

export function fdWriter(fd: number): WriteFn {
  return (chunk, done) => fs.write(fd, chunk, 0, chunk.length, null, done);
}

export interface LineWriterOptions {
  readonly write: WriteFn;
  readonly clock: Clock;
  readonly logger: Logger;
  /** What the lines are, for log messages ("access log"). */
  readonly what: string;
  /** Called with the number of lines dropped (a metric). */
  readonly onDropped: (lines: number) => void;
  readonly maxPendingChars?: number;
  /** How long a line may wait for the next write (default 10 ms). */
  readonly flushMs?: number;
}

/** Pending text that is written at once instead of waiting for the timer. */
const EAGER_CHARS = 64 * 1024;

/** A would-block descriptor (stdout set non-blocking by someone) is retried after this long. */
const RETRY_MS = 10;

export class LineWriter {
  private pending = '';
  private scheduled = false;
  private writing = false;
  private dropping = 0;
  private broken = false;
  private readonly maxPending: number;
  private readonly flushMs: number;
  private timer: Timer | null = null;
  private readonly onTimer = (): void => {
    this.timer = null;
    this.startWrite();
  };
  private idle: (() => void) | null = null;

  constructor(private readonly opts: LineWriterOptions) {
    this.maxPending = opts.maxPendingChars ?? 8 * 1024 * 1024;
    this.flushMs = opts.flushMs ?? 10;
  }

  /** Queues one line (it must end with '\n'). */
  line(text: string): void {
    if (this.broken || this.pending.length + text.length > this.maxPending) {
      this.drop();
      return;
    }
    if (this.dropping > 0) this.recovered();
    this.pending += text;
    if (this.writing || this.scheduled) return;
    if (this.pending.length >= EAGER_CHARS) {
      this.scheduled = true;
      setImmediate(writeSoon, this);
    } else if (this.timer === null) this.timer = this.opts.clock.setTimeout(this.onTimer, this.flushMs);
  }

  /** Writes what is queued now; resolves once everything is written (or `ms` passed). */
  flush(ms = 2000): Promise<void> {
    if (!this.writing && !this.scheduled && this.pending === '') return Promise.resolve();
    if (!this.writing && !this.scheduled) {
      this.scheduled = true;
      setImmediate(writeSoon, this);
    }
    return new Promise((resolve) => {
      const timer = this.opts.clock.setTimeout(() => {
        this.idle = null;
        resolve();
      }, ms);
      this.idle = () => {
        this.opts.clock.clearTimeout(timer);
        this.idle = null;
        resolve();
      };
    });
  }

  /** @internal the setImmediate callback */
  startWrite(): void {
    this.scheduled = false;
    if (this.timer !== null) {
      this.opts.clock.clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.writing || this.pending === '') return;
    const chunk = Buffer.from(this.pending);
    this.pending = '';
    this.writeChunk(chunk);
  }

  private writeChunk(chunk: Buffer): void {
    this.writing = true;
    this.opts.write(chunk, (err, written) => {
      this.writing = false;
      if (err) {
        if (err.code === 'EAGAIN') {
          this.writing = true;
          this.opts.clock.setTimeout(() => this.writeChunk(chunk), RETRY_MS);
          return;
        }
        this.fail(err, chunk);
        return;
      }
      if (written < chunk.length) {
        this.writeChunk(chunk.subarray(written));
        return;
      }
      if (this.pending === '') this.idle?.();
      else if (this.pending.length >= EAGER_CHARS || this.idle !== null) this.startWrite();
      else if (this.timer === null) this.timer = this.opts.clock.setTimeout(this.onTimer, this.flushMs);
    });
  }

  private fail(err: NodeJS.ErrnoException, chunk: Buffer): void {
    // stdout closed (EPIPE) or unusable: nothing will reach it again.
    this.broken = true;
    const lost = countLines(chunk) + countLines(this.pending);
    this.pending = '';
    this.opts.onDropped(lost);
    this.opts.logger.error({ err: err.message, code: err.code, lost }, `${this.opts.what}: cannot write to its output any more; further lines are dropped and counted`);
    this.idle?.();
  }

  private drop(): void {
    if (this.dropping === 0 && !this.broken) {
      this.opts.logger.warn({ pendingChars: this.pending.length }, `${this.opts.what}: output is not keeping up; lines are dropped and counted until it catches up`);
    }
    this.dropping++;
    this.opts.onDropped(1);
  }

  private recovered(): void {
    this.opts.logger.warn({ dropped: this.dropping }, `${this.opts.what}: output caught up after dropping lines`);
    this.dropping = 0;
  }
}

function writeSoon(w: LineWriter): void {
  w.startWrite();
}

function countLines(chunk: Buffer | string): number {
  let n = 0;
  if (typeof chunk === 'string') {
    for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) n++;
  } else {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}
