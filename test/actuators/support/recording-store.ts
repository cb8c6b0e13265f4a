import type { PodRecord, PodStat, RevisionStatus, Store, StoreListener } from '../../../src/store/store.js';

export interface StoreCall {
  readonly at: number;
  readonly op: 'register' | 'remove';
  readonly id: string;
  readonly ready?: boolean;
}

/**
 * The pod part of a Store, in memory, recording every call with its time so
 * tests can check what the actuator told the routing table and when.
 * `onRemove` runs synchronously inside removePod (to look at the pod's
 * processes at that instant).
 */
export class RecordingStore implements Store {
  readonly calls: StoreCall[] = [];
  readonly pods = new Map<string, PodRecord>();
  onRemove: ((id: string) => void) | null = null;

  registerPod(pod: PodRecord, _ttlMs: number): Promise<void> {
    this.calls.push({ at: performance.now(), op: 'register', id: pod.id, ready: pod.ready });
    this.pods.set(pod.id, pod);
    return Promise.resolve();
  }
  removePod(_revision: string, id: string): Promise<void> {
    this.calls.push({ at: performance.now(), op: 'remove', id });
    this.pods.delete(id);
    this.onRemove?.(id);
    return Promise.resolve();
  }
  listPods(revision?: string): Promise<PodRecord[]> {
    return Promise.resolve([...this.pods.values()].filter((p) => revision === undefined || p.revision === revision));
  }
  readyPods(revision: string): PodRecord[] {
    return [...this.pods.values()].filter((p) => p.revision === revision && p.ready);
  }
  /** When `id` was first registered ready (performance.now() ms), or undefined. */
  readyAt(id: string): number | undefined {
    return this.calls.find((c) => c.id === id && c.op === 'register' && c.ready)?.at;
  }
  reportStats(_stats: readonly PodStat[]): Promise<void> {
    return Promise.resolve();
  }
  readStats(): Promise<PodStat[]> {
    return Promise.resolve([]);
  }
  setStatus(_revision: string, _status: RevisionStatus): Promise<void> {
    return Promise.resolve();
  }
  getStatus(): Promise<RevisionStatus | null> {
    return Promise.resolve(null);
  }
  listStatuses(): Promise<Map<string, RevisionStatus>> {
    return Promise.resolve(new Map<string, RevisionStatus>());
  }
  poke(): Promise<void> {
    return Promise.resolve();
  }
  subscribe(_listener: StoreListener): () => void {
    return () => undefined;
  }
  acquireLease(): Promise<boolean> {
    return Promise.resolve(true);
  }
  releaseLease(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
