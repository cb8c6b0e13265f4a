import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { LocalActuator } from '../../src/actuators/local.js';
import { realClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { RecordingStore } from './support/recording-store.js';
import { ensureBuilt } from './support/build.js';
import { get, localRevision, until } from './support/revision.js';
import { CLI } from '../support/cli.js';
import { listeningAddresses } from '../support/listen-address.js';

// Issue 9, finding 11: local pods and their queue-proxies listened on every
// interface, so anyone on the network could skip the edge (and its
// containerConcurrency, timeouts and header stripping). Pods now get
// HOST=127.0.0.1 with PORT, and the actuator binds the queue-proxy's data
// and admin ports to 127.0.0.1. The fixture app listens on HOST, else on
// 0.0.0.0 like most apps, so an unset HOST shows here.
const QUEUE_PROXY = path.resolve('dist/bin/queue-proxy.js');
let built = false;
let actuator: LocalActuator | null = null;
const savedEnv = { ...process.env };

beforeAll(async () => {
  built = await ensureBuilt([CLI, QUEUE_PROXY]);
  // What a container's serve might carry: none of it may widen a local pod's binds.
  Object.assign(process.env, { HOST: '0.0.0.0', TIDEGATE_ADDRESS: '0.0.0.0', TIDEGATE_ADMIN_ADDRESS: '0.0.0.0', ADMIN_PORT: '9091' });
}, 100_000);

afterEach(async () => {
  await actuator?.close();
  actuator = null;
});

afterAll(() => {
  for (const k of ['HOST', 'TIDEGATE_ADDRESS', 'TIDEGATE_ADMIN_ADDRESS', 'ADMIN_PORT']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

describe('local pods listen on 127.0.0.1 only', () => {
  it('a pod gets HOST=127.0.0.1 and listens on loopback only', async () => {
    const store = new RecordingStore();
    actuator = new LocalActuator({ store, clock: realClock, logger: silentLogger, cliPath: CLI, stopGraceMs: 2000 });
    const rev = localRevision();
    await actuator.scale(rev, 1);
    await until(() => store.readyPods(rev.name).length === 1, 8000, 'a ready pod');
    const pod = actuator.pods(rev.name)[0]!;
    expect((await get(pod.address, '/__fixture/env?name=HOST')).body).toBe('127.0.0.1');
    // The app's own report of its socket, and the kernel's view of it.
    expect(JSON.parse((await get(pod.address, '/__fixture/address')).body)).toMatchObject({ address: '127.0.0.1' });
    expect(listeningAddresses(portOf(pod.address))).toEqual(['127.0.0.1']);
  });

  it('with queueProxy: the app, the queue-proxy data port and its admin port are all loopback-only', async (ctx) => {
    if (!built) ctx.skip(`${QUEUE_PROXY} was not built (tsc failed to emit)`);
    const store = new RecordingStore();
    actuator = new LocalActuator({ store, clock: realClock, logger: silentLogger, cliPath: CLI, stopGraceMs: 2000 });
    const rev = localRevision({ queueProxy: true });
    await actuator.scale(rev, 1);
    await until(() => store.readyPods(rev.name).length === 1, 8000, 'a ready pod through its queue-proxy');
    const pod = actuator.pods(rev.name)[0]!;
    // Through the queue-proxy to the app: its env and its socket.
    expect((await get(pod.address, '/__fixture/env?name=HOST')).body).toBe('127.0.0.1');
    const app = JSON.parse((await get(pod.address, '/__fixture/address')).body) as { address: string; port: number };
    expect(app.address).toBe('127.0.0.1');
    expect(app.port).not.toBe(portOf(pod.address));
    expect(pod.adminAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await get(pod.adminAddress!, '/healthz')).body).toBe('ok');
    expect(listeningAddresses(portOf(pod.address))).toEqual(['127.0.0.1']);
    expect(listeningAddresses(app.port)).toEqual(['127.0.0.1']);
    expect(listeningAddresses(portOf(pod.adminAddress!))).toEqual(['127.0.0.1']);
  });
});
