/**
 * "Never scales down on missing data", after the data comes back too: a
 * store outage (one that comes back empty, or with its old data), or
 * reporters that go quiet, leave holes in the windows, and the revision
 * keeps at least what it runs until one stable window of fresh stats.
 * The whole loop on a fake clock (MemoryStore behind a switch, the runner,
 * a recording actuator, a fake edge): minutes run in milliseconds.
 */
import { describe, expect, it } from 'vitest';
import { AutoscalerRunner } from '../../src/autoscaler/runner.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/store.js';
import { TidegateError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/log.js';
import { FakeClock } from '../support/fake-clock.js';
import { config, FakeEdge, RecordingActuator, stopAfterEach, type ScaleCall } from './world.js';

const REV = 'app-00001';
const YAML = `autoscaler:
  initial-scale: 1
  target-burst-capacity: 0
services:
  - name: app
    revisions:
      - name: ${REV}
        command: [node, app.js]
        annotations:
          autoscaling.knative.dev/target: "10"
          autoscaling.knative.dev/target-utilization-percentage: "100"
    traffic:
      - revisionName: ${REV}
        percent: 100
`;

/** A MemoryStore behind a switch: `down` rejects every call (as RedisStore does while Redis is unreachable); `restartEmpty` swaps in a new, empty one. */
class SwitchedStore {
  down = false;
  private current: MemoryStore;
  private readonly all: MemoryStore[] = [];

  constructor(private readonly clock: FakeClock) {
    this.current = this.fresh();
  }

  readonly store: Store = new Proxy({} as Store, {
    get: (_target, prop) => {
      if (prop === 'close') return () => Promise.resolve();
      if (prop === 'subscribe') return (l: Parameters<Store['subscribe']>[0]) => this.current.subscribe(l);
      const inner = this.current;
      const v: unknown = Reflect.get(inner, prop);
      if (typeof v !== 'function') return v;
      if (this.down) return () => Promise.reject(new TidegateError('TG_ERR_STORE_UNAVAILABLE', 'store is down'));
      return (v as (...a: unknown[]) => unknown).bind(inner);
    },
  });

  restartEmpty(): void {
    this.current = this.fresh();
  }

  async close(): Promise<void> {
    for (const s of this.all) await s.close();
  }

  private fresh(): MemoryStore {
    const s = new MemoryStore({ clock: this.clock, statsRetentionMs: 600_000 });
    this.all.push(s);
    return s;
  }
}

const cleanup = stopAfterEach();

function world(lease: boolean) {
  const clock = new FakeClock();
  const switched = new SwitchedStore(clock);
  const store = switched.store;
  const calls: ScaleCall[] = [];
  const actuator = new RecordingActuator(store, clock, calls);
  const cfg = config(YAML);
  const runner = new AutoscalerRunner({ store, actuator, clock, logger: silentLogger, config: () => cfg, holder: 'a', lease });
  const edge = new FakeEdge(store, clock, REV);
  cleanup(async () => {
    edge.stop();
    switched.down = false;
    await runner.stop();
    await actuator.close();
    await switched.close();
  });
  return { clock, switched, calls, actuator, runner, edge };
}

/** Runs `ms` of fake time in 1 s steps and returns the smallest count the actuator ran meanwhile. */
async function lowest(w: ReturnType<typeof world>, ms: number): Promise<number> {
  let min = w.actuator.currentScale(REV);
  for (let t = 0; t < ms; t += 1000) {
    await w.clock.advanceAsync(1000, 1000);
    min = Math.min(min, w.actuator.currentScale(REV));
  }
  return min;
}

describe('after a store outage the autoscaler holds the scale until its windows are whole again', () => {
  it('a shared store that comes back empty (a new lease, no status, no stats, pods re-registering): 4 pods under load stay 4', async () => {
    const w = world(true);
    w.runner.start();
    await w.edge.arrive(35);
    await w.clock.advanceAsync(120_000, 1000);
    expect(w.actuator.currentScale(REV)).toBe(4);

    w.switched.down = true;
    expect(await lowest(w, 30_000)).toBe(4);
    w.switched.restartEmpty();
    w.switched.down = false;
    const restoredAt = w.clock.now();
    // A tick right at the reconnection, before any reporter has written a stat again: its windows are empty.
    await w.runner.tickNow();
    expect(w.actuator.currentScale(REV)).toBe(4);
    // The pods' heartbeats put them back one after another; until then the edge reports the load as buffered.
    await w.clock.advanceAsync(1000, 1000);
    await w.actuator.reregister(REV, 1);
    await w.clock.advanceAsync(2000, 1000);
    await w.actuator.reregister(REV);
    expect(await lowest(w, 120_000)).toBe(4);
    expect(w.calls.filter((c) => c.at >= restoredAt)).toEqual([]);
  });

  it('a store that comes back with its data: the seconds lost in the outage are not read as zero load', async () => {
    const w = world(false);
    w.runner.start();
    await w.edge.arrive(50);
    await w.clock.advanceAsync(120_000, 1000);
    expect(w.actuator.currentScale(REV)).toBe(5);
    w.switched.down = true;
    await w.clock.advanceAsync(30_000, 1000);
    w.switched.down = false;
    expect(await lowest(w, 120_000)).toBe(5);
  });

  it('reporters that go quiet for a while (the store is fine): no scale down when their stats resume', async () => {
    const w = world(false);
    w.runner.start();
    await w.edge.arrive(50);
    await w.clock.advanceAsync(120_000, 1000);
    expect(w.actuator.currentScale(REV)).toBe(5);
    w.edge.reporting = false;
    await w.clock.advanceAsync(20_000, 1000);
    w.edge.reporting = true;
    expect(await lowest(w, 120_000)).toBe(5);
  });

  it('the hold ends one stable window after fresh stats: a real drop in load is then followed', async () => {
    const w = world(true);
    w.runner.start();
    await w.edge.arrive(50);
    await w.clock.advanceAsync(120_000, 1000);
    w.switched.down = true;
    await w.clock.advanceAsync(20_000, 1000);
    // The load drops while the store is away; the store comes back empty, the pods re-register at once.
    w.edge.load = 5;
    w.switched.restartEmpty();
    w.switched.down = false;
    await w.actuator.reregister(REV);
    const restoredAt = w.clock.now();
    expect(await lowest(w, 55_000)).toBe(5);
    await w.clock.advanceAsync(60_000, 1000);
    expect(w.actuator.currentScale(REV)).toBe(1);
    const firstDown = w.calls.find((c) => c.at >= restoredAt && c.count < 5);
    expect(((firstDown?.at ?? 0) - restoredAt) / 1000).toBeGreaterThanOrEqual(60);
    expect(((firstDown?.at ?? 0) - restoredAt) / 1000).toBeLessThanOrEqual(66);
  });
});
