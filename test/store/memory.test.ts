import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory.js';
import type { StoreEvent } from '../../src/store/store.js';
import { FakeClock } from '../support/fake-clock.js';
import { CONTRACT_STATS_RETENTION_MS, storeContract } from './store.contract.js';

storeContract('memory', () => {
  const clock = new FakeClock();
  const store = new MemoryStore({ clock, statsRetentionMs: CONTRACT_STATS_RETENTION_MS });
  // One process: the "other process" shares the very same instance.
  return Promise.resolve({ store, peer: store, clock, statsRetentionMs: CONTRACT_STATS_RETENTION_MS, cleanup: () => store.close() });
});

describe('MemoryStore beyond the contract', () => {
  it('tells subscribers when a pod lapses, without anyone listing', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore({ clock });
    const heard: StoreEvent[] = [];
    store.subscribe((e) => heard.push(e));
    await store.registerPod({ id: 'a-1', revision: 'a', address: 'h:1', ready: true }, 1000);
    await new Promise((r) => setImmediate(r));
    expect(heard).toEqual([{ type: 'pods', revision: 'a' }]);
    heard.length = 0;
    await clock.advanceAsync(999);
    expect(heard).toEqual([]);
    await clock.advanceAsync(1);
    expect(heard).toEqual([{ type: 'pods', revision: 'a' }]);
    expect(clock.pendingTimers).toBe(0); // nothing left to expire: no timer kept
    await store.close();
  });

  it('close() drops its expiry timer', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore({ clock });
    await store.registerPod({ id: 'a-1', revision: 'a', address: 'h:1', ready: true }, 1000);
    expect(clock.pendingTimers).toBe(1);
    await store.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
