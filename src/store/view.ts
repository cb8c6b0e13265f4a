/**
 * The edge's in-memory copy of the store, read synchronously on the hot
 * path. Kept current by the store's notifications (re-read the revision that
 * changed) plus a periodic full resync that catches anything a notification
 * missed (pub/sub is at-most-once; Redis pod expiry has no notification).
 *
 * Fail static: when the store errors, the view keeps what it last saw; it
 * never empties itself because Redis is unreachable. On reconnect it resyncs
 * at once.
 */
import type { Clock, Timer } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { PodRecord, RevisionStatus, Store, StoreEvent } from './store.js';

export interface StoreViewOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Full resync period (default 5 s). */
  resyncMs?: number;
}

const NO_PODS: readonly PodRecord[] = Object.freeze([]);

/**
 * A store whose state lives in this process (the in-memory store): the view
 * takes a change in the turn it hears of it, with no read to wait for, so a
 * pod that just became ready reaches the edge (and its buffered requests)
 * without a detour through the event loop.
 */
export interface StateInProcess {
  podsNow(revision: string): PodRecord[];
  statusNow(revision: string): RevisionStatus | null;
}

function inProcess(store: Store): StateInProcess | null {
  const s = store as Store & Partial<StateInProcess>;
  return typeof s.podsNow === 'function' && typeof s.statusNow === 'function' ? (s as StateInProcess) : null;
}

export class StoreView {
  private readonly store: Store;
  private readonly local: StateInProcess | null;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly resyncMs: number;
  private readonly podsByRev = new Map<string, readonly PodRecord[]>();
  private readonly statusByRev = new Map<string, RevisionStatus>();
  private readonly listeners = new Set<(revision: string) => void>();
  /**
   * Reads can overlap and finish out of order. Each read takes a number when
   * it starts; a revision only takes a result newer than the one it holds,
   * because a read that started later saw the store at least as recent.
   */
  private seq = 0;
  private readonly appliedSeq = new Map<string, number>();
  private unsubscribe: (() => void) | null = null;
  private timer: Timer | null = null;
  private stopped = false;
  private healthy = true;
  /** True while the last store read succeeded and the store reports no outage. */
  connected = false;

  constructor(opts: StoreViewOptions) {
    this.store = opts.store;
    this.local = inProcess(opts.store);
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.resyncMs = opts.resyncMs ?? 5000;
  }

  /** First full sync; never throws (an unreachable store leaves the view empty and retrying). */
  async start(): Promise<void> {
    this.stopped = false;
    this.unsubscribe = this.store.subscribe((ev) => this.onEvent(ev));
    this.timer = this.clock.setInterval(() => void this.resync(), this.resyncMs);
    this.timer.unref?.();
    await this.resync();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) this.clock.clearInterval(this.timer);
    this.timer = null;
  }

  /** Live pods of a revision as last seen, sorted by id. */
  pods(revision: string): readonly PodRecord[] {
    return this.podsByRev.get(revision) ?? NO_PODS;
  }

  status(revision: string): RevisionStatus | null {
    return this.statusByRev.get(revision) ?? null;
  }

  /** Revisions that have pods or a status in the view. */
  revisions(): string[] {
    return [...new Set([...this.podsByRev.keys(), ...this.statusByRev.keys()])];
  }

  /** Called after a revision's pods or status changed in the view. */
  onChange(listener: (revision: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads everything. Safe to call at any time; failures keep the last view. */
  async resync(): Promise<void> {
    if (this.stopped) return;
    const mine = ++this.seq;
    try {
      const [pods, statuses] = await Promise.all([this.store.listPods(), this.store.listStatuses()]);
      if (this.stopped) return;
      const grouped = new Map<string, PodRecord[]>();
      for (const pod of pods) {
        const list = grouped.get(pod.revision);
        if (list) list.push(pod);
        else grouped.set(pod.revision, [pod]);
      }
      const revisions = new Set([...this.revisions(), ...grouped.keys(), ...statuses.keys()]);
      for (const rev of revisions) this.apply(rev, mine, grouped.get(rev) ?? [], statuses.get(rev) ?? null);
      this.setHealthy(true);
    } catch (err) {
      this.setHealthy(false, err);
    }
  }

  private onEvent(ev: StoreEvent): void {
    if (this.stopped) return;
    if (ev.type === 'connection') {
      if (ev.up) void this.resync();
      else this.setHealthy(false);
    } else if (ev.type === 'pods' || ev.type === 'status') {
      if (this.local !== null) this.refreshNow(this.local, ev.revision);
      else void this.refresh(ev.revision);
    }
  }

  /** Re-reads one revision (both halves: one read keeps the ordering rule simple). */
  private async refresh(revision: string): Promise<void> {
    const mine = ++this.seq;
    try {
      const [pods, status] = await Promise.all([this.store.listPods(revision), this.store.getStatus(revision)]);
      if (this.stopped) return;
      this.apply(revision, mine, pods, status);
      this.setHealthy(true);
    } catch (err) {
      this.setHealthy(false, err);
    }
  }

  /** The same, from a store in this process: in this turn. */
  private refreshNow(local: StateInProcess, revision: string): void {
    this.apply(revision, ++this.seq, local.podsNow(revision), local.statusNow(revision));
    this.setHealthy(true);
  }

  private apply(revision: string, seq: number, pods: PodRecord[], status: RevisionStatus | null): void {
    if ((this.appliedSeq.get(revision) ?? 0) > seq) return;
    this.appliedSeq.set(revision, seq);
    const sorted = pods.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const podsChanged = !samePods(this.pods(revision), sorted);
    const statusChanged = !sameStatus(this.status(revision), status);
    if (podsChanged) {
      if (sorted.length === 0) this.podsByRev.delete(revision);
      else this.podsByRev.set(revision, Object.freeze(sorted));
    }
    if (statusChanged) {
      if (status === null) this.statusByRev.delete(revision);
      else this.statusByRev.set(revision, status);
    }
    if (!podsChanged && !statusChanged) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(revision);
      } catch (err) {
        this.logger.error({ err: String(err), revision }, 'store view listener failed');
      }
    }
  }

  /** Logs once per state change, never per failed read. */
  private setHealthy(ok: boolean, err?: unknown): void {
    this.connected = ok;
    if (ok === this.healthy) return;
    this.healthy = ok;
    if (ok) this.logger.info({ revisions: this.revisions().length }, 'store view resynced; following the store again');
    else {
      const reason = err === undefined ? 'connection lost' : err instanceof Error ? err.message : 'store read failed';
      this.logger.warn({ reason, revisions: this.revisions().length }, 'store unreachable; routing with the last known state');
    }
  }
}

function samePods(a: readonly PodRecord[], b: readonly PodRecord[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.id !== y.id || x.address !== y.address || x.ready !== y.ready || x.revision !== y.revision || x.queueProxy !== y.queueProxy) return false;
  }
  return true;
}

function sameStatus(a: RevisionStatus | null, b: RevisionStatus | null): boolean {
  if (a === null || b === null) return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}
