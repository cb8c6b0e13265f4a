/**
 * The KPA decider on Knative's own numbers (KNATIVE.md section 5, from
 * autoscaler_test.go). Unless a case says otherwise: total = T/0.75,
 * panic threshold 2, max scale up/down rate 10, stable window 60 s,
 * reachable, one ready pod when the decider is created.
 */
import { describe, expect, it } from 'vitest';
import { decide, excessBurstCapacity, initialDeciderState, type DeciderParams, type DeciderState } from '../../src/autoscaler/decider.js';

const t0 = 1_700_000_000_000; // a multiple of 2 s, like the tick slots
const S = 1000;
const M = 60 * S;

interface Step {
  at: number; // ms after t0
  R: number | null;
  S: number | null;
  P: number | null;
  reachable?: boolean;
  want: number | 'invalid';
  mode?: 'stable' | 'panic';
  ebc?: number;
}
interface Case {
  name: string;
  T: number;
  p?: Partial<DeciderParams>;
  initialR?: number;
  steps: Step[];
}

const params = (T: number, p: Partial<DeciderParams> = {}): DeciderParams => ({
  target: T,
  total: T / 0.75,
  panicThreshold: 2,
  maxScaleUpRate: 10,
  maxScaleDownRate: 10,
  stableWindowMs: 60 * S,
  activationScale: 1,
  scaleDownDelayMs: 0,
  targetBurstCapacity: 211,
  ...p,
});

const cases: Case[] = [
  { name: '1: T=10, S=50 → 5, then S=100 → 10; TBC 101 → EBC −98', T: 10, p: { targetBurstCapacity: 101 }, steps: [
    { at: 0, R: 1, S: 50, P: 10, want: 5, mode: 'stable', ebc: -98 },
    { at: 2 * S, R: 1, S: 100, P: 10, want: 10, ebc: -98 },
  ] },
  { name: '2: RPS T=10, S=P=50 → 5; S=100, P=99 → 10', T: 10, steps: [
    { at: 0, R: 1, S: 50, P: 50, want: 5 },
    { at: 2 * S, R: 1, S: 100, P: 99, want: 10 },
  ] },
  { name: '3: T=10, S=50, P=100 → panic (10/1 ≥ 2) → 10', T: 10, steps: [{ at: 0, R: 1, S: 50, P: 100, want: 10, mode: 'panic' }] },
  { name: '4: up cap, T=10, S=1000, P=1001, R=1 → 10', T: 10, steps: [{ at: 0, R: 1, S: 1000, P: 1001, want: 10 }] },
  { name: '4: up cap, T=10, S=1000, P=1001, R=10 → 100', T: 10, steps: [{ at: 0, R: 10, S: 1000, P: 1001, want: 100 }] },
  { name: '5: down cap, T=10, R=100, S=P=1 → 10', T: 10, steps: [{ at: 0, R: 100, S: 1, P: 1, want: 10, mode: 'stable' }] },
  { name: '5: down cap, T=10, R=10, S=P=1 → 1', T: 10, steps: [{ at: 0, R: 10, S: 1, P: 1, want: 1 }] },
  { name: '6: max-scale-up-rate 1.1, T=1, R=2, S=3, P=3.1 → 3 (ceil allows +1)', T: 1, p: { maxScaleUpRate: 1.1 }, steps: [{ at: 0, R: 2, S: 3, P: 3.1, want: 3 }] },
  { name: '7: max-scale-down-rate 1.1, T=10, R=100, S=P=1 → 90', T: 10, p: { maxScaleDownRate: 1.1 }, steps: [{ at: 0, R: 100, S: 1, P: 1, want: 90 }] },
  { name: '7: max-scale-down-rate 1.1, unreachable → 1', T: 10, p: { maxScaleDownRate: 1.1 }, steps: [{ at: 0, R: 100, S: 1, P: 1, reachable: false, want: 1 }] },
  { name: '8: R=0 is read as 1, T=10, S=1000 → 10', T: 10, steps: [{ at: 0, R: 0, S: 1000, P: 1000, want: 10 }] },
  { name: '9: T=10, R=8, S=P=100 → 10, then 50 → 5', T: 10, steps: [
    { at: 0, R: 8, S: 100, P: 100, want: 10, mode: 'stable' },
    { at: 2 * S, R: 8, S: 50, P: 50, want: 5 },
  ] },
  { name: '10: T=10, S=1, P=0 → 1; S=0 → 0', T: 10, steps: [
    { at: 0, R: 1, S: 1, P: 0, want: 1 },
    { at: 2 * S, R: 1, S: 0, P: 0, want: 0 },
  ] },
  { name: '10: activation-scale 2, S=0 → 0; S=1 → 2', T: 10, p: { activationScale: 2 }, steps: [
    { at: 0, R: 1, S: 0, P: 0, want: 0 },
    { at: 2 * S, R: 1, S: 1, P: 0, want: 2 },
  ] },
  { name: '11: T=10, TBC 93: panic holds 100 pods for a stable window past the last hot tick', T: 10, p: { targetBurstCapacity: 93 }, steps: [
    { at: 0, R: 1, S: 100, P: 100, want: 10 },
    { at: 0, R: 10, S: 100, P: 1000, want: 100, mode: 'panic' },
    { at: 30 * S, R: 10, S: 1, P: 1, want: 100, mode: 'panic' },
    { at: 61 * S, R: 10, S: 1, P: 1, want: 1, mode: 'stable' },
  ] },
  { name: '12: T=1, panic at t0 → 25; +30 s not hot → 41, panicTime unchanged; +62 s → 50, panic off', T: 1, steps: [
    { at: 0, R: 10, S: 11, P: 25, want: 25, mode: 'panic' },
    { at: 30 * S, R: 40, S: 30, P: 41, want: 41, mode: 'panic' },
    { at: 62 * S, R: 55, S: 50, P: 56, want: 50, mode: 'stable' },
  ] },
  { name: '12: P=80 at +30 s is hot again → 80, and panicTime moves (still panic at +62 s)', T: 1, steps: [
    { at: 0, R: 10, S: 11, P: 25, want: 25, mode: 'panic' },
    { at: 30 * S, R: 40, S: 30, P: 80, want: 80, mode: 'panic' },
    { at: 62 * S, R: 55, S: 50, P: 56, want: 80, mode: 'panic' },
    { at: 91 * S, R: 80, S: 50, P: 56, want: 50, mode: 'stable' },
  ] },
  { name: '13: T=1, geometric growth through panic: 6, 36, 216, 1296, 1296', T: 1, steps: [
    { at: 0, R: 1, S: 6, P: 6, want: 6 },
    { at: 2 * S, R: 6, S: 36, P: 36, want: 36 },
    { at: 4 * S, R: 36, S: 216, P: 216, want: 216 },
    { at: 6 * S, R: 216, S: 1296, P: 1296, want: 1296 },
    { at: 8 * S, R: 1296, S: 1296, P: 1296, want: 1296 },
  ] },
  { name: '14: in panic (maxPanicPods 5), R=5, T=1: S=50, P=30 → 50 (the larger of the two)', T: 1, initialR: 5, steps: [{ at: 0, R: 5, S: 50, P: 30, want: 50, mode: 'panic' }] },
  { name: '14: in panic (maxPanicPods 5), R=5, T=1: S=20, P=30 → 30', T: 1, initialR: 5, steps: [{ at: 0, R: 5, S: 20, P: 30, want: 30, mode: 'panic' }] },
  { name: '15: scale-down delay 5m, T=10, R=0: 40 @+2s → 4; 0 @+5m → 4; @+5m2s → 0', T: 10, p: { scaleDownDelayMs: 5 * M }, steps: [
    { at: 2 * S, R: 0, S: 40, P: 0, want: 4 },
    { at: 5 * M, R: 0, S: 0, P: 0, want: 4 },
    { at: 5 * M + 2 * S, R: 0, S: 0, P: 0, want: 0 },
  ] },
  { name: '15: scale-down delay 5m, gradual: 40@9m → 4, 30@10m → 4, 0@11m → 4, @14m → 3, @15m → 0', T: 10, p: { scaleDownDelayMs: 5 * M }, steps: [
    { at: 9 * M, R: 0, S: 40, P: 0, want: 4 },
    { at: 10 * M, R: 0, S: 30, P: 0, want: 4 },
    { at: 11 * M, R: 0, S: 0, P: 0, want: 4 },
    { at: 14 * M, R: 0, S: 0, P: 0, want: 3 },
    { at: 15 * M, R: 0, S: 0, P: 0, want: 0 },
  ] },
  { name: '15: scale-down delay 5m, unreachable → 0 at once', T: 10, p: { scaleDownDelayMs: 5 * M }, steps: [
    { at: 2 * S, R: 0, S: 40, P: 0, reachable: false, want: 4 },
    { at: 4 * S, R: 0, S: 0, P: 0, reachable: false, want: 0 },
  ] },
  { name: '15: no scale-down delay: 40 → 4, then 20 → 2', T: 10, steps: [
    { at: 2 * S, R: 0, S: 40, P: 0, want: 4 },
    { at: 4 * S, R: 0, S: 20, P: 0, want: 2 },
  ] },
  { name: '16: created with 5 ready pods → starts in panic and does not scale down on low load', T: 10, initialR: 5, steps: [
    { at: 2 * S, R: 5, S: 0, P: 0, want: 5, mode: 'panic' },
    { at: 61 * S, R: 5, S: 0, P: 0, want: 0, mode: 'stable' },
  ] },
  { name: '17: EBC with TBC −1 → −1', T: 10, p: { targetBurstCapacity: -1 }, steps: [{ at: 0, R: 3, S: 5, P: 5, want: 1, ebc: -1 }] },
  { name: '17: EBC with TBC 0 → 0', T: 10, p: { targetBurstCapacity: 0 }, steps: [{ at: 0, R: 3, S: 5, P: 5, want: 1, ebc: 0 }] },
  { name: '17: EBC, T=10, TBC 100, P=50, R=1 → −137', T: 10, p: { targetBurstCapacity: 100 }, steps: [{ at: 0, R: 1, S: 50, P: 50, want: 5, ebc: -137 }] },
  { name: '17: EBC uses the real ready count (0 pods → no capacity)', T: 10, p: { targetBurstCapacity: 100 }, steps: [{ at: 0, R: 0, S: 0, P: 0, want: 0, ebc: -100 }] },
  { name: '18: no metrics → invalid, no change; a failed pod count → invalid', T: 10, steps: [
    { at: 0, R: 1, S: 50, P: 50, want: 5, mode: 'panic' },
    { at: 2 * S, R: 1, S: null, P: null, want: 'invalid' },
    { at: 4 * S, R: null, S: 1, P: 1, want: 'invalid' },
  ] },
];

describe('KPA decider (KNATIVE.md section 5)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const p = params(c.T, c.p);
    let state: DeciderState = initialDeciderState(c.initialR ?? 1, t0);
    for (const [i, step] of c.steps.entries()) {
      const d = decide(p, state, { now: t0 + step.at, stable: step.S, panic: step.P, readyPods: step.R, reachable: step.reachable ?? true });
      const where = `step ${i} (+${step.at / S}s)`;
      if (step.want === 'invalid') {
        expect(d.valid, where).toBe(false);
        expect(d.state, where).toBe(state);
        continue;
      }
      if (!d.valid) throw new Error(`${where}: invalid decision`);
      expect(d.desired, where).toBe(step.want);
      if (step.mode) expect(d.mode, where).toBe(step.mode);
      if (step.ebc !== undefined) expect(d.excessBurstCapacity, where).toBe(step.ebc);
      state = d.state;
    }
  });

  it('16: a decider created with R ≥ 2 starts in panic with maxPanicPods = R; R ∈ {0, 1} does not', () => {
    expect(initialDeciderState(2, t0)).toMatchObject({ panicTime: t0, maxPanicPods: 2 });
    expect(initialDeciderState(7, t0)).toMatchObject({ panicTime: t0, maxPanicPods: 7 });
    expect(initialDeciderState(1, t0).panicTime).toBeNull();
    expect(initialDeciderState(0, t0).panicTime).toBeNull();
  });

  it('17: EBC with defaults (total 100, TBC 211) keeps the activator in the path below 3 pods', () => {
    const p = { total: 100, targetBurstCapacity: 211 };
    expect(excessBurstCapacity(p, 2, 0)).toBeLessThan(0);
    expect(excessBurstCapacity(p, 3, 0)).toBe(89);
  });
});
