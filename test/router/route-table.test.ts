import { describe, expect, it } from 'vitest';
import { WeightedPick } from '../../src/router/weighted-pick.js';
import { seededRandom } from '../support/seeded-random.js';

describe('WeightedPick', () => {
  it('splits 10,000 picks within ±2 points of 90/10', () => {
    const pick = new WeightedPick([
      { value: 'a', percent: 90 },
      { value: 'b', percent: 10 },
    ]);
    const rnd = seededRandom(42);
    let b = 0;
    for (let i = 0; i < 10_000; i++) if (pick.pick(rnd) === 'b') b++;
    expect(Math.abs(b / 100 - 10)).toBeLessThanOrEqual(2);
  });

  it('maps the RNG range onto slots exactly', () => {
    const pick = new WeightedPick([
      { value: 'a', percent: 1 },
      { value: 'b', percent: 99 },
    ]);
    expect(pick.pick(() => 0)).toBe('a');
    expect(pick.pick(() => 0.0099)).toBe('a');
    expect(pick.pick(() => 0.01)).toBe('b');
    expect(pick.pick(() => 0.999999)).toBe('b');
  });

  it('refuses percents that do not add up to 100', () => {
    expect(() => new WeightedPick([{ value: 'a', percent: 50 }])).toThrow(/50, not 100/);
  });
});
