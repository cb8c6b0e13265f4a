import { describe, expect, it } from 'vitest';
import { Expiry, expiryAt, nextDeadline, requestTimeouts, type RequestTimeouts, type TimedRequest } from '../../src/proxy/timeouts.js';

// A request that arrived at t = 1000 (clock ms). Each row gives its
// timeouts as [total, responseStart, idle] in ms (0 = none), when a byte
// last went either way (arrival unless said) and whether the response began.

const ARRIVED = 1000;

function timeouts([totalMs, responseStartMs, idleMs]: [number, number, number]): RequestTimeouts {
  return { totalMs, responseStartMs, idleMs };
}

function request(r: { lastActivity?: number | undefined; started?: boolean | undefined }): TimedRequest {
  return { startedAt: ARRIVED, lastActivity: r.lastActivity ?? ARRIVED, responseStarted: r.started ?? false };
}

const NAMES: Record<Expiry, string> = { [Expiry.None]: 'none', [Expiry.Total]: 'total', [Expiry.ResponseStart]: 'response-start', [Expiry.Idle]: 'idle' };

describe('nextDeadline: the nearest deadline still running, 0 for none', () => {
  const rows: { name: string; t: [number, number, number]; lastActivity?: number; started?: boolean; want: number }[] = [
    { name: 'no timeouts', t: [0, 0, 0], want: 0 },
    { name: 'no timeouts, response begun', t: [0, 0, 0], started: true, want: 0 },
    { name: 'total alone', t: [5000, 0, 0], want: 6000 },
    { name: 'total alone, response begun (it still runs)', t: [5000, 0, 0], started: true, want: 6000 },
    { name: 'response-start alone', t: [0, 2000, 0], want: 3000 },
    { name: 'response-start alone, response begun: nothing left', t: [0, 2000, 0], started: true, want: 0 },
    { name: 'idle alone, from arrival', t: [0, 0, 1000], want: 2000 },
    { name: 'idle alone, a byte at 1500 moves it', t: [0, 0, 1000], lastActivity: 1500, want: 2500 },
    { name: 'idle alone, response begun (it still runs)', t: [0, 0, 1000], lastActivity: 1500, started: true, want: 2500 },
    { name: 'total and response-start: response-start is nearer', t: [5000, 2000, 0], want: 3000 },
    { name: 'total and response-start, response begun: total', t: [5000, 2000, 0], started: true, want: 6000 },
    { name: 'total and response-start at the same time', t: [2000, 2000, 0], want: 3000 },
    { name: 'total and idle: idle is nearer', t: [5000, 0, 1000], want: 2000 },
    { name: 'total and idle, activity at 5500: total is nearer', t: [5000, 0, 1000], lastActivity: 5500, want: 6000 },
    { name: 'response-start and idle: the shorter one', t: [0, 500, 1000], want: 1500 },
    { name: 'all three: idle is nearest', t: [5000, 2000, 1000], want: 2000 },
    { name: 'all three, activity at 1800: idle moved, still nearest', t: [5000, 2000, 1000], lastActivity: 1800, want: 2800 },
    { name: 'all three, activity at 2500: response-start is nearest', t: [5000, 2000, 1000], lastActivity: 2500, want: 3000 },
    { name: 'all three, activity at 2500, response begun: idle', t: [5000, 2000, 1000], lastActivity: 2500, started: true, want: 3500 },
    { name: 'all three, activity at 5500, response begun: total', t: [5000, 2000, 1000], lastActivity: 5500, started: true, want: 6000 },
  ];
  it.each(rows)('$name → $want', ({ t, lastActivity, started, want }) => {
    expect(nextDeadline(timeouts(t), request({ lastActivity, started }))).toBe(want);
  });
});

describe('expiryAt: the timeout that has passed, total first, then response-start, then idle', () => {
  const rows: { name: string; t: [number, number, number]; now: number; lastActivity?: number; started?: boolean; want: Expiry }[] = [
    { name: 'no timeouts, a long time later (0 = none)', t: [0, 0, 0], now: 1e12, want: Expiry.None },
    { name: 'total, 1 ms before', t: [5000, 0, 0], now: 5999, want: Expiry.None },
    { name: 'total, at its deadline', t: [5000, 0, 0], now: 6000, want: Expiry.Total },
    { name: 'total, response begun', t: [5000, 0, 0], now: 6000, started: true, want: Expiry.Total },
    { name: 'response-start, 1 ms before', t: [0, 2000, 0], now: 2999, want: Expiry.None },
    { name: 'response-start, at its deadline', t: [0, 2000, 0], now: 3000, want: Expiry.ResponseStart },
    { name: 'response-start, response begun: never', t: [0, 2000, 0], now: 1e12, started: true, want: Expiry.None },
    { name: 'idle, from arrival', t: [0, 0, 1000], now: 2000, want: Expiry.Idle },
    { name: 'idle, a byte at 1500: not yet at 2000', t: [0, 0, 1000], now: 2000, lastActivity: 1500, want: Expiry.None },
    { name: 'idle, a byte at 1500: at 2500', t: [0, 0, 1000], now: 2500, lastActivity: 1500, want: Expiry.Idle },
    { name: 'idle, response begun', t: [0, 0, 1000], now: 2500, lastActivity: 1500, started: true, want: Expiry.Idle },
    // The deadline that came was an earlier one's, moved since: nothing has passed.
    { name: 'all three, activity at 1800, at the old idle deadline', t: [5000, 2000, 1000], now: 2000, lastActivity: 1800, want: Expiry.None },
    { name: 'all three passed', t: [5000, 2000, 1000], now: 7000, want: Expiry.Total },
    { name: 'total and response-start passed, idle not', t: [5000, 2000, 1000], now: 6000, lastActivity: 5500, want: Expiry.Total },
    { name: 'total and idle passed, response begun', t: [5000, 2000, 1000], now: 6000, started: true, want: Expiry.Total },
    { name: 'response-start and idle passed, total not', t: [5000, 2000, 1000], now: 3500, want: Expiry.ResponseStart },
    { name: 'idle passed, response-start not yet', t: [5000, 2000, 1000], now: 2000, want: Expiry.Idle },
    { name: 'response-start and idle passed, response begun: idle', t: [5000, 2000, 1000], now: 3500, started: true, want: Expiry.Idle },
  ];
  it.each(rows)('$name', ({ t, now, lastActivity, started, want }) => {
    expect(NAMES[expiryAt(timeouts(t), request({ lastActivity, started }), now)]).toBe(NAMES[want]);
  });
});

describe('requestTimeouts', () => {
  it('takes seconds and keeps ms, frozen (one object per revision, shared by its requests)', () => {
    const t = requestTimeouts(300, 10, 0);
    expect(t).toEqual({ totalMs: 300_000, responseStartMs: 10_000, idleMs: 0 });
    expect(Object.isFrozen(t)).toBe(true);
  });
});
