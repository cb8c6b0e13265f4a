/**
 * The rollout maths against Knative's pkg/reconciler/route/traffic/rollout_test.go:
 * cases named as there (a Knative configuration is a tidegate service here).
 * Step times are Knative's abstract numbers (Step only compares and adds them);
 * observeReady takes milliseconds.
 */
import { describe, expect, test } from 'vitest';
import {
  adjustPercentage,
  goalRollout,
  NO_PARAMS,
  observeReady,
  reconcileRollout,
  rolloutDone,
  stepRollout,
  type Rollout,
  type RolloutPolicy,
  type StepParams,
  type TargetRollout,
} from '../../src/router/rollout.js';
import type { ServiceSpec } from '../../src/config/types.js';

type Revs = [string, number][];

function cfg(service: string, percent: number, revs: Revs, params: Partial<StepParams> = {}, tag = ''): TargetRollout {
  return { service, tag, percent, revisions: revs.map(([revision, p]) => ({ revision, percent: p })), params: { ...NO_PARAMS, ...params } };
}

/** Knative's Validate: revisions add up to the total, which is at most 100, and the step fits in it. */
function valid(r: Rollout): boolean {
  return r.every((c) => c.percent <= 100 && c.params.stepSize >= 0 && c.params.stepSize <= c.percent && c.revisions.reduce((s, x) => s + x.percent, 0) === c.percent);
}

const now = 2020;

interface StepCase {
  name: string;
  prev: Rollout | null;
  cur: Rollout;
  want: Rollout;
  wantNextStep?: number;
}

const stepCases: StepCase[] = [
  { name: 'no prev', cur: [], prev: null, want: [] },
  {
    name: 'prev is empty',
    cur: [cfg('mick', 100, [['let-it-bleed', 100]])],
    prev: [cfg('mick', 100, [])],
    want: [cfg('mick', 100, [['let-it-bleed', 100]])],
  },
  {
    name: 'simplest, same',
    // The goal's params are not taken; the previous state had none.
    cur: [cfg('mick', 100, [['let-it-bleed', 100]], { nextStepMs: 2009, stepMs: 2020, startMs: 2004, stepSize: 14 })],
    prev: [cfg('mick', 100, [['let-it-bleed', 100]])],
    want: [cfg('mick', 100, [['let-it-bleed', 100]])],
  },
  {
    name: 'simplest, step',
    cur: [cfg('mick', 100, [['let-it-bleed', 100]])],
    prev: [cfg('mick', 100, [['their-satanic-majesties-request', 95], ['let-it-bleed', 5]], { nextStepMs: 2019, stepMs: 5, startMs: 2004, stepSize: 3 })],
    want: [cfg('mick', 100, [['their-satanic-majesties-request', 92], ['let-it-bleed', 8]], { nextStepMs: now + 5, stepMs: 5, startMs: 2004, stepSize: 3 })],
    wantNextStep: now + 5,
  },
  {
    name: 'multiple configs step',
    cur: [cfg('mick', 42, [['let-it-bleed', 42]]), cfg('keith', 52, [['beggars-banquet', 52]])],
    prev: [
      cfg('mick', 42, [['their-satanic-majesties-request', 37], ['let-it-bleed', 5]], { nextStepMs: 2019, stepMs: 43, startMs: 1961, stepSize: 3 }),
      cfg('keith', 52, [['sticky-fingers', 36], ['beggars-banquet', 16]], { nextStepMs: 2018, stepMs: 55, startMs: 1971, stepSize: 4 }),
    ],
    want: [
      cfg('keith', 52, [['sticky-fingers', 32], ['beggars-banquet', 20]], { nextStepMs: now + 55, stepMs: 55, startMs: 1971, stepSize: 4 }),
      cfg('mick', 42, [['their-satanic-majesties-request', 34], ['let-it-bleed', 8]], { nextStepMs: now + 43, stepMs: 43, startMs: 1961, stepSize: 3 }),
    ],
    wantNextStep: now + 43,
  },
  {
    name: 'multiple configs step and roll',
    cur: [cfg('mick', 42, [['let-it-bleed', 42]]), cfg('keith', 52, [['tattoo-you', 52]])],
    prev: [
      cfg('mick', 42, [['their-satanic-majesties-request', 37], ['let-it-bleed', 5]], { nextStepMs: 2019, stepMs: 43, startMs: 1961, stepSize: 3 }),
      cfg('keith', 52, [['sticky-fingers', 36], ['beggars-banquet', 16]], { nextStepMs: 2018, stepMs: 55, startMs: 1971, stepSize: 4 }),
    ],
    want: [
      cfg('keith', 52, [['sticky-fingers', 36], ['beggars-banquet', 15], ['tattoo-you', 1]], { startMs: 2020 }),
      cfg('mick', 42, [['their-satanic-majesties-request', 34], ['let-it-bleed', 8]], { nextStepMs: now + 43, stepMs: 43, startMs: 1961, stepSize: 3 }),
    ],
    wantNextStep: now + 43,
  },
  {
    name: 'simplest, step, when stepsize=0',
    cur: [cfg('mick', 100, [['let-it-bleed', 100]], { nextStepMs: 2009, stepMs: 2020, startMs: 2004, stepSize: 14 })],
    prev: [cfg('mick', 100, [['their-satanic-majesties-request', 95], ['let-it-bleed', 5]], { startMs: 2004 })],
    want: [cfg('mick', 100, [['their-satanic-majesties-request', 95], ['let-it-bleed', 5]], { startMs: 2004 })],
  },
  {
    name: 'when new revision becomes 0%',
    cur: [cfg('charlie', 0, [['aftermath', 0]])],
    prev: [cfg('charlie', 100, [['your-satanic-majesties-request', 100]])],
    want: [],
  },
  {
    name: "when new config is added but it's 0%",
    cur: [cfg('charlie', 0, [['aftermath', 0]]), cfg('mick', 100, [['between-the-buttons', 100]])],
    prev: [cfg('mick', 100, [['between-the-buttons', 100]])],
    want: [cfg('mick', 100, [['between-the-buttons', 100]])],
  },
  {
    name: 'simplest, roll',
    cur: [cfg('mick', 100, [['let-it-bleed', 100]])],
    prev: [cfg('mick', 100, [['goat-head-soup', 100]], { nextStepMs: 1984, startMs: 1981, stepMs: 1988, stepSize: 11 })],
    want: [cfg('mick', 100, [['goat-head-soup', 99], ['let-it-bleed', 1]], { startMs: now })],
  },
  {
    name: 'roll with percentage change down',
    cur: [cfg('mick', 33, [['let-it-bleed', 33]])],
    prev: [cfg('mick', 42, [['goat-head-soup', 11], ['aftermath', 31]])],
    want: [cfg('mick', 33, [['goat-head-soup', 2], ['aftermath', 30], ['let-it-bleed', 1]], { startMs: now })],
  },
  {
    name: 'roll with percentage change up',
    cur: [cfg('mick', 75, [['let-it-bleed', 75]])],
    prev: [cfg('mick', 25, [['goat-head-soup', 11], ['aftermath', 14]])],
    want: [cfg('mick', 75, [['goat-head-soup', 11], ['aftermath', 63], ['let-it-bleed', 1]], { startMs: now })],
  },
  {
    name: 'roll, where sum < 100% (one route targets a revision, e.g.)',
    cur: [cfg('brian', 70, [['let-it-bleed', 70]])],
    prev: [cfg('brian', 70, [['exile-on-main-st', 70]])],
    want: [cfg('brian', 70, [['exile-on-main-st', 69], ['let-it-bleed', 1]], { startMs: now })],
  },
  {
    name: 'roll with two existing revisions, no deletes',
    cur: [cfg('mick', 100, [['sticky-fingers', 100]])],
    prev: [cfg('mick', 100, [['goat-head-soup', 95], ['beggars-banquet', 5]], { startMs: now - 1982 })],
    want: [cfg('mick', 100, [['goat-head-soup', 95], ['beggars-banquet', 4], ['sticky-fingers', 1]], { startMs: now })],
  },
  {
    name: 'roll with delete (two fast successive rolls)',
    cur: [cfg('mick', 100, [['between-the-buttons', 100]])],
    prev: [cfg('mick', 100, [['goat-head-soup', 99], ['bridges-to-babylon', 1]], { startMs: now - 1984 })],
    want: [cfg('mick', 100, [['goat-head-soup', 99], ['between-the-buttons', 1]], { startMs: now })],
  },
  {
    name: 'roll with delete (minimal config target)',
    cur: [cfg('mick', 1, [['between-the-buttons', 1]])],
    prev: [cfg('mick', 1, [['bridges-to-babylon', 1]])],
    want: [cfg('mick', 1, [['between-the-buttons', 1]])],
  },
  {
    name: 'new tag, no roll',
    cur: [cfg('mick', 100, [['black-on-blue', 100]]), cfg('mick', 100, [['black-on-blue', 100]], {}, 'jagger')],
    prev: [cfg('mick', 100, [['black-on-blue', 100]])],
    want: [cfg('mick', 100, [['black-on-blue', 100]]), cfg('mick', 100, [['black-on-blue', 100]], {}, 'jagger')],
  },
  {
    name: 'deleted config, no roll',
    cur: [cfg('mick', 100, [["it's-only-rock-n-roll", 100]])],
    prev: [cfg('keith', 50, [['black-on-blue', 50]]), cfg('mick', 50, [["it's-only-rock-n-roll", 50]])],
    want: [cfg('mick', 100, [["it's-only-rock-n-roll", 100]])],
  },
  {
    name: 'a/b config, roll both',
    cur: [cfg('keith', 99, [['black-on-blue', 99]]), cfg('mick', 1, [["it's-only-rock-n-roll", 1]])],
    prev: [cfg('keith', 99, [["can't-get-no-satisfaction", 99]]), cfg('mick', 1, [['get-off-my-cloud', 1]])],
    want: [cfg('keith', 99, [["can't-get-no-satisfaction", 98], ['black-on-blue', 1]], { startMs: now }), cfg('mick', 1, [["it's-only-rock-n-roll", 1]])],
  },
  {
    name: 'new config, no roll, newer smaller',
    cur: [cfg('keith', 50, [['black-on-blue', 50]]), cfg('mick', 50, [["it's-only-rock-n-roll", 50]])],
    prev: [cfg('mick', 100, [["it's-only-rock-n-roll", 100]])],
    want: [cfg('keith', 50, [['black-on-blue', 50]]), cfg('mick', 50, [["it's-only-rock-n-roll", 50]])],
  },
  {
    name: 'new config, no roll, newer larger',
    cur: [cfg('keith', 50, [['black-on-blue', 50]]), cfg('mick', 50, [["it's-only-rock-n-roll", 50]])],
    prev: [cfg('keith', 100, [['black-on-blue', 100]])],
    want: [cfg('keith', 50, [['black-on-blue', 50]]), cfg('mick', 50, [["it's-only-rock-n-roll", 50]])],
  },
];

describe('TestStep', () => {
  test.each(stepCases)('$name', ({ prev, cur, want, wantNextStep }) => {
    const got = stepRollout(cur, prev, now);
    expect(got.rollout).toEqual(want);
    expect(valid(got.rollout)).toBe(true);
    expect(got.nextStepMs).toBe(wantNextStep ?? 0);
  });
});

describe('TestObserveReady', () => {
  // Knative's numbers are nanoseconds: 200620092020 + 1982 ns is "now", 198219841988 ns is 2.4 s before it.
  // In milliseconds: a start 1982 ns back is under 1 s (the first step took 1 s); 2.4 s back rounds up to 3 s.
  const nowMs = 200_620_092;
  const oldenDays = nowMs - 2_400;
  const duration = () => 120_000;
  // Expected values follow rollout.go's computeProperties as it is now: the time the first 1 % took
  // comes off the duration (120 s - 1 s = 119 s in 99 steps; 117 s in 39 steps of 3 s). The stored
  // rollout_test.go predates that change and expects 120/99 and 120 s / 40.
  test.each([
    { name: 'has-step', in: cfg('has-step', 100, [], { stepMs: 11 }), want: { stepMs: 11, stepSize: 0, nextStepMs: 0, startMs: 0 } },
    { name: 'no-step-no-begin', in: cfg('no-step-no-begin', 100, []), want: NO_PARAMS },
    { name: 'step-begin < 1s', in: cfg('step-begin < 1s', 100, [], { startMs: nowMs }), want: { startMs: nowMs, stepMs: 1202, stepSize: 1, nextStepMs: nowMs + 1202 } },
    { name: 'step-begin > 1s', in: cfg('step-begin > 1s', 100, [], { startMs: oldenDays }), want: { startMs: oldenDays, stepMs: 3000, stepSize: 3, nextStepMs: nowMs + 3000 } },
    { name: 'step-begin > 1s, step size round up', in: cfg('x', 75, [], { startMs: oldenDays }), want: { startMs: oldenDays, stepMs: 3000, stepSize: 2, nextStepMs: nowMs + 3000 } },
    { name: 'Percent not 100%', in: cfg('y', 50, [], { startMs: oldenDays }), want: { startMs: oldenDays, stepMs: 3000, stepSize: 1, nextStepMs: nowMs + 3000 } },
  ])('$name', (c) => {
    const [got] = observeReady([c.in], nowMs, duration);
    expect(got!.params).toEqual(c.want);
  });

  test('steps are never shorter than 1 s: a 1 s rollout is 1 % now and the rest 1 s later', () => {
    const [got] = observeReady([cfg('s', 100, [['a', 99], ['b', 1]], { startMs: nowMs })], nowMs, () => 1000);
    expect(got!.params).toEqual({ startMs: nowMs, stepMs: 1000, stepSize: 99, nextStepMs: nowMs + 1000 });
  });
});

describe('TestAdjustPercentage', () => {
  const revs = (...p: number[]): TargetRollout => cfg('c', p.reduce((a, b) => a + b, 0), p.map((x, i) => [`r${i}`, x]));
  const pcts = (t: { percent: number }[]) => t.map((r) => r.percent);
  test.each([
    { name: 'noop, 100%', goal: 100, prev: revs(71, 29), want: [71, 29] },
    { name: 'noop, 42%', goal: 42, prev: revs(21, 21), want: [21, 21] },
    { name: 'raise, 42% -> 75%', goal: 75, prev: revs(21, 21), want: [21, 54] },
    { name: 'lower, 75%->42%, lose 1', goal: 42, prev: revs(21, 54), want: [42] },
    { name: 'lower, 75%->42%, lose 1, update 2, keep 3', goal: 42, prev: revs(21, 22, 32), want: [10, 32] },
    { name: 'lower, 75%->42%, lose 2, update 3', goal: 42, prev: revs(10, 5, 60), want: [42] },
    { name: 'go to 0%', goal: 0, prev: revs(10, 5, 60), want: [] },
  ])('$name', ({ goal, prev, want }) => {
    expect(pcts(adjustPercentage(goal, prev))).toEqual(want);
  });
});

describe('TestConfigDone', () => {
  test('one revision or none: done; two: rolling', () => {
    expect(rolloutDone(cfg('one', 100, [['roy', 100]]))).toBe(true);
    expect(rolloutDone(cfg('no', 0, []))).toBe(true);
    expect(rolloutDone(cfg('many', 100, [['black-on-blue', 83], ['flowers', 17]]))).toBe(false);
  });
});

/** A whole rollout through reconcileRollout, as the edge runs it: each step at the time the previous one asked for. */
describe('reconcileRollout', () => {
  const policy = (durationMs: number, settled: string[] = [], gone: string[] = []): RolloutPolicy => ({
    durationMs: () => durationMs,
    rollsTo: (r) => !settled.includes(r),
    exists: (r) => !gone.includes(r),
  });
  const goal = (rev: string, percent = 100): Rollout => [cfg('svc', percent, [[rev, percent]])];
  const t0 = 1_700_000_000_000;

  function run(durationMs: number): { at: number; split: Revs }[] {
    let state = reconcileRollout(goal('v1'), [], t0, policy(durationMs));
    state = reconcileRollout(goal('v2'), state.rollout, t0, policy(durationMs));
    const out = [{ at: 0, split: state.rollout[0]!.revisions.map((r): [string, number] => [r.revision, r.percent]) }];
    while (state.nextStepMs > 0) {
      const at = state.nextStepMs;
      state = reconcileRollout(goal('v2'), state.rollout, at, policy(durationMs));
      out.push({ at: at - t0, split: state.rollout[0]!.revisions.map((r): [string, number] => [r.revision, r.percent]) });
    }
    return out;
  }

  test('10 s: 1 % at once, then 9 steps of 1 s moving 11 %, the last to 100 %', () => {
    const steps = run(10_000);
    expect(steps.map((s) => s.at)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
    expect(steps.map((s) => s.split.find(([r]) => r === 'v2')?.[1])).toEqual([1, 12, 23, 34, 45, 56, 67, 78, 89, 100]);
    expect(steps.at(-1)!.split).toEqual([['v2', 100]]);
  });

  test('4 minutes: 99 steps of 1 % (239 s / 99 apart)', () => {
    const steps = run(240_000);
    expect(steps).toHaveLength(100);
    expect(steps[1]!.at).toBe(2414);
    expect(steps[1]!.split).toEqual([['v1', 98], ['v2', 2]]);
    expect(steps.at(-1)!.split).toEqual([['v2', 100]]);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.at - steps[i - 1]!.at).toBeGreaterThanOrEqual(1000);
  });

  test('no rollout-duration, or a revision that does not roll: the goal at once', () => {
    const first = reconcileRollout(goal('v1'), [], t0, policy(0));
    expect(reconcileRollout(goal('v2'), first.rollout, t0, policy(0))).toEqual({ rollout: goal('v2'), nextStepMs: 0 });
    expect(reconcileRollout(goal('v2'), first.rollout, t0, policy(10_000, ['v2']))).toEqual({ rollout: goal('v2'), nextStepMs: 0 });
  });

  test('a new revision mid-rollout: a new rollout from the split as it stands, the newest older revision drained first', () => {
    let s = reconcileRollout(goal('v1'), [], t0, policy(10_000));
    s = reconcileRollout(goal('v2'), s.rollout, t0, policy(10_000));
    s = reconcileRollout(goal('v2'), s.rollout, t0 + 1000, policy(10_000)); // v1 88, v2 12
    s = reconcileRollout(goal('v3'), s.rollout, t0 + 1500, policy(10_000));
    expect(s.rollout[0]!.revisions).toEqual([
      { revision: 'v1', percent: 88 },
      { revision: 'v2', percent: 11 },
      { revision: 'v3', percent: 1 },
    ]);
    // Its timing starts over: 9 s left, in 1 s steps of 11 %, taken from v2 first.
    expect(s.nextStepMs).toBe(t0 + 1500 + 1000);
    s = reconcileRollout(goal('v3'), s.rollout, s.nextStepMs, policy(10_000));
    expect(s.rollout[0]!.revisions).toEqual([
      { revision: 'v1', percent: 88 },
      { revision: 'v3', percent: 12 },
    ]);
  });

  test('a revision a reload removed mid-rollout leaves the split; its share goes to the newest', () => {
    let s = reconcileRollout(goal('v1'), [], t0, policy(10_000));
    s = reconcileRollout(goal('v2'), s.rollout, t0, policy(10_000));
    s = reconcileRollout(goal('v2'), s.rollout, t0 + 1000, policy(10_000, [], ['v1']));
    expect(s.rollout[0]!.revisions).toEqual([{ revision: 'v2', percent: 100 }]);
    expect(s.nextStepMs).toBe(0);
  });

  test('a total lowered by a reload to one revision ends the rollout with no timer left', () => {
    let s = reconcileRollout(goal('v1'), [], t0, policy(10_000));
    s = reconcileRollout(goal('v2'), s.rollout, t0, policy(10_000));
    s = reconcileRollout(goal('v2'), s.rollout, t0 + 1000, policy(10_000)); // v1 88, v2 12
    s = reconcileRollout(goal('v2', 12), s.rollout, t0 + 1500, policy(10_000)); // 88 off the oldest
    expect(s.rollout[0]!.revisions).toEqual([{ revision: 'v2', percent: 12 }]);
    expect(s.nextStepMs).toBe(0);
  });
});

describe('goalRollout (Knative BuildRollout)', () => {
  const svc = (traffic: { latestRevision: boolean; percent: number; tag: string | null; revisionName: string }[]): ServiceSpec => ({ name: 's', namespace: null, hosts: [], rolloutDurationMs: 10_000, revisions: [], traffic });
  test('latestRevision targets with traffic join into the untagged rollout; each tagged one rolls at 100 %; pinned and 0 % untagged ones do not roll', () => {
    const goal = goalRollout(
      [
        svc([
          { latestRevision: false, percent: 40, tag: null, revisionName: 'old' },
          { latestRevision: true, percent: 50, tag: 'a', revisionName: 'x' },
          { latestRevision: true, percent: 10, tag: null, revisionName: 'x' },
          { latestRevision: true, percent: 0, tag: 'b', revisionName: 'x' },
        ]),
      ],
      () => 'new',
    );
    expect(goal).toEqual([cfg('s', 60, [['new', 60]]), cfg('s', 100, [['new', 100]], {}, 'a'), cfg('s', 100, [['new', 100]], {}, 'b')]);
  });
});
