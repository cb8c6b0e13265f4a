/**
 * The autoscaler's only shell: every tick (2 s) and at once on a poke it
 * reads each revision's pods and stats from the Store, runs the pure KPA
 * step, publishes the revision status, and tells the actuator. With a
 * shared store exactly one runner acts: the one holding the 'autoscaler'
 * lease, renewed on every tick.
 */
import type { Config, RevisionSpec } from '../config/types.js';
import type { Actuator } from '../actuators/actuator.js';
import type { Clock, Timer } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { Store, StoreEvent } from '../store/store.js';
import { holding, NO_GAP, statsLost, statsSeen, type GapState } from './gap.js';
import { initialKpaState, kpaStep, type KpaState } from './kpa.js';
import { observe, SecondTotals } from './metrics.js';
import { BUCKET_MS } from './window.js';
import { reachableRevisions } from './reachable.js';
import { scalingParams } from './targets.js';

/** Knative's tick interval, a constant there too. */
export const TICK_MS = 2000;
export const LEASE_NAME = 'autoscaler';

export interface AutoscalerRunnerOptions {
  store: Store;
  actuator: Actuator;
  clock: Clock;
  logger: Logger;
  config: () => Config;
  /** Who this runner is in the lease (unique per process). */
  holder: string;
  /** Act only while holding the lease (a store shared by several processes). */
  lease: boolean;
  tickMs?: number;
}

interface Track {
  spec: RevisionSpec;
  kpa: KpaState;
  totals: SecondTotals;
  /** Missing stats and the hold after them. */
  gap: GapState;
}

export class AutoscalerRunner {
  private readonly o: AutoscalerRunnerOptions;
  private readonly tickMs: number;
  private readonly leaseTtlMs: number;
  private readonly tracks = new Map<string, Track>();
  /** Poke times per revision: demand seen before any stats report (kept for one stable window). */
  private readonly pokes = new Map<string, number[]>();
  private readonly pokeQueued = new Set<string>();
  /** A full tick is waiting to run: a slow tick (store, actuator) must not pile up more behind it. */
  private fullQueued = false;
  private chain: Promise<void> = Promise.resolve();
  private timer: Timer | null = null;
  private unsubscribe: (() => void) | null = null;
  private leader = false;
  private leaseUntil = 0;
  private stopped = false;

  constructor(opts: AutoscalerRunnerOptions) {
    this.o = opts;
    this.tickMs = opts.tickMs ?? TICK_MS;
    // Three ticks: one slow or lost renewal does not hand over, a dead leader is replaced within seconds.
    this.leaseTtlMs = 3 * this.tickMs;
  }

  /** Whether this runner holds a live lease now (always true without a lease). */
  get isLeader(): boolean {
    return !this.o.lease || (this.leader && this.o.clock.now() < this.leaseUntil);
  }

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.unsubscribe = this.o.store.subscribe((ev: StoreEvent) => {
      if (ev.type === 'poke') this.onPoke(ev.revision);
    });
    this.timer = this.o.clock.setInterval(() => {
      if (!this.fullQueued) void this.tickNow();
    }, this.tickMs);
    this.timer.unref?.();
    void this.tickNow();
  }

  /** Stops ticking, waits for the tick in progress, and hands the lease back. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.o.clock.clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.chain;
    if (this.o.lease && this.leader) {
      this.leader = false;
      await this.o.store.releaseLease(LEASE_NAME, this.o.holder).catch((err: unknown) => this.o.logger.warn({ err: String(err) }, 'autoscaler: lease release failed'));
    }
  }

  /** Runs a decision now for one revision (or all), after any decision in progress. */
  tickNow(revision?: string): Promise<void> {
    if (revision === undefined) this.fullQueued = true;
    const run = () =>
      this.tick(revision).catch((err: unknown) => {
        this.o.logger.error({ err: String(err), revision }, 'autoscaler: tick failed');
      });
    this.chain = this.chain.then(run);
    return this.chain;
  }

  private onPoke(revision: string): void {
    const now = this.o.clock.now();
    const list = this.pokes.get(revision) ?? [];
    list.push(now);
    this.pokes.set(revision, list);
    if (this.pokeQueued.has(revision)) return; // one queued decision covers a burst of pokes
    this.pokeQueued.add(revision);
    void this.tickNow(revision);
  }

  private async tick(only: string | undefined): Promise<void> {
    if (only !== undefined) this.pokeQueued.delete(only);
    else this.fullQueued = false;
    if (this.stopped || !(await this.holdLease())) return;
    const config = this.o.config();
    const reachable = reachableRevisions(config);
    const revisions = only !== undefined ? [config.revisions.get(only)].filter((r) => r !== undefined) : [...config.revisions.values()];
    for (const rev of revisions) {
      if (rev.endpoints !== null) continue; // static pods are never scaled
      try {
        await this.tickRevision(rev, reachable.has(rev.name));
      } catch (err) {
        // A store or actuator error is missing data: nothing changes for this revision this tick.
        this.o.logger.warn({ err: String(err), revision: rev.name }, 'autoscaler: no decision this tick');
      }
    }
    if (only === undefined) await this.forgetRemoved(config);
  }

  /** Takes or renews the lease; false when another runner holds it or the store cannot say. */
  private async holdLease(): Promise<boolean> {
    if (!this.o.lease) return true;
    const asked = this.o.clock.now();
    let ok = false;
    try {
      ok = await this.o.store.acquireLease(LEASE_NAME, this.o.holder, this.leaseTtlMs);
    } catch (err) {
      this.o.logger.warn({ err: String(err) }, 'autoscaler: cannot renew the lease');
    }
    if (ok) {
      // Counted from before the request: the store may have started the ttl at any point since.
      this.leaseUntil = asked + this.leaseTtlMs;
      if (!this.leader) this.o.logger.info({ holder: this.o.holder }, 'autoscaler: took the lease, acting');
      this.leader = true;
    } else if (this.leader) {
      this.o.logger.warn({ holder: this.o.holder }, 'autoscaler: lost the lease, standing by');
      this.leader = false;
      // A later leadership starts afresh (in panic when it finds several pods) rather than from stale state.
      this.tracks.clear();
    }
    return ok;
  }

  private async tickRevision(rev: RevisionSpec, reachable: boolean): Promise<void> {
    const { store, actuator, clock } = this.o;
    const p = scalingParams(rev);
    const now = clock.now();
    let ready: number;
    let track = this.tracks.get(rev.name);
    let stats: Awaited<ReturnType<Store['readStats']>>;
    try {
      ready = (await store.listPods(rev.name)).filter((pod) => pod.ready).length;
      if (!track) {
        const previous = await store.getStatus(rev.name);
        const running = actuator.currentScale(rev.name);
        // History is lost (first tick, new leader, a store that came back empty): if pods run, hold them like after an outage.
        const gap = running > 0 || ready > 0 || (previous?.desiredPods ?? 0) > 0 ? statsLost(NO_GAP, now) : NO_GAP;
        track = { spec: rev, kpa: initialKpaState(p, { now, readyPods: ready, reachable, previous, running }), totals: new SecondTotals(p.metric, p.stableWindowMs), gap };
      } else if (track.totals.metric !== p.metric || track.totals.windowMs !== p.stableWindowMs) {
        track = { ...track, totals: new SecondTotals(p.metric, p.stableWindowMs) }; // a reload changed what is measured
      }
      stats = await store.readStats(rev.name, track.totals.readSince(now));
    } catch (err) {
      // The stats of this moment are lost (reporters could not write them either): a gap.
      const known = this.tracks.get(rev.name);
      if (known) this.tracks.set(rev.name, { ...known, gap: statsLost(known.gap, now) });
      throw err;
    }
    const totals = track.totals.update(stats, now);
    let newest: number | null = null;
    for (const b of totals.keys()) if (newest === null || b > newest) newest = b;
    const gap = statsSeen(track.gap, { now, newest: newest === null ? null : newest * BUCKET_MS, readyPods: ready, stableWindowMs: p.stableWindowMs });
    const hold = holding(gap, now);
    const obs = observe(p, totals, now, this.demand(rev.name, now, p.stableWindowMs));
    const r = kpaStep(p, track.kpa, { now, stable: obs.stable, panic: obs.panic, readyPods: ready, reachable, hold });

    if (!this.isLeader) return; // the lease may have passed to another runner meanwhile
    // Publish first: the activator must be in the path before the actuator takes the last pod away.
    await store.setStatus(rev.name, {
      desiredPods: r.desired,
      mode: r.mode,
      stableConcurrency: obs.stable ?? 0,
      panicConcurrency: obs.panic ?? 0,
      excessBurstCapacity: r.excessBurstCapacity,
      activatorInPath: r.activatorInPath,
      time: now,
    });
    this.tracks.set(rev.name, { ...track, spec: rev, kpa: r.state, gap });
    if (gap.missingSince !== null && track.gap.missingSince === null) this.o.logger.warn({ revision: rev.name, ready }, 'autoscaler: stats missing, holding the scale');
    if (r.desired !== actuator.currentScale(rev.name) && this.isLeader) {
      this.o.logger.info({ revision: rev.name, from: actuator.currentScale(rev.name), to: r.desired, mode: r.mode, stable: obs.stable, panic: obs.panic, ready, hold }, 'autoscaler: scaling');
      await actuator.scale(rev, r.desired);
    }
  }

  private demand(revision: string, now: number, windowMs: number): number[] {
    const list = this.pokes.get(revision);
    if (!list) return [];
    const kept = list.filter((t) => t > now - windowMs);
    if (kept.length === 0) this.pokes.delete(revision);
    else this.pokes.set(revision, kept);
    return kept;
  }

  /** A revision gone from the config keeps no pods. */
  private async forgetRemoved(config: Config): Promise<void> {
    for (const [name, track] of this.tracks) {
      if (config.revisions.has(name)) continue;
      this.tracks.delete(name);
      this.pokes.delete(name);
      if (this.o.actuator.currentScale(name) > 0) {
        await this.o.actuator.scale(track.spec, 0).catch((err: unknown) => this.o.logger.warn({ err: String(err), revision: name }, 'autoscaler: cannot stop a removed revision'));
      }
    }
  }
}
