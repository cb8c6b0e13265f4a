import { describe, expect, it } from 'vitest';
import {
  type LoadView,
  type PolicyState,
  firstFree,
  policyFor,
  powerOfTwoChoices,
  roundRobin,
} from '../../src/activator/lb-policy.js';
import { seededRandom } from '../support/seeded-random.js';

/** Pods from [inFlight, capacity] pairs. */
const pods = (...l: [number, number][]): LoadView[] => l.map(([inFlight, capacity]) => ({ inFlight, capacity }));
/** A "random" source that replays fixed values. */
const scripted = (...v: number[]): (() => number) => {
  let i = 0;
  return () => v[i++ % v.length]!;
};
const state = (random: () => number = Math.random, cursor = 0): PolicyState => ({ cursor, random });

describe('policyFor picks the policy by containerConcurrency, as Knative', () => {
  it.each([
    [0, powerOfTwoChoices],
    [1, firstFree],
    [3, firstFree],
    [4, roundRobin],
    [100, roundRobin],
  ])('CC=%i', (cc, policy) => {
    expect(policyFor(cc)).toBe(policy);
  });
});

describe('power of two choices', () => {
  const inf = Infinity;
  it.each([
    // [pods, random values, exclude, expected]
    ['less loaded of the two drawn (second)', pods([5, inf], [1, inf], [9, inf]), [0, 0], -1, 1],
    ['less loaded of the two drawn (first)', pods([5, inf], [1, inf], [9, inf]), [0.5, 0.9], -1, 1],
    ['the two drawn are distinct', pods([0, inf], [3, inf]), [0, 0], -1, 0],
    ['tie goes to the first drawn', pods([2, inf], [2, inf], [2, inf]), [0.9, 0], -1, 2],
    ['single pod', pods([7, inf]), [0.3], -1, 0],
    ['excluded pod is never drawn', pods([0, inf], [5, inf], [6, inf]), [0, 0], 0, 1],
    ['only the excluded pod', pods([0, inf]), [0], 0, -1],
    ['no pods', pods(), [0], -1, -1],
    ['finite capacity: full pick falls back to a free pod', pods([1, 1], [1, 1], [0, 1]), [0, 0], -1, 2],
  ])('%s', (_name, p, r, exclude, want) => {
    expect(powerOfTwoChoices(p, exclude, state(scripted(...r)))).toBe(want);
  });

  it('never picks the more loaded of the two it drew (seeded, 2,000 draws)', () => {
    // With loads 0..9 the most loaded pod can never win a draw, the least never loses.
    const p = pods(...Array.from({ length: 10 }, (_, i): [number, number] => [i, Infinity]));
    const counts = new Array<number>(10).fill(0);
    const s = state(seededRandom(7));
    for (let k = 0; k < 2000; k++) counts[powerOfTwoChoices(p, -1, s)]!++;
    expect(counts[9]).toBe(0);
    // Pod 0 wins every draw it is part of: P = 2/10.
    expect(counts[0]! / 2000).toBeGreaterThan(0.15);
    expect(counts[0]!).toBeGreaterThan(counts[5]!);
  });
});

describe('first free', () => {
  it.each([
    ['first pod with room', pods([1, 1], [0, 1], [0, 1]), -1, 1],
    ['in order, even if a later pod is emptier', pods([1, 3], [0, 3]), -1, 0],
    ['all full', pods([1, 1], [2, 2]), -1, -1],
    ['skips the excluded pod', pods([0, 1], [0, 1]), 0, 1],
  ])('%s', (_name, p, exclude, want) => {
    expect(firstFree(p, exclude, state())).toBe(want);
  });
});

describe('round robin skipping full pods', () => {
  it('cycles through pods from the cursor', () => {
    const p = pods([0, 5], [0, 5], [0, 5]);
    const s = state();
    expect([0, 1, 2, 3].map(() => roundRobin(p, -1, s))).toEqual([0, 1, 2, 0]);
  });

  it.each([
    ['skips a full pod', pods([0, 5], [5, 5], [0, 5]), 1, -1, 2, 0],
    ['wraps around', pods([0, 5], [5, 5], [5, 5]), 1, -1, 0, 1],
    ['all full', pods([5, 5], [5, 5]), 0, -1, -1, 0],
    ['skips the excluded pod', pods([0, 5], [0, 5]), 0, 0, 1, 0],
    ['cursor beyond the end (pods shrank)', pods([0, 5], [0, 5]), 7, -1, 1, 0],
  ])('%s', (_name, p, cursor, exclude, want, nextCursor) => {
    const s = state(Math.random, cursor);
    expect(roundRobin(p, exclude, s)).toBe(want);
    expect(s.cursor).toBe(nextCursor);
  });
});
