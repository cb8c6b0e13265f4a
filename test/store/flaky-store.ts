/**
 * A MemoryStore behind a switch, for StoreView tests: `down` makes every
 * call reject (as RedisStore does while Redis is unreachable) and drops
 * notifications; `dropEvents` loses notifications only (pub/sub is
 * at-most-once). Flipping `down` tells listeners, as RedisStore does.
 */
import { TidegateError } from '../../src/shared/errors.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { PodRecord, PodStat, RevisionStatus, Store, StoreListener } from '../../src/store/store.js';
import type { FakeClock } from '../support/fake-clock.js';

export class FlakyStore implements Store {
  readonly inner: MemoryStore;
  dropEvents = false;
  reads = 0;
  private isDown = false;
  private readonly listeners = new Set<StoreListener>();

  constructor(clock: FakeClock) {
    this.inner = new MemoryStore({ clock });
    this.inner.subscribe((e) => {
      if (this.isDown || this.dropEvents) return;
      for (const l of this.listeners) l(e);
    });
  }

  /** `announce: false` flips quietly, as when a notification of the change is lost. */
  setDown(down: boolean, announce = true): void {
    if (down === this.isDown) return;
    this.isDown = down;
    if (announce) for (const l of this.listeners) l({ type: 'connection', up: !down });
  }

  private gate<T>(f: () => Promise<T>): Promise<T> {
    if (this.isDown) return Promise.reject(new TidegateError('TG_ERR_STORE_UNAVAILABLE', 'test store is down'));
    return f();
  }

  registerPod(pod: PodRecord, ttlMs: number) {
    return this.gate(() => this.inner.registerPod(pod, ttlMs));
  }
  removePod(revision: string, id: string) {
    return this.gate(() => this.inner.removePod(revision, id));
  }
  listPods(revision?: string) {
    this.reads++;
    return this.gate(() => this.inner.listPods(revision));
  }
  reportStats(stats: readonly PodStat[]) {
    return this.gate(() => this.inner.reportStats(stats));
  }
  readStats(revision: string, sinceMs: number) {
    return this.gate(() => this.inner.readStats(revision, sinceMs));
  }
  setStatus(revision: string, status: RevisionStatus) {
    return this.gate(() => this.inner.setStatus(revision, status));
  }
  getStatus(revision: string) {
    return this.gate(() => this.inner.getStatus(revision));
  }
  listStatuses() {
    return this.gate(() => this.inner.listStatuses());
  }
  poke(revision: string) {
    return this.gate(() => this.inner.poke(revision));
  }
  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  acquireLease(name: string, holder: string, ttlMs: number) {
    return this.gate(() => this.inner.acquireLease(name, holder, ttlMs));
  }
  releaseLease(name: string, holder: string) {
    return this.gate(() => this.inner.releaseLease(name, holder));
  }
  close() {
    return this.inner.close();
  }
}
