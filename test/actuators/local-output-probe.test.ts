import { afterEach, describe, expect, it } from 'vitest';
import { LocalActuator } from '../../src/actuators/local.js';
import type { Clock, Timer } from '../../src/shared/clock.js';
import { probeOnce } from '../../src/shared/probe.js';
import { silentLogger } from '../../src/shared/log.js';
import { captureLogger } from './support/capture-logger.js';
import { RecordingStore } from './support/recording-store.js';
import { localRevision, until } from './support/revision.js';

let actuator: LocalActuator | null = null;
afterEach(async () => {
  await actuator?.close();
  actuator = null;
});

/** Real time, but timers that never fire: a starting pod's scheduled tries never come. */
const stillTimers: Clock = {
  now: () => Date.now(),
  setTimeout: (): Timer => ({}),
  clearTimeout: () => undefined,
  setInterval: (): Timer => ({}),
  clearInterval: () => undefined,
};

// Listens, then says so on stdout a moment later (as most servers log "listening on …").
const SAYS_WHEN_LISTENING = [
  process.execPath,
  '-e',
  `require('http').createServer((q, s) => s.end('hi')).listen(+process.env.PORT, '127.0.0.1', () => setTimeout(() => console.log('listening on ' + process.env.PORT), 100));`,
];
const QUIET = [process.execPath, '-e', `require('http').createServer((q, s) => s.end('hi')).listen(+process.env.PORT, '127.0.0.1');`];

describe('a starting pod that writes output is probed at once', () => {
  it('found ready by the try its "listening" line starts, with no scheduled try to find it', async () => {
    const store = new RecordingStore();
    const log = captureLogger();
    actuator = new LocalActuator({ store, clock: stillTimers, logger: log.logger, cliPath: 'unused' });
    const rev = localRevision({ command: SAYS_WHEN_LISTENING, readinessPath: '/' });
    await actuator.scale(rev, 1);
    await until(() => store.readyPods(rev.name).length === 1, 10_000, 'ready pod');
    // The line is still logged as the pod's output.
    expect(log.entries.some((e) => typeof e.msg === 'string' && e.msg.startsWith('listening on') && e.stream === 'stdout')).toBe(true);
  });

  it('without output, the same frozen schedule never finds it (so the test above is about the output)', async () => {
    const store = new RecordingStore();
    actuator = new LocalActuator({ store, clock: stillTimers, logger: silentLogger, cliPath: 'unused' });
    const rev = localRevision({ command: QUIET, readinessPath: '/' });
    await actuator.scale(rev, 1);
    const address = actuator.pods(rev.name)[0]!.address;
    await until(() => probeOnce({ address, path: '/', timeoutMs: 1000 }), 10_000, 'the app to answer');
    await new Promise((r) => setTimeout(r, 300));
    expect(store.readyPods(rev.name)).toEqual([]);
    expect(actuator.pods(rev.name)).toHaveLength(1);
  });
});
