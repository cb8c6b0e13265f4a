import { afterEach, describe, expect, it } from 'vitest';
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

function make(store: RecordingStore, isIdle?: (id: string) => boolean): LocalActuator {
  actuator = new LocalActuator({ store, clock: realClock, logger: silentLogger, cliPath: 'unused', stopGraceMs: 2000, ...(isIdle ? { isIdle } : {}) });
  return actuator;
}

describe('LocalActuator scaling the fixture app', () => {
  it('starts pods 0→2 in parallel, ready soon after the app listens, with PORT and env set; 2→0 stops them all', async () => {
    const store = new RecordingStore();
    const a = make(store);
    const rev = localRevision({ env: { GREETING: 'one', STARTUP_DELAY_MS: '300' } });
    const t0 = performance.now();
    await a.scale(rev, 2);
    expect(a.currentScale(rev.name)).toBe(2);
    // Known to the routing table at once, not ready.
    expect(store.pods.size).toBe(2);
    expect([...store.pods.values()].every((p) => !p.ready)).toBe(true);

    await until(() => store.readyPods(rev.name).length === 2, 5000, 'two ready pods');
    const readyTimes = [...store.pods.keys()].map((id) => store.readyAt(id)! - t0);
    // Not before the app listens (300 ms startup delay), and started in parallel (not 2 × 300 ms).
    for (const t of readyTimes) expect(t).toBeGreaterThanOrEqual(300);
    expect(Math.max(...readyTimes)).toBeLessThan(300 + 1500);

    const pods = a.pods(rev.name);
    for (const pod of pods) {
      const port = pod.address.split(':')[1];
      expect((await get(pod.address, '/__fixture/env?name=PORT')).body).toBe(port);
      expect((await get(pod.address, '/__fixture/env?name=GREETING')).body).toBe('one');
      expect((await get(pod.address, '/__fixture/env?name=K_REVISION')).body).toBe('app-00001');
      expect((await get(pod.address, '/__fixture/env?name=K_SERVICE')).body).toBe('app');
      expect((await get(pod.address, '/__fixture/env?name=PATH')).body).toBe(process.env['PATH']); // process.env is merged in
    }
    expect(new Set(pods.map((p) => p.address)).size).toBe(2);

    const pids = pods.flatMap((p) => p.pids);
    await a.scale(rev, 0);
    expect(a.currentScale(rev.name)).toBe(0);
    await until(() => pids.every((pid) => !alive(pid)), 5000, 'pods to exit');
    expect(store.pods.size).toBe(0);
  });

  it('marks a pod ready within ~one probe interval of the app listening', async () => {
    const store = new RecordingStore();
    const a = make(store);
    const rev = localRevision({ env: { STARTUP_DELAY_MS: '400' } });
    await a.scale(rev, 1);
    const pod = a.pods(rev.name)[0]!;
    // Watch the port ourselves, tightly, to learn when the app started listening.
    let listening = 0;
    await until(async () => {
      const ok = await get(pod.address, '/__fixture/stats').then(
        () => true,
        () => false,
      );
      if (ok) listening = performance.now();
      return ok;
    }, 5000, 'the app to listen');
    await until(() => store.readyAt(pod.id) !== undefined, 2000, 'ready registration');
    // 25 ms probe interval; allow for a busy 2-core machine.
    expect(store.readyAt(pod.id)! - listening).toBeLessThan(150);
  });

  it('scale-down takes the pod out of the store first, waits for isIdle, then stops it', async () => {
    const store = new RecordingStore();
    let busy = true;
    const a = make(store, () => !busy);
    const rev = localRevision();
    await a.scale(rev, 1);
    await until(() => store.readyPods(rev.name).length === 1, 5000, 'ready pod');
    const pod = a.pods(rev.name)[0]!;
    const pid = pod.pids[0]!;
    let aliveAtRemove: boolean | null = null;
    store.onRemove = () => (aliveAtRemove = alive(pid));

    // A request in flight when the scale-down starts must finish with its answer.
    const slow = get(pod.address, '/?sleep=400');
    await new Promise((r) => setTimeout(r, 50));
    await a.scale(rev, 0);
    await until(() => aliveAtRemove !== null, 2000, 'removePod');
    expect(aliveAtRemove).toBe(true);
    expect(store.pods.has(pod.id)).toBe(false);

    // The edge still reports requests in flight: the process must stay up.
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(pid)).toBe(true);
    const answer = await slow;
    expect(answer).toEqual({ status: 200, body: `ok ${pid}` });
    // Its own requests are done, but the edge still says busy: not stopped yet.
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(pid)).toBe(true);
    busy = false;
    await until(() => !alive(pid), 3000, 'the pod to exit once idle');
  });

  it('scale-down stops the idle pod, not the busy one, even when the busy one is newer', async () => {
    const store = new RecordingStore();
    let busyId = '';
    const a = make(store, (id) => id !== busyId);
    const rev = localRevision();
    await a.scale(rev, 2);
    await until(() => store.readyPods(rev.name).length === 2, 5000, 'two ready pods');
    const [older, newer] = a.pods(rev.name);
    busyId = newer!.id;
    await a.scale(rev, 1);
    expect(a.pods(rev.name).map((p) => p.id)).toEqual([newer!.id]);
    await until(() => !alive(older!.pids[0]!), 3000, 'the idle pod to exit');
    expect(alive(newer!.pids[0]!)).toBe(true);
    busyId = ''; // let close() stop it without waiting
  });

  it('settles on the last count when scale() calls overlap, leaving no stray process', async () => {
    const store = new RecordingStore();
    const a = make(store);
    const rev = localRevision();
    const seen = new Set<number>();
    const watch = setInterval(() => a.pods(rev.name).forEach((p) => p.pids.forEach((pid) => seen.add(pid))), 5);
    await Promise.all([a.scale(rev, 3), a.scale(rev, 0), a.scale(rev, 4), a.scale(rev, 1), a.scale(rev, 2)]);
    expect(a.currentScale(rev.name)).toBe(2);
    await until(() => store.readyPods(rev.name).length === 2, 5000, 'two ready pods');
    await a.scale(rev, 5);
    await a.scale(rev, 2);
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(watch);
    const kept = a.pods(rev.name).flatMap((p) => p.pids);
    expect(kept).toHaveLength(2);
    await until(() => [...seen].filter((pid) => !kept.includes(pid)).every((pid) => !alive(pid)), 3000, 'surplus pods to exit');
    expect(store.readyPods(rev.name).map((p) => p.id).sort()).toEqual(a.pods(rev.name).map((p) => p.id).sort());
  });

  it('SIGKILLs a pod that ignores SIGTERM after the grace period', async () => {
    const store = new RecordingStore();
    actuator = new LocalActuator({ store, clock: realClock, logger: silentLogger, cliPath: 'unused', stopGraceMs: 300 });
    const rev = localRevision({
      command: [process.execPath, '-e', "process.on('SIGTERM', () => {}); require('http').createServer((q, s) => s.end('x')).listen(+process.env.PORT, '127.0.0.1')"],
    });
    await actuator.scale(rev, 1);
    await until(() => store.readyPods(rev.name).length === 1, 5000, 'ready pod');
    const pid = actuator.pods(rev.name)[0]!.pids[0]!;
    const t0 = performance.now();
    await actuator.scale(rev, 0);
    await new Promise((r) => setTimeout(r, 150));
    expect(alive(pid)).toBe(true); // SIGTERM ignored, grace not over
    await until(() => !alive(pid), 3000, 'SIGKILL');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
  });

  it('close() stops every pod and resolves once they have exited', async () => {
    const store = new RecordingStore();
    const a = make(store);
    const rev = localRevision();
    await a.scale(rev, 3);
    await until(() => store.readyPods(rev.name).length === 3, 5000, 'three ready pods');
    const pids = a.pods(rev.name).flatMap((p) => p.pids);
    await a.close();
    actuator = null;
    expect(pids.filter(alive)).toEqual([]);
    expect(store.pods.size).toBe(0);
    // Closed: asking for pods does nothing.
    await a.scale(rev, 1);
    expect(a.currentScale(rev.name)).toBe(0);
  });
});
