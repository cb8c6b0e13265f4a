import { describe, expect, it } from 'vitest';
import { realClock } from '../../src/shared/clock.js';
import { LineWriter, type WriteFn } from '../../src/observe/line-writer.js';
import { captureLogger } from '../actuators/support/capture-logger.js';
import { waitFor } from '../support/serve.js';

function writer(write: WriteFn, maxPendingChars?: number) {
  const { logger, entries } = captureLogger();
  let dropped = 0;
  const w = new LineWriter({ write, clock: realClock, logger, what: 'access log', onDropped: (n) => (dropped += n), ...(maxPendingChars !== undefined ? { maxPendingChars } : {}) });
  return { w, entries, dropped: () => dropped };
}

describe('LineWriter', () => {
  it('batches lines into one write (every flushMs, or at 64 KiB), in order', async () => {
    const writes: string[] = [];
    const { w } = writer((chunk, done) => {
      writes.push(chunk.toString());
      setImmediate(() => done(null, chunk.length));
    });
    for (let i = 0; i < 100; i++) w.line(`${i}\n`);
    expect(writes).toEqual([]); // nothing written inside the turn that logged
    await w.flush();
    expect(writes).toHaveLength(1);
    expect(writes[0]!.split('\n').filter(Boolean).map(Number)).toEqual([...Array(100).keys()]);
  });

  it('finishes partial writes and retries a descriptor that would block (EAGAIN)', async () => {
    let out = '';
    let calls = 0;
    const { w, dropped } = writer((chunk, done) => {
      calls++;
      if (calls === 1) return setImmediate(() => done(Object.assign(new Error('would block'), { code: 'EAGAIN' }), 0));
      const n = Math.min(7, chunk.length); // a pipe that takes 7 bytes at a time
      out += chunk.subarray(0, n).toString();
      setImmediate(() => done(null, n));
    });
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i}\n`);
    for (const l of lines) w.line(l);
    await w.flush(5000);
    expect(out).toBe(lines.join(''));
    expect(dropped()).toBe(0);
  });

  it('never blocks on a stalled output: past its bound it drops lines, counts them and says so once', async () => {
    let release: (() => void) | null = null;
    let out = '';
    const { w, entries, dropped } = writer((chunk, done) => {
      // The first write stalls until released (a reader that stopped reading).
      release = () => {
        out += chunk.toString();
        done(null, chunk.length);
      };
    }, 100);
    w.line('first\n');
    await waitFor(() => release !== null, 2000, 'the first write');
    for (let i = 0; i < 50; i++) w.line(`line-${String(i).padStart(4, '0')}\n`); // 10 chars each: 10 fit
    expect(dropped()).toBe(40);
    expect(entries.filter((e) => String(e['msg']).includes('not keeping up'))).toHaveLength(1);
    const stalled = release as unknown as () => void;
    release = null;
    stalled();
    await waitFor(() => release !== null, 2000, 'the second write');
    (release as unknown as () => void)();
    await w.flush();
    expect(out.split('\n').filter(Boolean)).toEqual(['first', ...Array.from({ length: 10 }, (_, i) => `line-${String(i).padStart(4, '0')}`)]);
    w.line('after\n');
    expect(entries.some((e) => String(e['msg']).includes('caught up') && e['dropped'] === 40)).toBe(true);
  });

  it('counts what it could not write when the output is gone (EPIPE)', async () => {
    const { w, entries, dropped } = writer((chunk, done) => setImmediate(() => done(Object.assign(new Error('broken pipe'), { code: 'EPIPE' }), 0)));
    w.line('a\n');
    w.line('b\n');
    await w.flush();
    w.line('c\n');
    expect(dropped()).toBe(3);
    expect(entries.filter((e) => e['code'] === 'EPIPE')).toHaveLength(1);
  });
});
