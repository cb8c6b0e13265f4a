/**
 * The Store for one process that does everything (no Redis). Time comes from
 * the injected Clock, so tests expire pods and leases by advancing a
 * FakeClock. Listeners hear about changes on a microtask, never inside the
 * caller's stack, as they would from Redis pub/sub.
 */
import type { Clock, Timer } from '../shared/clock.js';
import type { PodRecord, PodStat, RevisionStatus, Store, StoreEvent, StoreListener } from './store.js';

export interface MemoryStoreOptions {
  clock: Clock;
  /** How long stats are kept per revision (default 120 s, twice the default stable window). */
  statsRetentionMs?: number;
}

interface LivePod {
  pod: PodRecord;
  expiresAt: number;
}

interface Lease {
  holder: string;
  expiresAt: number;
}

export const DEFAULT_STATS_RETENTION_MS = 120_000;

export class MemoryStore implements Store {
  private readonly clock: Clock;
  private readonly retentionMs: number;
  private readonly pods = new Map<string, Map<string, LivePod>>();
  private readonly stats = new Map<string, PodStat[]>();
  private readonly statuses = new Map<string, RevisionStatus>();
  private readonly leases = new Map<string, Lease>();
  private readonly listeners = new Set<StoreListener>();
  /** One timer for the earliest pod expiry, so listeners hear when a pod lapses. */
  private sweepTimer: Timer | null = null;
  private sweepAt = Infinity;
  private closed = false;

  constructor(opts: MemoryStoreOptions) {
    this.clock = opts.clock;
    this.retentionMs = opts.statsRetentionMs ?? DEFAULT_STATS_RETENTION_MS;
  }

  registerPod(pod: PodRecord, ttlMs: number): Promise<void> {
    let byId = this.pods.get(pod.revision);
    if (!byId) this.pods.set(pod.revision, (byId = new Map<string, LivePod>()));
    const expiresAt = this.clock.now() + ttlMs;
    byId.set(pod.id, { pod: { ...pod }, expiresAt });
    this.armSweep(expiresAt);
    this.emit({ type: 'pods', revision: pod.revision });
    return Promise.resolve();
  }

  removePod(revision: string, id: string): Promise<void> {
    const byId = this.pods.get(revision);
    if (byId?.delete(id)) {
      if (byId.size === 0) this.pods.delete(revision);
      this.emit({ type: 'pods', revision });
    }
    return Promise.resolve();
  }

  listPods(revision?: string): Promise<PodRecord[]> {
    if (revision !== undefined) return Promise.resolve(this.podsNow(revision));
    return Promise.resolve([...this.pods.keys()].flatMap((rev) => this.podsNow(rev)));
  }

  /** listPods(revision) without the promise (store/view.ts StateInProcess). */
  podsNow(revision: string): PodRecord[] {
    const now = this.clock.now();
    const out: PodRecord[] = [];
    for (const live of this.pods.get(revision)?.values() ?? []) if (live.expiresAt > now) out.push({ ...live.pod });
    return out;
  }

  reportStats(stats: readonly PodStat[]): Promise<void> {
    const touched = new Set<string>();
    for (const s of stats) {
      let list = this.stats.get(s.revision);
      if (!list) this.stats.set(s.revision, (list = []));
      list.push({ ...s });
      touched.add(s.revision);
    }
    for (const rev of touched) this.trimStats(rev);
    return Promise.resolve();
  }

  readStats(revision: string, sinceMs: number): Promise<PodStat[]> {
    this.trimStats(revision);
    const list = this.stats.get(revision) ?? [];
    return Promise.resolve(list.filter((s) => s.time > sinceMs).sort((a, b) => a.time - b.time));
  }

  setStatus(revision: string, status: RevisionStatus): Promise<void> {
    this.statuses.set(revision, { ...status });
    this.emit({ type: 'status', revision });
    return Promise.resolve();
  }

  getStatus(revision: string): Promise<RevisionStatus | null> {
    return Promise.resolve(this.statusNow(revision));
  }

  /** getStatus without the promise (store/view.ts StateInProcess). */
  statusNow(revision: string): RevisionStatus | null {
    const s = this.statuses.get(revision);
    return s ? { ...s } : null;
  }

  listStatuses(): Promise<Map<string, RevisionStatus>> {
    return Promise.resolve(new Map([...this.statuses].map(([rev, s]) => [rev, { ...s }])));
  }

  poke(revision: string): Promise<void> {
    this.emit({ type: 'poke', revision });
    return Promise.resolve();
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    const lease = this.leases.get(name);
    if (lease && lease.expiresAt > now && lease.holder !== holder) return Promise.resolve(false);
    this.leases.set(name, { holder, expiresAt: now + ttlMs });
    return Promise.resolve(true);
  }

  releaseLease(name: string, holder: string): Promise<void> {
    if (this.leases.get(name)?.holder === holder) this.leases.delete(name);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    if (this.sweepTimer) this.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
    return Promise.resolve();
  }

  /** Drops stats older than the retention, measured from the clock. */
  private trimStats(revision: string): void {
    const list = this.stats.get(revision);
    if (!list) return;
    const cutoff = this.clock.now() - this.retentionMs;
    const kept = list.filter((s) => s.time > cutoff);
    if (kept.length === 0) this.stats.delete(revision);
    else if (kept.length !== list.length) this.stats.set(revision, kept);
  }

  private armSweep(at: number): void {
    if (this.closed || at >= this.sweepAt) return;
    if (this.sweepTimer) this.clock.clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    this.sweepTimer = this.clock.setTimeout(() => this.sweep(), Math.max(0, at - this.clock.now()));
    this.sweepTimer.unref?.();
  }

  /** Removes lapsed pods, tells listeners, and re-arms for the next expiry. */
  private sweep(): void {
    this.sweepTimer = null;
    this.sweepAt = Infinity;
    const now = this.clock.now();
    let next = Infinity;
    for (const [rev, byId] of this.pods) {
      let lapsed = false;
      for (const [id, live] of byId) {
        if (live.expiresAt <= now) {
          byId.delete(id);
          lapsed = true;
        } else next = Math.min(next, live.expiresAt);
      }
      if (byId.size === 0) this.pods.delete(rev);
      if (lapsed) this.emit({ type: 'pods', revision: rev });
    }
    if (next !== Infinity) this.armSweep(next);
  }

  private emit(event: StoreEvent): void {
    if (this.listeners.size === 0) return;
    queueMicrotask(() => {
      for (const listener of [...this.listeners]) listener(event);
    });
  }
}
