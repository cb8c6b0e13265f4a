import type { Config, ServiceSpec, TrafficTarget } from '../config/types.js';
import type { Clock, Timer } from '../shared/clock.js';
import { goalRollout, reconcileRollout, rolloutDone, type RevisionShare, type Rollout, type RolloutPolicy } from './rollout.js';

/**
 * The shell around rollout.ts for one edge: keeps the rollout state, runs it
 * at each route-table build and keeps one timer for the soonest step due
 * (Knative re-enqueues the route for it). Requests never see this: each step
 * ends in a new route table whose weighted picks hold that step's split.
 */
export class RolloutDriver implements RolloutPolicy {
  private state: Rollout = [];
  private readonly byKey = new Map<string, readonly RevisionShare[]>();
  private timer: Timer | null = null;
  private timerAt = 0;
  private config: Config | null = null;
  /** Revisions of a service as the edge first saw it: a restart does not redo a rollout, they take traffic at once. */
  private readonly settled = new Set<string>();
  private readonly seen = new Set<string>();
  private closed = false;

  /** `onStep`: a step is due; rebuild the route table (which calls reconcile). */
  constructor(
    private readonly clock: Clock,
    private readonly onStep: () => void,
  ) {}

  /** Moves the state to `config` and now; call before building a route table. */
  reconcile(config: Config, latest: (svc: ServiceSpec, t: TrafficTarget) => string): void {
    if (config !== this.config) {
      this.config = config;
      for (const svc of config.services) {
        if (this.seen.has(svc.name)) continue;
        this.seen.add(svc.name);
        for (const r of svc.revisions) this.settled.add(r.name);
      }
    }
    const now = this.clock.now();
    const { rollout, nextStepMs } = reconcileRollout(goalRollout(config.services, latest), this.state, now, this);
    this.state = rollout;
    this.byKey.clear();
    for (const t of rollout) if (!rolloutDone(t)) this.byKey.set(`${t.tag}\u0000${t.service}`, t.revisions);
    this.schedule(nextStepMs, now);
  }

  /** The split a service's `latestRevision` traffic for `tag` ('' untagged) has while a rollout runs; null otherwise. */
  shares(service: string, tag: string): readonly RevisionShare[] | null {
    return this.byKey.get(`${tag}\u0000${service}`) ?? null;
  }

  /** The state, for /status and tests. */
  get rollout(): Rollout {
    return this.state;
  }

  close(): void {
    this.closed = true;
    this.cancel();
  }

  // ---- RolloutPolicy ----

  durationMs(service: string): number {
    return this.config?.services.find((s) => s.name === service)?.rolloutDurationMs ?? 0;
  }

  rollsTo(revision: string): boolean {
    return !this.settled.has(revision);
  }

  exists(revision: string): boolean {
    return this.config?.revisions.has(revision) ?? false;
  }

  private schedule(at: number, now: number): void {
    if (at === this.timerAt && this.timer !== null) return;
    this.cancel();
    if (at <= 0 || this.closed) return;
    this.timerAt = at;
    // At least 1 ms: a step is always in the future, this only guards against a loop.
    this.timer = this.clock.setTimeout(this.fire, Math.max(1, at - now));
    this.timer.unref?.();
  }

  private cancel(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = 0;
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.timerAt = 0;
    if (!this.closed) this.onStep();
  };
}
