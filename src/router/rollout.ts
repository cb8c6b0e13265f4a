import type { ServiceSpec, TrafficTarget } from '../config/types.js';

/**
 * Gradual rollout (`serving.knative.dev/rollout-duration`), as Knative's
 * route reconciler does it (pkg/reconciler/route/traffic/rollout.go). Pure:
 * every function takes the previous state, the goal and `now` (ms) and
 * returns a new state; the edge's RolloutDriver keeps the state and the one
 * timer that calls back at the next step.
 *
 * A rollout is kept per service and tag ('' is the untagged split). When the
 * latest Ready revision of a `latestRevision: true` target changes, the new
 * revision gets 1 % at once (taken from the newest revision that has any);
 * the rest moves in equal steps, at least 1 s apart, over the duration. A
 * revision arriving mid-rollout starts a new rollout from the split as it
 * stands, whose steps drain the newest of the older revisions first.
 */

/** A revision's share of a service's traffic (of all of it, not of the target's part). */
export interface RevisionShare {
  readonly revision: string;
  readonly percent: number;
}

/** Knative's RolloutParams, in milliseconds. Zeros: not set. */
export interface StepParams {
  /** When the rollout started (the new revision got its first 1 %). */
  readonly startMs: number;
  readonly nextStepMs: number;
  /** Time between two steps; 0 until observeReady has computed it. */
  readonly stepMs: number;
  /** Percent moved per step. */
  readonly stepSize: number;
}

/** Knative's ConfigurationRollout: one service's `latestRevision` traffic for one tag. */
export interface TargetRollout {
  readonly service: string;
  /** '' for the untagged split; a tag's own host gets 100 %. */
  readonly tag: string;
  /** The target's total percent; the revisions' percents add up to it. */
  readonly percent: number;
  /** Oldest first; the last one is where traffic is going. One entry: no rollout in progress. */
  readonly revisions: readonly RevisionShare[];
  readonly params: StepParams;
}

/** Sorted by tag, then service (Knative's sortRollout). */
export type Rollout = readonly TargetRollout[];

export const NO_PARAMS: StepParams = Object.freeze({ startMs: 0, nextStepMs: 0, stepMs: 0, stepSize: 0 });

/** No rollout in progress for this target (Knative's done). */
export function rolloutDone(t: TargetRollout): boolean {
  return t.revisions.length < 2;
}

const keyOf = (t: TargetRollout): string => `${t.tag}\u0000${t.service}`;

function sortRollout(r: TargetRollout[]): TargetRollout[] {
  return r.sort((a, b) => (a.tag === b.tag ? cmp(a.service, b.service) : cmp(a.tag, b.tag)));
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Knative's adjustPercentage: the target's total changed (a reload). More:
 * the newest revision gets the difference; less: it comes off the oldest
 * revisions first, and those cut to 0 % leave. Returns the new revisions.
 */
export function adjustPercentage(goal: number, t: TargetRollout): RevisionShare[] {
  const revs = t.revisions.map((r) => ({ ...r }));
  let diff = goal - t.percent;
  if (goal === 0) return [];
  if (diff > 0) {
    const last = revs[revs.length - 1]!;
    revs[revs.length - 1] = { revision: last.revision, percent: last.percent + diff };
    return revs;
  }
  if (diff === 0) return revs;
  diff = -diff;
  let i = 0;
  while (diff > 0 && i < revs.length) {
    const r = revs[i]!;
    if (r.percent > diff) {
      revs[i] = { revision: r.revision, percent: r.percent - diff };
      break;
    }
    diff -= r.percent;
    i++;
  }
  return revs.slice(i);
}

/**
 * Knative's stepRevisions: when the next step is due, `stepSize` moves to the
 * newest revision, taken from the next newest first; revisions left at 0 %
 * leave. On the last step the newest has it all and the params are cleared.
 */
export function stepRevisions(t: TargetRollout, nowMs: number): TargetRollout {
  if (nowMs < t.params.nextStepMs || t.revisions.length < 2) return t;
  const revs = t.revisions.map((r) => ({ ...r }));
  const n = revs.length;
  let remaining = t.params.stepSize;
  let write = n - 1;
  let read = n - 2;
  while (remaining > 0 && read >= 0) {
    const r = revs[read]!;
    if (r.percent > remaining) {
      r.percent -= remaining;
      break;
    }
    // This revision gives all it has and leaves the split.
    remaining -= r.percent;
    write--;
    read--;
  }
  // The target's total can have dropped below a step (a reload): the newest gets at most the total.
  revs[write] = { revision: revs[n - 1]!.revision, percent: Math.min(t.percent, revs[n - 1]!.percent + t.params.stepSize) };
  const out = revs.slice(0, write + 1);
  const params = out.length > 1 ? { ...t.params, nextStepMs: nowMs + t.params.stepMs } : NO_PARAMS;
  return { ...t, revisions: out, params };
}

/** Knative's stepConfig: `goal` has one revision (the latest Ready); `prev` is where the split stands. */
function stepConfig(goal: TargetRollout, prev: TargetRollout, nowMs: number): TargetRollout {
  const prevRevs = prev.revisions.length > 0 ? adjustPercentage(goal.percent, prev) : [];
  const goalRev = goal.revisions[0]!;
  const base: TargetRollout = { service: goal.service, tag: goal.tag, percent: goal.percent, revisions: goal.revisions, params: NO_PARAMS };
  const prevLast = prev.revisions[prev.revisions.length - 1];
  if (prev.revisions.length === 0 || goalRev.revision === prevLast!.revision) {
    // No new revision: a rollout in progress goes on (a step when one is due, once its step size is known).
    if (prev.revisions.length < 2) return base;
    // A lower total can leave one revision: that is the end (Knative keeps the params; a timer would fire for nothing).
    if (prevRevs.length < 2) return { ...base, revisions: prevRevs };
    const going: TargetRollout = { ...base, revisions: prevRevs, params: prev.params };
    return going.params.stepSize > 0 ? stepRevisions(going, nowMs) : going;
  }
  // A new revision: it gets 1 %, taken from the newest revision that has any, and the timing starts over.
  for (let i = prevRevs.length - 1; i >= 0; i--) {
    const r = prevRevs[i]!;
    if (r.percent > 0) {
      prevRevs[i] = { revision: r.revision, percent: r.percent - 1 };
      break;
    }
  }
  const out = prevRevs.filter((r) => r.percent > 0);
  out.push({ revision: goalRev.revision, percent: 1 });
  return { ...base, revisions: out, params: { ...NO_PARAMS, startMs: nowMs } };
}

/**
 * Knative's Step: merges the goal (one revision per target, the latest Ready)
 * with the previous state. Targets new since `prev` start at their goal; a
 * target of 1 % cannot be split and just moves. `nextStepMs`: the soonest
 * step due, 0 when none is scheduled.
 */
export function stepRollout(cur: Rollout, prev: Rollout | null, nowMs: number): { rollout: Rollout; nextStepMs: number } {
  if (prev === null || prev.length === 0) return { rollout: cur, nextStepMs: 0 };
  const before = new Map(prev.map((t) => [keyOf(t), t]));
  const out: TargetRollout[] = [];
  let next = Infinity;
  for (const c of cur) {
    const p = before.get(keyOf(c));
    if (p === undefined) {
      // A new service or tag: nothing to roll from. (0 % would carry no traffic.)
      if (c.percent !== 0) out.push(c);
      continue;
    }
    if (c.percent > 1) {
      const s = stepConfig(c, p, nowMs);
      out.push(s);
      if (s.params.nextStepMs > 0 && s.params.nextStepMs < next) next = s.params.nextStepMs;
    } else if (c.percent === 1) {
      out.push(c);
    }
  }
  return { rollout: sortRollout(out), nextStepMs: next === Infinity ? 0 : next };
}

/**
 * Knative's computeProperties. The first 1 % took `minStepSec`; the rest of
 * the duration is cut in equal steps at least that long, no more steps than
 * percents left to move, each step's size rounded to the nearest percent.
 */
export function computeProperties(t: TargetRollout, nowMs: number, minStepSec: number, durationSec: number): TargetRollout {
  const duration = Math.max(1, durationSec - minStepSec);
  let numSteps = Math.max(1, duration / minStepSec);
  const remPercent = t.percent - 1;
  if (remPercent < numSteps) numSteps = remPercent;
  const stepSize = Math.round(remPercent / numSteps);
  const stepMs = Math.trunc((duration / numSteps) * 1000);
  return { ...t, params: { startMs: t.params.startMs, stepMs, stepSize, nextStepMs: nowMs + stepMs } };
}

/**
 * Knative's ObserveReady: the routes carry the first 1 % now, so the step
 * size and time of each started rollout can be computed. The first step's
 * time is what it took, rounded up to whole seconds, and at least 1 s.
 */
export function observeReady(r: Rollout, nowMs: number, durationMs: (service: string) => number): Rollout {
  return r.map((t) => {
    if (t.params.stepMs !== 0 || t.params.startMs <= 0) return t;
    const minStepSec = Math.max(1, Math.ceil((nowMs - t.params.startMs) / 1000));
    return computeProperties(t, nowMs, minStepSec, durationMs(t.service) / 1000);
  });
}

/**
 * Knative's BuildRollout: the goal, one revision per target. The untagged
 * split joins every `latestRevision` target with traffic into one (they all
 * go to the service's latest Ready revision); each tagged `latestRevision`
 * target is its own rollout at 100 % (its tag host). `latest` resolves a
 * target to its revision now.
 */
export function goalRollout(services: readonly ServiceSpec[], latest: (svc: ServiceSpec, t: TrafficTarget) => string): TargetRollout[] {
  const out: TargetRollout[] = [];
  for (const svc of services) {
    let percent = 0;
    let revision = '';
    for (const t of svc.traffic) {
      if (!t.latestRevision) continue;
      if (t.percent > 0) {
        percent += t.percent;
        revision = latest(svc, t);
      }
      if (t.tag !== null) out.push({ service: svc.name, tag: t.tag, percent: 100, revisions: [{ revision: latest(svc, t), percent: 100 }], params: NO_PARAMS });
    }
    if (percent > 0) out.push({ service: svc.name, tag: '', percent, revisions: [{ revision, percent }], params: NO_PARAMS });
  }
  return sortRollout(out);
}

/** What reconcileRollout needs to know besides the goal and the state. */
export interface RolloutPolicy {
  /** The service's rollout-duration; 0: traffic moves at once. */
  durationMs(service: string): number;
  /** Whether traffic moving to this revision is rolled out; false: it moves at once. */
  rollsTo(revision: string): boolean;
  /** Whether the revision is still in the config (a reload can remove one mid-rollout). */
  exists(revision: string): boolean;
}

/**
 * One reconcile, as Knative's route reconciler with a rollout-duration: the
 * previous state stepped towards the goal, then observed ready at once (the
 * edge swaps its table in the same turn, where Knative waits for the
 * ingress). Targets without a duration, or moving to a revision that does
 * not roll, take the goal.
 */
export function reconcileRollout(goal: Rollout, prev: Rollout, nowMs: number, policy: RolloutPolicy): { rollout: Rollout; nextStepMs: number } {
  const direct: TargetRollout[] = [];
  const rolling: TargetRollout[] = [];
  for (const g of goal) {
    const rev = g.revisions[0];
    if (rev === undefined || policy.durationMs(g.service) <= 0 || !policy.rollsTo(rev.revision)) direct.push(g);
    else rolling.push(g);
  }
  const stepped = stepRollout(rolling, dropMissing(prev, (r) => policy.exists(r)), nowMs).rollout;
  const observed = observeReady(stepped, nowMs, (s) => policy.durationMs(s));
  let next = Infinity;
  for (const t of observed) if (t.params.nextStepMs > 0 && t.params.nextStepMs < next) next = t.params.nextStepMs;
  return { rollout: sortRollout([...direct, ...observed]), nextStepMs: next === Infinity ? 0 : next };
}

/** Revisions a reload removed leave the state; their share goes to the newest one left (a target left with none is forgotten). */
function dropMissing(prev: Rollout, exists: (revision: string) => boolean): Rollout {
  if (prev.every((t) => t.revisions.every((r) => exists(r.revision)))) return prev;
  const out: TargetRollout[] = [];
  for (const t of prev) {
    const kept = t.revisions.filter((r) => exists(r.revision)).map((r) => ({ ...r }));
    if (kept.length === 0) continue;
    const lost = t.percent - kept.reduce((s, r) => s + r.percent, 0);
    const last = kept[kept.length - 1]!;
    last.percent += lost;
    out.push({ ...t, revisions: kept, params: kept.length > 1 ? t.params : NO_PARAMS });
  }
  return out;
}
