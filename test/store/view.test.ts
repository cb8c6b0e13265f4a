import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { PodRecord, RevisionStatus } from '../../src/store/store.js';
import { StoreView } from '../../src/store/view.js';
import { FakeClock } from '../support/fake-clock.js';
import { FlakyStore } from './flaky-store.js';

const pod = (id: string, revision = 'a'): PodRecord => ({ id, revision, address: `10.0.0.1:${id.length}`, ready: true });
const status = (desiredPods: number): RevisionStatus => ({
  desiredPods,
  mode: 'stable',
  stableConcurrency: 1,
  panicConcurrency: 1,
  excessBurstCapacity: 0,
  activatorInPath: false,
  time: 1,
});
const ids = (pods: readonly PodRecord[]) => pods.map((p) => p.id);

/** A logger that keeps its lines, to count how often the view complains. */
function recordingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  return { logger, warnings: () => lines.filter((l) => l.level === 40).length, lines };
}

function setup(resyncMs = 5000) {
  const clock = new FakeClock();
  const store = new FlakyStore(clock);
  const log = recordingLogger();
  const view = new StoreView({ store, clock, logger: log.logger, resyncMs });
  const changed: string[] = [];
  view.onChange((rev) => changed.push(rev));
  /** Lets notifications and the reads they start finish. */
  const settle = async () => {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  };
  return { clock, store, view, log, changed, settle };
}

describe('StoreView', () => {
  it('starts with a full sync: pods sorted by id, statuses, revisions', async () => {
    const t = setup();
    await t.store.inner.registerPod(pod('a-2'), 60_000);
    await t.store.inner.registerPod(pod('a-1'), 60_000);
    await t.store.inner.setStatus('b', status(2));
    await t.view.start();
    expect(t.view.connected).toBe(true);
    expect(ids(t.view.pods('a'))).toEqual(['a-1', 'a-2']);
    expect(t.view.status('b')).toEqual(status(2));
    expect(t.view.status('a')).toBeNull();
    expect(t.view.pods('none')).toEqual([]);
    expect(t.view.revisions().sort()).toEqual(['a', 'b']);
    expect(t.changed.sort()).toEqual(['a', 'b']);
    t.view.stop();
  });

  it('follows notifications and reports each changed revision once', async () => {
    const t = setup();
    await t.view.start();
    await t.store.registerPod(pod('a-1'), 60_000);
    await t.settle();
    expect(ids(t.view.pods('a'))).toEqual(['a-1']);
    expect(t.changed).toEqual(['a']);
    await t.store.setStatus('a', status(3));
    await t.settle();
    expect(t.view.status('a')).toEqual(status(3));
    expect(t.changed).toEqual(['a', 'a']);
    // A poke, or a re-registration that changes nothing, is not a change.
    await t.store.poke('a');
    await t.store.registerPod(pod('a-1'), 60_000);
    await t.settle();
    expect(t.changed).toEqual(['a', 'a']);
    await t.store.removePod('a', 'a-1');
    await t.settle();
    expect(t.view.pods('a')).toEqual([]);
    expect(t.changed).toEqual(['a', 'a', 'a']);
    t.view.stop();
  });

  it('drops a pod that lapses', async () => {
    const t = setup();
    await t.view.start();
    await t.store.registerPod(pod('a-1'), 1000);
    await t.settle();
    await t.clock.advanceAsync(1000);
    expect(t.view.pods('a')).toEqual([]);
    t.view.stop();
  });

  it('catches a lost notification at the next periodic resync', async () => {
    const t = setup(5000);
    await t.view.start();
    t.store.dropEvents = true;
    await t.store.registerPod(pod('a-1'), 60_000);
    await t.clock.advanceAsync(4999);
    expect(t.view.pods('a')).toEqual([]);
    await t.clock.advanceAsync(1);
    expect(ids(t.view.pods('a'))).toEqual(['a-1']);
    expect(t.changed).toEqual(['a']);
    t.view.stop();
  });

  it('fails static: keeps the last view while the store is down, warns once, resyncs at once when it returns', async () => {
    const t = setup(5000);
    await t.store.inner.registerPod(pod('a-1'), 600_000);
    await t.store.inner.setStatus('a', status(1));
    await t.view.start();
    t.store.setDown(true);
    await t.settle();
    expect(t.view.connected).toBe(false);
    // Meanwhile the world moves on (written elsewhere; this view hears nothing).
    await t.store.inner.registerPod(pod('a-2'), 600_000);
    await t.store.inner.setStatus('a', status(2));
    await t.clock.advanceAsync(30_000, 1000); // six failed resyncs
    expect(ids(t.view.pods('a'))).toEqual(['a-1']);
    expect(t.view.status('a')).toEqual(status(1));
    expect(t.log.warnings()).toBe(1);
    t.changed.length = 0;
    t.store.setDown(false); // "connection up": no waiting for the next period
    await t.settle();
    expect(t.view.connected).toBe(true);
    expect(ids(t.view.pods('a'))).toEqual(['a-1', 'a-2']);
    expect(t.view.status('a')).toEqual(status(2));
    expect(t.changed).toEqual(['a']);
    expect(t.log.warnings()).toBe(1);
    t.view.stop();
  });

  it('start() does not throw when the store is down, and fills in once it is back', async () => {
    const t = setup(5000);
    await t.store.inner.registerPod(pod('a-1'), 600_000);
    t.store.setDown(true);
    await expect(t.view.start()).resolves.toBeUndefined();
    expect(t.view.connected).toBe(false);
    expect(t.view.revisions()).toEqual([]);
    // The store comes back without telling anyone: the periodic resync finds it.
    t.store.setDown(false, false);
    await t.clock.advanceAsync(5000);
    expect(ids(t.view.pods('a'))).toEqual(['a-1']);
    expect(t.view.connected).toBe(true);
    t.view.stop();
  });

  it('stop() leaves no timer and no subscription behind', async () => {
    const t = setup();
    await t.view.start();
    const reads = t.store.reads;
    t.view.stop();
    expect(t.clock.pendingTimers).toBe(0);
    await t.store.registerPod(pod('a-1'), 60_000);
    await t.clock.advanceAsync(20_000, 5000);
    expect(t.store.reads).toBe(reads);
    expect(t.view.pods('a')).toEqual([]);
  });

  it('a listener that throws does not stop the others', async () => {
    const t = setup();
    t.view.onChange(() => {
      throw new Error('bug in a listener');
    });
    const seen: string[] = [];
    t.view.onChange((rev) => seen.push(rev));
    await t.view.start();
    await t.store.registerPod(pod('a-1'), 60_000);
    await t.settle();
    expect(seen).toEqual(['a']);
    t.view.stop();
  });
});
