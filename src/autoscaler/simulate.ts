/**
 * `tidegate simulate`: the autoscaler on a recorded load with a virtual
 * clock. It drives the very kpaStep the runner drives; only the world
 * around it is simulated: the trace is the revision's per-second total,
 * and pods turn ready `podStartDelayMs` after the actuator asks for them.
 */
import type { Config, RevisionSpec } from '../config/types.js';
import { initialKpaState, kpaStep } from './kpa.js';
import { observe } from './metrics.js';
import { reachableRevisions } from './reachable.js';
import { scalingParams } from './targets.js';
import { TICK_MS } from './runner.js';
import type { TraceRow } from './trace.js';

export interface SimulationRow {
  /** Seconds, as in the trace. */
  readonly t: number;
  readonly observedStable: number | null;
  readonly observedPanic: number | null;
  /** What the actuator is told, after bounds and the scale-to-zero rules. */
  readonly desired: number;
  /** Pods ready at t, after this tick's actuation. */
  readonly ready: number;
  readonly mode: 'stable' | 'panic';
  readonly activatorInPath: boolean;
}

export interface SimulationInput {
  readonly config: Config;
  readonly revision: RevisionSpec;
  readonly trace: readonly TraceRow[];
  readonly podStartDelayMs: number;
}

/** Pods as the actuator would have them: the time each turns ready. */
class Pods {
  private readyAt: number[] = [];

  constructor(private readonly delayMs: number) {}

  scale(count: number, now: number): void {
    while (this.readyAt.length < count) this.readyAt.push(now + this.delayMs);
    // Scale down takes pods that are not ready yet first (the newest).
    this.readyAt.sort((a, b) => a - b);
    this.readyAt.length = Math.min(this.readyAt.length, count);
  }

  ready(now: number): number {
    return this.readyAt.filter((t) => t <= now).length;
  }
}

export function simulate(input: SimulationInput): SimulationRow[] {
  const { trace, revision } = input;
  const first = trace[0];
  const lastRow = trace[trace.length - 1];
  if (!first || !lastRow) return [];
  const p = scalingParams(revision);
  const reachable = reachableRevisions(input.config).has(revision.name);
  const pods = new Pods(input.podStartDelayMs);
  const totals = new Map<number, number>();
  const ms = (t: number) => t * 1000;

  let state = initialKpaState(p, { now: ms(first.t), readyPods: 0, reachable, previous: null });
  pods.scale(state.bounds.actuated, ms(first.t)); // the revision starts at its initial scale
  const out: SimulationRow[] = [];
  let next = 0;
  for (let t = first.t; t <= lastRow.t; t += TICK_MS / 1000) {
    const now = ms(t);
    for (let row = trace[next]; row && row.t <= t; row = trace[++next]) {
      totals.set(row.t, p.metric === 'rps' ? (row.rps ?? 0) : row.concurrency);
    }
    const obs = observe(p, totals, now);
    const r = kpaStep(p, state, { now, stable: obs.stable, panic: obs.panic, readyPods: pods.ready(now), reachable });
    state = r.state;
    pods.scale(r.desired, now);
    out.push({ t, observedStable: obs.stable, observedPanic: obs.panic, desired: r.desired, ready: pods.ready(now), mode: r.mode, activatorInPath: r.activatorInPath });
  }
  return out;
}

export const CSV_HEADER = 't,observed_stable,observed_panic,desired,ready,mode,activator_in_path';

/** Up to 6 decimals, no trailing zeros; no data is an empty field. */
function num(x: number | null): string {
  return x === null ? '' : String(Math.round(x * 1e6) / 1e6);
}

export function formatRow(r: SimulationRow): string {
  return [r.t, num(r.observedStable), num(r.observedPanic), r.desired, r.ready, r.mode, r.activatorInPath].join(',');
}
