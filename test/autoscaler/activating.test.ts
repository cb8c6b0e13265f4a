/**
 * Knative's Activating phase, progress deadline and last-pod retention
 * (kpa/scaler.go, kpa.go computeActiveCondition) through the whole runner on
 * a fake clock: MemoryStore, a recording actuator, a fake edge reporting
 * every ready pod each second. Minutes of scaling run in milliseconds.
 */
import { describe, expect, it } from 'vitest';
import { AutoscalerRunner } from '../../src/autoscaler/runner.js';
import { MemoryStore } from '../../src/store/memory.js';
import { silentLogger } from '../../src/shared/log.js';
import { FakeClock } from '../support/fake-clock.js';
import { config, FakeEdge, flush, RecordingActuator, stopAfterEach, type ScaleCall } from './world.js';

const cleanup = stopAfterEach();

/** Two revisions: `live` takes all traffic, `staged` none. */
function world(opts: { annotations?: string; autoscaler?: string; podStartMs: number }) {
  const yaml = `autoscaler:
  target-burst-capacity: 0
${opts.autoscaler ?? ''}services:
  - name: app
    revisions:
      - name: live
        command: [node, app.js]${opts.annotations ? `\n        annotations:\n${opts.annotations}` : ''}
      - name: staged
        command: [node, app.js]
    traffic:
      - revisionName: live
        percent: 100
`;
  const clock = new FakeClock();
  const store = new MemoryStore({ clock, statsRetentionMs: 600_000 });
  const calls: ScaleCall[] = [];
  const actuator = new RecordingActuator(store, clock, calls, 'actuator', opts.podStartMs);
  const cfg = config(yaml);
  const runner = new AutoscalerRunner({ store, actuator, clock, logger: silentLogger, config: () => cfg, holder: 'a', lease: false });
  const edges = [new FakeEdge(store, clock, 'live'), new FakeEdge(store, clock, 'staged')];
  cleanup(async () => {
    for (const e of edges) e.stop();
    await runner.stop();
    await actuator.close();
    await store.close();
  });
  const t0 = clock.now();
  /** Seconds since start of the first call that set `revision` to `count`. */
  const firstAt = (revision: string, count: number) => {
    const c = calls.find((x) => x.revision === revision && x.count === count);
    return c === undefined ? undefined : (c.at - t0) / 1000;
  };
  const run = async (seconds: number) => {
    runner.start();
    await flush();
    for (let s = 0; s < seconds; s++) {
      clock.advance(1000);
      await flush();
    }
  };
  return { calls, firstAt, run, actuator };
}

describe('Activating: desired 0 while the pods are not ready keeps the scale until the progress deadline + 30 s', () => {
  it('a routed revision whose pod never turns ready keeps it for 600 s + 30 s, then goes to 0', async () => {
    const w = world({ podStartMs: 1e12 });
    await w.run(650);
    expect(w.firstAt('live', 1)).toBe(0);
    const zero = w.firstAt('live', 0);
    expect(zero).toBeDefined();
    expect(zero).toBeGreaterThan(630);
    expect(zero).toBeLessThanOrEqual(634);
  });

  it('serving.knative.dev/progress-deadline: "10s" gives up after 10 s + 30 s', async () => {
    const w = world({ podStartMs: 1e12, annotations: '          serving.knative.dev/progress-deadline: "10s"' });
    await w.run(60);
    const zero = w.firstAt('live', 0);
    expect(zero).toBeGreaterThan(40);
    expect(zero).toBeLessThanOrEqual(44);
  });

  it('a pod that turns ready makes the revision active: it then goes to 0 a stable window + the grace period after it was ready, not after the deadline', async () => {
    const w = world({ podStartMs: 20_000 });
    await w.run(150);
    const zero = w.firstAt('live', 0);
    // Ready at 20 s; active for the 60 s stable window from then (not from the first recommendation at 0 s);
    // then inactive for the 30 s grace period.
    expect(zero).toBeGreaterThanOrEqual(20 + 60 + 30);
    expect(zero).toBeLessThanOrEqual(20 + 60 + 30 + 6);
  });
});

describe('a revision no traffic routes to', () => {
  it('still starts with its initial-scale pods (a staged revision is checked), then goes to 0 without the last-pod retention', async () => {
    const w = world({ podStartMs: 1000, autoscaler: '  scale-to-zero-pod-retention-period: 5m\n' });
    await w.run(200);
    expect(w.firstAt('staged', 1)).toBe(0);
    const zero = w.firstAt('staged', 0);
    // Ready at 1 s, active for the stable window, inactive for the grace period; the 5 min retention is
    // for revisions traffic reaches (Knative #15161): the routed one keeps its pod.
    expect(zero).toBeGreaterThanOrEqual(1 + 60 + 30);
    expect(zero).toBeLessThanOrEqual(1 + 60 + 30 + 6);
    expect(w.firstAt('live', 0)).toBeUndefined();
  });
});
