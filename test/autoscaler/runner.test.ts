/**
 * The whole loop on a fake clock: MemoryStore, the runner, a recording
 * actuator and a fake edge. Minutes of scaling run in milliseconds.
 */
import { describe, expect, it } from 'vitest';
import { AutoscalerRunner } from '../../src/autoscaler/runner.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/store.js';
import { silentLogger } from '../../src/shared/log.js';
import { FakeClock } from '../support/fake-clock.js';
import { config, FakeEdge, flush, RecordingActuator, stopAfterEach, type ScaleCall } from './world.js';

const REV = 'app-00001';
const YAML = `autoscaler:
  initial-scale: 0
  allow-zero-initial-scale: true
  max-scale-up-rate: 2
  target-burst-capacity: 0
services:
  - name: app
    revisions:
      - name: ${REV}
        command: [node, app.js]
        annotations:
          autoscaling.knative.dev/target: "10"
          autoscaling.knative.dev/target-utilization-percentage: "100"
      - name: static-1
        endpoints: ["127.0.0.1:9001"]
    traffic:
      - revisionName: ${REV}
        percent: 100
`;

const cleanup = stopAfterEach();

function world(opts: { store?: (s: MemoryStore) => Store } = {}) {
  const clock = new FakeClock();
  const memory = new MemoryStore({ clock, statsRetentionMs: 600_000 });
  const store = opts.store ? opts.store(memory) : memory;
  const calls: ScaleCall[] = [];
  const actuator = new RecordingActuator(memory, clock, calls);
  const cfg = config(YAML);
  const runner = new AutoscalerRunner({ store, actuator, clock, logger: silentLogger, config: () => cfg, holder: 'a', lease: false });
  const edge = new FakeEdge(memory, clock, REV);
  cleanup(async () => {
    edge.stop();
    await runner.stop();
    await memory.close();
  });
  const t0 = clock.now();
  const at = () => (clock.now() - t0) / 1000;
  return { clock, store: memory, calls, actuator, runner, edge, at };
}

describe('autoscaler runner, whole loop', () => {
  it('0 → 200 concurrent at target 10: a poke scales from zero at once, panic, pods climb within the rate limit, load stops → 0 after window + grace', async () => {
    const { clock, store, calls, actuator, runner, edge, at } = world();
    runner.start();
    await clock.advanceAsync(10_000, 1000);
    expect(calls).toEqual([]); // initial scale 0, no demand
    expect((await store.getStatus(REV))?.activatorInPath).toBe(true);

    // Demand arrives between ticks: the poke decides at once, without the clock moving.
    clock.advance(500);
    const pokedAt = clock.now();
    await edge.arrive(1);
    await flush();
    expect(calls).toEqual([expect.objectContaining({ revision: REV, count: 1, at: pokedAt })]);

    await clock.advanceAsync(4000, 1000);
    expect(actuator.ready(REV)).toBe(1);
    await edge.arrive(200);
    const modes = new Set<string>();
    for (let i = 0; i < 60; i++) {
      await clock.advanceAsync(2000, 1000);
      modes.add((await store.getStatus(REV))?.mode ?? '?');
    }
    expect(modes.has('panic')).toBe(true);
    const status = await store.getStatus(REV);
    expect(status?.desiredPods).toBe(20);
    expect(actuator.ready(REV)).toBe(20);
    // Each step up is at most max-scale-up-rate (2) × the ready pods (at least 1) when it was made.
    const ups = calls.filter((c, i) => i > 0 && c.count > (calls[i - 1]?.count ?? 0));
    expect(ups.length).toBeGreaterThanOrEqual(4);
    for (const c of ups) expect(c.count, `at ${c.at}`).toBeLessThanOrEqual(Math.ceil(2 * Math.max(1, c.ready)));
    // Never down while the load is on.
    for (let i = 1; i < calls.length; i++) expect(calls[i]?.count).toBeGreaterThanOrEqual(calls[i - 1]?.count ?? 0);

    const stoppedAt = at();
    await edge.arrive(0);
    let zeroAt: number | null = null;
    for (let i = 0; i < 75 && zeroAt === null; i++) {
      await clock.advanceAsync(2000, 1000);
      if (actuator.currentScale(REV) === 0) zeroAt = at();
    }
    expect(zeroAt).not.toBeNull();
    const after = (zeroAt ?? 0) - stoppedAt;
    // The 60 s window must drain to 0, then 30 s of grace with the activator in the path.
    expect(after).toBeGreaterThanOrEqual(90);
    expect(after).toBeLessThanOrEqual(100);
    const last = await store.getStatus(REV);
    expect(last).toMatchObject({ desiredPods: 0, activatorInPath: true });
  });

  it('never scales down on missing data: stats stop arriving → pods stay', async () => {
    const { clock, calls, actuator, runner, edge } = world();
    runner.start();
    await edge.arrive(50);
    await clock.advanceAsync(120_000, 1000);
    expect(actuator.currentScale(REV)).toBe(5);
    const before = calls.length;
    edge.reporting = false;
    await clock.advanceAsync(180_000, 1000);
    expect(actuator.currentScale(REV)).toBe(5);
    expect(calls.length).toBe(before);
  });

  it('a store read error is missing data: no change that tick, decisions resume after', async () => {
    let failing = false;
    const { clock, actuator, runner, edge } = world({
      store: (s) =>
        new Proxy(s, {
          get(target, prop, receiver) {
            if (prop === 'readStats' && failing) return () => Promise.reject(new Error('store down'));
            const v: unknown = Reflect.get(target, prop, receiver);
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        }),
    });
    runner.start();
    await edge.arrive(50);
    await clock.advanceAsync(120_000, 1000);
    expect(actuator.currentScale(REV)).toBe(5);
    failing = true;
    await edge.arrive(0);
    await clock.advanceAsync(200_000, 1000);
    expect(actuator.currentScale(REV)).toBe(5);
    failing = false;
    await clock.advanceAsync(200_000, 1000);
    expect(actuator.currentScale(REV)).toBe(0);
  });

  it('static revisions are never scaled and get no status', async () => {
    const { clock, store, calls, runner } = world();
    runner.start();
    await clock.advanceAsync(10_000, 1000);
    expect(calls.filter((c) => c.revision === 'static-1')).toEqual([]);
    expect(await store.getStatus('static-1')).toBeNull();
  });

  it('a slow actuator does not make ticks pile up behind it', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore({ clock });
    let listed = 0;
    const counting = new Proxy(store, {
      get(target, prop, receiver) {
        const v: unknown = Reflect.get(target, prop, receiver);
        if (prop === 'listPods') listed++;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    let scaled = 0;
    const slow = {
      // The first three calls take 20 s each (a stuck API), later ones are immediate.
      scale: () => (++scaled > 3 ? Promise.resolve() : new Promise<void>((resolve) => clock.setTimeout(resolve, 20_000))),
      currentScale: () => -1, // never matches: every tick calls scale again
      close: () => Promise.resolve(),
    };
    const cfg = config(YAML.replace('initial-scale: 0', 'initial-scale: 1'));
    const runner = new AutoscalerRunner({ store: counting, actuator: slow, clock, logger: silentLogger, config: () => cfg, holder: 'a', lease: false });
    cleanup(async () => {
      const stopped = runner.stop(); // waits for the tick blocked in the actuator
      await clock.advanceAsync(2000, 1000);
      await stopped;
    });
    runner.start();
    await clock.advanceAsync(59_000, 1000);
    // 30 intervals passed, but each tick waited 20 s for the actuator: 3 ticks ran, at most one more is queued.
    expect(listed).toBe(3);
    await clock.advanceAsync(3000, 1000);
    await flush();
    // The actuator is fast again: the queued tick runs, not a backlog of ~30.
    expect(listed).toBeLessThanOrEqual(5);
  });
});

