import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { LocalActuator } from '../../src/actuators/local.js';
import { realClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { RecordingStore } from './support/recording-store.js';
import { alive, get, localRevision, until } from './support/revision.js';

let actuator: LocalActuator | null = null;
afterEach(async () => {
  await actuator?.close();
  actuator = null;
});

async function crashCount(registry: Registry, revision: string): Promise<number> {
  const metric = await registry.getSingleMetric('tidegate_pod_crashes_total')!.get();
  return metric.values.find((v) => v.labels['revision'] === revision)?.value ?? 0;
}

describe('LocalActuator when a pod crashes', () => {
  it('takes it out of the store at once, counts it, and starts a replacement', async () => {
    const store = new RecordingStore();
    const registry = new Registry();
    actuator = new LocalActuator({ store, clock: realClock, logger: silentLogger, cliPath: 'unused', registry });
    const rev = localRevision();
    await actuator.scale(rev, 2);
    await until(() => store.readyPods(rev.name).length === 2, 5000, 'two ready pods');
    const [victim, survivor] = actuator.pods(rev.name);

    await get(victim!.address, '/__fixture/crash').catch(() => undefined);
    await until(() => !store.pods.has(victim!.id), 1000, 'the crashed pod to leave the store');
    expect(actuator.crashes(rev.name)).toBe(1);
    expect(await crashCount(registry, rev.name)).toBe(1);

    await until(() => store.readyPods(rev.name).length === 2, 5000, 'a replacement');
    const ids = actuator.pods(rev.name).map((p) => p.id);
    expect(ids).toContain(survivor!.id);
    expect(ids).not.toContain(victim!.id);
    expect(actuator.currentScale(rev.name)).toBe(2);
    expect(alive(victim!.pids[0]!)).toBe(false);
    // The replacement serves.
    const fresh = actuator.pods(rev.name).find((p) => p.id !== survivor!.id)!;
    expect((await get(fresh.address, '/')).status).toBe(200);
  });

  it('a pod killed from outside is replaced too', async () => {
    const store = new RecordingStore();
    actuator = new LocalActuator({ store, clock: realClock, logger: silentLogger, cliPath: 'unused' });
    const rev = localRevision();
    await actuator.scale(rev, 1);
    await until(() => store.readyPods(rev.name).length === 1, 5000, 'a ready pod');
    const first = actuator.pods(rev.name)[0]!;
    process.kill(first.pids[0]!, 'SIGKILL');
    await until(() => store.readyPods(rev.name).some((p) => p.id !== first.id), 5000, 'a replacement');
    expect(actuator.crashes(rev.name)).toBe(1);
  });

  it('backs off a command that crashes before ever getting ready', async () => {
    const store = new RecordingStore();
    actuator = new LocalActuator({ store, clock: realClock, logger: silentLogger, cliPath: 'unused' });
    const rev = localRevision({ command: [process.execPath, '-e', 'process.exit(3)'] });
    await actuator.scale(rev, 1);
    await new Promise((r) => setTimeout(r, 1500));
    const crashes = actuator.crashes(rev.name);
    // Without a backoff this loops every ~60 ms (20+ crashes); with 0, 250, 500 ms… only a handful.
    expect(crashes).toBeGreaterThanOrEqual(2);
    expect(crashes).toBeLessThanOrEqual(6);
    expect(store.readyPods(rev.name)).toEqual([]);
  });

  it('a command that cannot be started counts as a crash, not an exception', async () => {
    const store = new RecordingStore();
    actuator = new LocalActuator({ store, clock: realClock, logger: silentLogger, cliPath: 'unused' });
    const rev = localRevision({ command: ['/nonexistent/tidegate-test-binary'] });
    await actuator.scale(rev, 1);
    await until(() => actuator!.crashes(rev.name) >= 1, 2000, 'the failed start to be counted');
    expect(store.readyPods(rev.name)).toEqual([]);
  });
});
