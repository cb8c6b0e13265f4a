import { describe, expect, it } from 'vitest';
import { Drain, type DrainOutcome } from '../../src/queue/drain.js';
import { FakeClock } from '../support/fake-clock.js';

function track(p: Promise<DrainOutcome>) {
  const t: { outcome: DrainOutcome | null } = { outcome: null };
  void p.then((o) => (t.outcome = o));
  return t;
}
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('Drain', () => {
  it('ends at once when idle', async () => {
    const clock = new FakeClock();
    const d = new Drain(clock, () => 0);
    expect(d.draining).toBe(false);
    await expect(d.begin(30_000)).resolves.toBe('idle');
    expect(d.draining).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('waits for in-flight and queued work, then ends on the last request', async () => {
    const clock = new FakeClock();
    let active = 3;
    const d = new Drain(clock, () => active);
    const t = track(d.begin(30_000));
    expect(d.draining).toBe(true);
    active = 1;
    d.requestEnded();
    clock.advance(1000);
    await flush();
    expect(t.outcome).toBeNull();
    active = 0;
    d.requestEnded();
    await flush();
    expect(t.outcome).toBe('idle');
    expect(clock.pendingTimers).toBe(0);
  });

  it('is bounded by the timeout', async () => {
    const clock = new FakeClock();
    const d = new Drain(clock, () => 1);
    const t = track(d.begin(5000));
    clock.advance(4999);
    await flush();
    expect(t.outcome).toBeNull();
    clock.advance(1);
    await flush();
    expect(t.outcome).toBe('timeout');
  });

  it('begin is idempotent and requestEnded before begin does nothing', async () => {
    const clock = new FakeClock();
    let active = 0;
    const d = new Drain(clock, () => active);
    d.requestEnded();
    expect(d.draining).toBe(false);
    active = 1;
    const p1 = d.begin(1000);
    const p2 = d.begin(9999);
    expect(p1).toBe(p2);
    clock.advance(1000);
    await expect(p1).resolves.toBe('timeout');
  });
});
