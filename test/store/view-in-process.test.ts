import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/shared/log.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { PodRecord } from '../../src/store/store.js';
import { StoreView } from '../../src/store/view.js';
import { FakeClock } from '../support/fake-clock.js';
import { FlakyStore } from './flaky-store.js';

// With the store in this process, a pod that became ready reaches the
// view's listeners (the edge, and the requests waiting in its buffer) as soon
// as the store's notification is delivered: no read, no further turn of the
// event loop.
const pod = (id: string, ready: boolean): PodRecord => ({ id, revision: 'a', address: `127.0.0.1:${id.length}`, ready });

describe('StoreView over the in-memory store', () => {
  it('has a registration in the turn its notification arrives', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore({ clock });
    const view = new StoreView({ store, clock, logger: silentLogger });
    await view.start();
    const heard: boolean[] = [];
    view.onChange(() => heard.push(view.pods('a')[0]?.ready ?? false));

    await store.registerPod(pod('a-1', false), 60_000);
    // The store notifies on a microtask queued before this await resumes.
    expect(heard).toEqual([false]);
    await store.registerPod(pod('a-1', true), 60_000);
    expect(heard).toEqual([false, true]);
    expect(view.pods('a')).toEqual([pod('a-1', true)]);
    await store.setStatus('a', { desiredPods: 1, mode: 'stable', stableConcurrency: 0, panicConcurrency: 0, excessBurstCapacity: 0, activatorInPath: true, time: 1 });
    expect(view.status('a')?.desiredPods).toBe(1);
    await store.removePod('a', 'a-1');
    expect(view.pods('a')).toEqual([]);
    view.stop();
    await store.close();
  });

  it('a store in another process (here: one behind a wrapper) is still read, a few microtasks later', async () => {
    const clock = new FakeClock();
    const store = new FlakyStore(clock);
    const view = new StoreView({ store, clock, logger: silentLogger });
    await view.start();
    const readsBefore = store.reads;
    await store.registerPod(pod('a-1', true), 60_000);
    expect(view.pods('a')).toEqual([]); // the read it started has not finished
    await new Promise((r) => setImmediate(r));
    expect(view.pods('a')).toEqual([pod('a-1', true)]);
    expect(store.reads).toBeGreaterThan(readsBefore);
    view.stop();
  });
});
