/**
 * What every Store must do, run against each implementation
 * (memory.test.ts, redis.test.ts). Time: with a FakeClock the suite advances
 * it; with the real clock (Redis) it uses short real TTLs and waits.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PodRecord, PodStat, RevisionStatus, Store, StoreEvent } from '../../src/store/store.js';
import type { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait.js';

export interface ContractSubject {
  store: Store;
  /**
   * A second handle on the same backing store, as another process would have
   * (memory: the same instance; Redis: a second RedisStore on the server).
   */
  peer: Store;
  /** Null when the store runs on real time. */
  clock: FakeClock | null;
  /** The retention the store was made with; make() must use 1000 ms. */
  statsRetentionMs: number;
  cleanup(): Promise<void>;
}

export const CONTRACT_STATS_RETENTION_MS = 1000;

function pod(id: string, revision: string, extra: Partial<PodRecord> = {}): PodRecord {
  return { id, revision, address: `127.0.0.1:${8000 + id.length}`, ready: true, ...extra };
}

function stat(revision: string, podId: string, time: number, concurrency = 1): PodStat {
  return { revision, pod: podId, time, concurrency, requests: 2 * concurrency, proxiedConcurrency: 0, proxiedRequests: 0 };
}

function status(desiredPods: number, time: number): RevisionStatus {
  return {
    desiredPods,
    mode: 'stable',
    stableConcurrency: 1.5,
    panicConcurrency: 2.25,
    excessBurstCapacity: -3,
    activatorInPath: true,
    time,
  };
}

const ids = (pods: PodRecord[]) => pods.map((p) => p.id).sort();

export function storeContract(name: string, make: () => Promise<ContractSubject>): void {
  describe(`Store contract: ${name}`, () => {
    let s: ContractSubject;
    let store: Store;
    const now = () => s.clock?.now() ?? Date.now();
    /** Lets time pass: advances the fake clock, or really waits. */
    const elapse = async (ms: number) => {
      if (s.clock) await s.clock.advanceAsync(ms, Math.min(ms, 50));
      else await new Promise((r) => setTimeout(r, ms));
    };
    /** Events a second subscriber (another process) hears. */
    let heard: StoreEvent[];
    let unsubscribe: () => void;

    beforeEach(async () => {
      s = await make();
      store = s.store;
      heard = [];
      unsubscribe = s.peer.subscribe((e) => heard.push(e));
    });
    afterEach(async () => {
      unsubscribe();
      await s.cleanup();
    });

    describe('pods', () => {
      it('lists registered pods by revision and across revisions, with every field kept', async () => {
        await store.registerPod(pod('a-1', 'a', { queueProxy: true }), 10_000);
        await store.registerPod(pod('a-2', 'a', { ready: false }), 10_000);
        await store.registerPod(pod('b-1', 'b'), 10_000);
        expect(ids(await store.listPods('a'))).toEqual(['a-1', 'a-2']);
        expect(ids(await s.peer.listPods())).toEqual(['a-1', 'a-2', 'b-1']);
        const a = await s.peer.listPods('a');
        expect(a.find((p) => p.id === 'a-1')).toEqual(pod('a-1', 'a', { queueProxy: true }));
        expect(a.find((p) => p.id === 'a-2')).toEqual(pod('a-2', 'a', { ready: false }));
        expect(await store.listPods('none')).toEqual([]);
      });

      it('removes a pod', async () => {
        await store.registerPod(pod('a-1', 'a'), 10_000);
        await store.registerPod(pod('a-2', 'a'), 10_000);
        await store.removePod('a', 'a-1');
        expect(ids(await store.listPods('a'))).toEqual(['a-2']);
        await store.removePod('a', 'a-2');
        expect(await store.listPods()).toEqual([]);
        await expect(store.removePod('a', 'never-there')).resolves.toBeUndefined();
      });

      it('re-registering replaces the record (e.g. becoming ready)', async () => {
        await store.registerPod(pod('a-1', 'a', { ready: false }), 10_000);
        await store.registerPod(pod('a-1', 'a', { ready: true, address: '10.0.0.9:80' }), 10_000);
        expect(await store.listPods('a')).toEqual([pod('a-1', 'a', { ready: true, address: '10.0.0.9:80' })]);
      });

      it('a pod lapses after its TTL unless re-registered, and never lists once lapsed', async () => {
        const ttl = 500;
        await store.registerPod(pod('a-1', 'a'), ttl);
        await store.registerPod(pod('a-2', 'a'), ttl);
        await elapse(300);
        await store.registerPod(pod('a-1', 'a'), ttl); // heartbeat: a-1 refreshed, a-2 not
        await elapse(300); // 600 ms after first registration, 300 ms after the refresh
        expect(ids(await store.listPods('a'))).toEqual(['a-1']);
        expect(ids(await s.peer.listPods())).toEqual(['a-1']);
        await elapse(350);
        expect(await store.listPods('a')).toEqual([]);
        expect(await store.listPods()).toEqual([]);
      });
    });

    describe('notifications', () => {
      it('pod registration and removal reach another subscriber', async () => {
        await store.registerPod(pod('a-1', 'a'), 10_000);
        await waitFor(() => heard.some((e) => e.type === 'pods' && e.revision === 'a'), 3000, 'pods event after register');
        heard.length = 0;
        await store.removePod('a', 'a-1');
        await waitFor(() => heard.some((e) => e.type === 'pods' && e.revision === 'a'), 3000, 'pods event after remove');
      });

      it('status changes and pokes reach another subscriber, naming the revision', async () => {
        await store.setStatus('b', status(3, now()));
        await store.poke('c');
        await waitFor(() => heard.some((e) => e.type === 'poke'), 3000, 'poke event');
        await waitFor(() => heard.some((e) => e.type === 'status'), 3000, 'status event');
        expect(heard.filter((e) => e.type !== 'connection')).toEqual(
          expect.arrayContaining([
            { type: 'status', revision: 'b' },
            { type: 'poke', revision: 'c' },
          ]),
        );
      });

      it('is asynchronous: a listener never runs inside the call that caused it', async () => {
        let inside = true;
        let ran = false;
        let ranInside = false;
        const off = store.subscribe((e) => {
          if (e.type !== 'poke') return;
          ran = true;
          ranInside ||= inside;
        });
        const done = store.poke('a');
        inside = false;
        await done;
        await waitFor(() => ran, 3000, 'poke event to the poking store itself');
        off();
        expect(ranInside).toBe(false);
      });

      it('an unsubscribed listener hears nothing more', async () => {
        unsubscribe();
        const late: StoreEvent[] = [];
        const off = s.peer.subscribe((e) => late.push(e));
        await store.poke('a');
        await waitFor(() => late.length > 0, 3000, 'poke to the remaining listener');
        off();
        expect(heard).toEqual([]);
      });
    });

    describe('stats', () => {
      it('reads stats of one revision newer than since, oldest first', async () => {
        const t = now();
        await store.reportStats([stat('a', 'a-1', t - 300, 3), stat('b', 'b-1', t - 200), stat('a', 'a-2', t - 500, 5)]);
        await store.reportStats([stat('a', 'a-1', t - 100, 4)]);
        const all = await s.peer.readStats('a', 0);
        expect(all.map((x) => [x.pod, x.time, x.concurrency])).toEqual([
          ['a-2', t - 500, 5],
          ['a-1', t - 300, 3],
          ['a-1', t - 100, 4],
        ]);
        expect(all[0]).toEqual(stat('a', 'a-2', t - 500, 5));
        // "since" is exclusive.
        expect((await store.readStats('a', t - 300)).map((x) => x.time)).toEqual([t - 100]);
        expect(await store.readStats('b', t)).toEqual([]);
        expect(await store.readStats('none', 0)).toEqual([]);
        await expect(store.reportStats([])).resolves.toBeUndefined();
      });

      it('keeps only the retention period', async () => {
        expect(s.statsRetentionMs).toBe(CONTRACT_STATS_RETENTION_MS);
        const t = now();
        await store.reportStats([stat('a', 'old', t - 5000), stat('a', 'mid', t - 400), stat('a', 'new', t)]);
        expect((await store.readStats('a', 0)).map((x) => x.pod)).toEqual(['mid', 'new']);
        await elapse(700); // "mid" is now older than the retention
        expect((await store.readStats('a', 0)).map((x) => x.pod)).toEqual(['new']);
      });
    });

    describe('status', () => {
      it('sets, overwrites, gets and lists per revision', async () => {
        expect(await store.getStatus('a')).toBeNull();
        expect((await store.listStatuses()).size).toBe(0);
        await store.setStatus('a', status(1, 1000));
        await store.setStatus('b', { ...status(0, 1000), mode: 'panic', activatorInPath: false });
        await store.setStatus('a', status(4, 2000));
        expect(await s.peer.getStatus('a')).toEqual(status(4, 2000));
        const all = await s.peer.listStatuses();
        expect([...all.keys()].sort()).toEqual(['a', 'b']);
        expect(all.get('b')).toEqual({ ...status(0, 1000), mode: 'panic', activatorInPath: false });
      });
    });

    describe('lease', () => {
      const ttl = 300;

      it('is held by one holder at a time and renewed only by it', async () => {
        expect(await store.acquireLease('autoscaler', 'A', ttl)).toBe(true);
        expect(await s.peer.acquireLease('autoscaler', 'B', ttl)).toBe(false);
        expect(await store.acquireLease('autoscaler', 'A', ttl)).toBe(true); // renew
        // Another lease name is independent.
        expect(await s.peer.acquireLease('other', 'B', ttl)).toBe(true);
      });

      it('renewal extends the lease past its first TTL', async () => {
        expect(await store.acquireLease('autoscaler', 'A', ttl)).toBe(true);
        await elapse(200);
        expect(await store.acquireLease('autoscaler', 'A', ttl)).toBe(true);
        await elapse(200); // 400 ms after taking it, 200 ms after renewing
        expect(await s.peer.acquireLease('autoscaler', 'B', ttl)).toBe(false);
      });

      it('another holder takes over once the lease lapses', async () => {
        expect(await store.acquireLease('autoscaler', 'A', ttl)).toBe(true);
        await elapse(ttl + 100);
        expect(await s.peer.acquireLease('autoscaler', 'B', ttl)).toBe(true);
        expect(await store.acquireLease('autoscaler', 'A', ttl)).toBe(false);
      });

      it('is released only by its holder', async () => {
        expect(await store.acquireLease('autoscaler', 'A', 10_000)).toBe(true);
        await s.peer.releaseLease('autoscaler', 'B');
        expect(await s.peer.acquireLease('autoscaler', 'B', 10_000)).toBe(false);
        await store.releaseLease('autoscaler', 'A');
        expect(await s.peer.acquireLease('autoscaler', 'B', 10_000)).toBe(true);
        await expect(store.releaseLease('never-taken', 'A')).resolves.toBeUndefined();
      });
    });
  });
}
