import { describe, expect, it } from 'vitest';
import { holding, NO_GAP, STALE_SECONDS, statsLost, statsSeen, type GapState } from '../../src/autoscaler/gap.js';

const W = 60_000;
const seen = (s: GapState, now: number, newest: number | null, readyPods = 2) => statsSeen(s, { now, newest, readyPods, stableWindowMs: W });

describe('missing stats and the hold after them', () => {
  it('fresh stats every second: never missing, never held', () => {
    let s = NO_GAP;
    for (let t = 10_000; t < 100_000; t += 2000) {
      s = seen(s, t, t - 1000);
      expect(holding(s, t)).toBe(false);
    }
  });

  it(`no row for ${STALE_SECONDS} s while pods are ready: missing (held) until rows come back, then held one stable window more`, () => {
    let s = seen(NO_GAP, 10_000, 10_000 - (STALE_SECONDS - 1) * 1000);
    expect(holding(s, 10_000)).toBe(false);
    s = seen(s, 11_000, 11_000 - STALE_SECONDS * 1000);
    expect(s.missingSince).toBe(11_000);
    s = seen(s, 40_000, 7000);
    expect(s.missingSince).toBe(11_000);
    s = seen(s, 42_000, 42_000);
    expect(s).toEqual({ missingSince: null, holdUntil: 42_000 + W });
    expect(holding(s, 42_000 + W - 1)).toBe(true);
    expect(holding(s, 42_000 + W)).toBe(false);
  });

  it('a revision with no ready pod, or that never had a row, misses nothing', () => {
    expect(seen(NO_GAP, 50_000, 1000, 0)).toEqual(NO_GAP);
    expect(seen(NO_GAP, 50_000, null)).toEqual(NO_GAP);
  });

  it('an outage (or lost history) opens a gap that only fresh rows close', () => {
    let s = statsLost(NO_GAP, 5000);
    expect(statsLost(s, 9000)).toBe(s); // still the same gap
    s = seen(s, 7000, null);
    expect(holding(s, 7000)).toBe(true);
    s = seen(s, 9000, 9000, 0);
    expect(s).toEqual({ missingSince: null, holdUntil: 9000 + W });
  });
});
