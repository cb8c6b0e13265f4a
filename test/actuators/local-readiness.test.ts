import { afterEach, describe, expect, it } from 'vitest';
import { LocalActuator } from '../../src/actuators/local.js';
import { realClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { RecordingStore } from './support/recording-store.js';
import { localRevision, until } from './support/revision.js';

let actuator: LocalActuator | null = null;
afterEach(async () => {
  await actuator?.close();
  actuator = null;
});

// Listens at once, but its readiness path answers 503 for its first 400 ms.
const SLOW_TO_WARM = [
  process.execPath,
  '-e',
  `const t0 = Date.now();
   require('http').createServer((q, s) => {
     if (q.url === '/ready') { s.statusCode = Date.now() - t0 < 400 ? 503 : 200; return s.end(); }
     s.end('hi');
   }).listen(+process.env.PORT, '127.0.0.1');`,
];

// Listens at once; its readiness path always answers 503.
const NEVER_READY_PATH = [
  process.execPath,
  '-e',
  `require('http').createServer((q, s) => { s.statusCode = q.url === '/ready' ? 503 : 200; s.end(); }).listen(+process.env.PORT, '127.0.0.1');`,
];

describe('LocalActuator readiness', () => {
  it('with readinessPath, waits for a 2xx on that path (an open port is not enough)', async () => {
    const store = new RecordingStore();
    actuator = new LocalActuator({ store, clock: realClock, logger: silentLogger, cliPath: 'unused' });
    const rev = localRevision({ command: SLOW_TO_WARM, readinessPath: '/ready' });
    const t0 = performance.now();
    await actuator.scale(rev, 1);
    await until(() => store.readyPods(rev.name).length === 1, 5000, 'ready pod');
    const id = actuator.pods(rev.name)[0]!.id;
    expect(store.readyAt(id)! - t0).toBeGreaterThanOrEqual(400);
  });

  it('without readinessPath, a TCP connect is enough', async () => {
    // The app's readiness path never answers 2xx: only a TCP probe can find it ready
    // (no timing assertion: a loaded machine can take longer than 400 ms to start node).
    const store = new RecordingStore();
    actuator = new LocalActuator({ store, clock: realClock, logger: silentLogger, cliPath: 'unused' });
    const rev = localRevision({ command: NEVER_READY_PATH, readinessPath: null });
    await actuator.scale(rev, 1);
    await until(() => store.readyPods(rev.name).length === 1, 5000, 'ready pod');
  });

  it('a pod that never listens stays registered as not ready', async () => {
    const store = new RecordingStore();
    actuator = new LocalActuator({ store, clock: realClock, logger: silentLogger, cliPath: 'unused' });
    const rev = localRevision({ command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] });
    await actuator.scale(rev, 1);
    await new Promise((r) => setTimeout(r, 400));
    expect(store.pods.size).toBe(1);
    expect(store.readyPods(rev.name)).toEqual([]);
    expect(actuator.currentScale(rev.name)).toBe(1);
  });
});
