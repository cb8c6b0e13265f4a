import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { LocalActuator } from '../../src/actuators/local.js';
import { realClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { RecordingStore } from './support/recording-store.js';
import { ensureBuilt } from './support/build.js';
import { alive, get, localRevision, until } from './support/revision.js';
import { CLI } from '../support/cli.js';

const QUEUE_PROXY = path.resolve('dist/bin/queue-proxy.js');
let built = false;
let actuator: LocalActuator | null = null;

beforeAll(async () => {
  built = await ensureBuilt([CLI, QUEUE_PROXY]);
}, 100_000);

afterEach(async () => {
  await actuator?.close();
  actuator = null;
});

describe('LocalActuator with queueProxy: true', () => {
  it('puts a queue-proxy in front of each pod: the pod is reached, probed and stopped through it', async (ctx) => {
    if (!built) ctx.skip(`${QUEUE_PROXY} was not built (tsc failed to emit)`);
    const store = new RecordingStore();
    actuator = new LocalActuator({ store, clock: realClock, logger: silentLogger, cliPath: CLI, stopGraceMs: 2000 });
    const rev = localRevision({ queueProxy: true, containerConcurrency: 1, env: { STARTUP_DELAY_MS: '200' } });
    await actuator.scale(rev, 1);
    await until(() => store.readyPods(rev.name).length === 1, 8000, 'the pod to be ready through its queue-proxy');
    const pod = actuator.pods(rev.name)[0]!;
    const record = store.pods.get(pod.id)!;
    expect(record.queueProxy).toBe(true);
    expect(record.address).toBe(pod.address);
    expect(pod.pids).toHaveLength(2); // app, queue-proxy

    // The registered address is the queue-proxy's: it answers its probe, and forwards to the app.
    const probe = await fetch(`http://${pod.address}/`, { headers: { 'K-Network-Probe': 'queue' } });
    expect(await probe.text()).toBe('queue');
    const app = await get(pod.address, '/__fixture/env?name=PORT');
    expect(app.status).toBe(200);
    expect(app.body).not.toBe(pod.address.split(':')[1]); // the app has a port of its own behind it

    let aliveAtRemove: boolean[] = [];
    store.onRemove = (id) => {
      if (id === pod.id && aliveAtRemove.length === 0) aliveAtRemove = pod.pids.map(alive);
    };
    await actuator.scale(rev, 0);
    await until(() => pod.pids.every((pid) => !alive(pid)), 8000, 'app and queue-proxy to exit');
    expect(aliveAtRemove).toEqual([true, true]);
  });
});
