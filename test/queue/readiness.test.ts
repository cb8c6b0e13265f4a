import net from 'node:net';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AppReadiness } from '../../src/queue/readiness.js';
import { realClock } from '../../src/shared/clock.js';
import type { ProbeSpec } from '../../src/shared/probe.js';
import { FakeClock } from '../support/fake-clock.js';
import { freePort } from '../support/ports.js';

/** A probe the test answers by hand. */
function scriptedProbe() {
  const calls: { spec: ProbeSpec; answer: (ok: boolean) => void }[] = [];
  const probe = (spec: ProbeSpec) => new Promise<boolean>((resolve) => calls.push({ spec, answer: resolve }));
  return { calls, probe };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('AppReadiness (aggressive probe until the app first passes)', () => {
  it('probes every 50 ms while not ready, then every second (as kubelet probes the queue-proxy)', async () => {
    const clock = new FakeClock();
    const { calls, probe } = scriptedProbe();
    const changes: boolean[] = [];
    const r = new AppReadiness({ address: '127.0.0.1:1', path: null, clock, probe, onChange: (ready) => changes.push(ready) });
    r.start();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.spec).toEqual({ address: '127.0.0.1:1', path: null, timeoutMs: 100 });
    calls[0]!.answer(false);
    await flush();
    clock.advance(49);
    expect(calls).toHaveLength(1);
    clock.advance(1);
    expect(calls).toHaveLength(2);
    calls[1]!.answer(false);
    await flush();
    clock.advance(50);
    expect(calls).toHaveLength(3);
    expect(r.ready).toBe(false);
    calls[2]!.answer(true);
    await flush();
    expect(r.ready).toBe(true);
    expect(changes).toEqual([true]);
    await expect(r.check()).resolves.toBe(true);
    expect(calls).toHaveLength(3);
    clock.advance(999);
    expect(calls).toHaveLength(3);
    clock.advance(1);
    expect(calls).toHaveLength(4);
    expect(calls[3]!.spec.timeoutMs).toBe(1000);
    r.stop();
  });

  it('concurrent callers share the probe in flight', async () => {
    const clock = new FakeClock();
    const { calls, probe } = scriptedProbe();
    const r = new AppReadiness({ address: '127.0.0.1:1', path: '/ready', clock, probe });
    r.start();
    const a = r.check();
    const b = r.check();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.spec.path).toBe('/ready');
    calls[0]!.answer(false);
    await expect(Promise.all([a, b])).resolves.toEqual([false, false]);
    // The loop schedules exactly one next try, not one per caller.
    clock.advance(50);
    expect(calls).toHaveLength(2);
    const waiting = r.whenReady();
    calls[1]!.answer(true);
    await waiting;
    expect(r.ready).toBe(true);
  });

  it('stop() ends the loop', async () => {
    const clock = new FakeClock();
    const { calls, probe } = scriptedProbe();
    const r = new AppReadiness({ address: '127.0.0.1:1', path: null, clock, probe });
    r.start();
    calls[0]!.answer(false);
    await flush();
    r.stop();
    clock.advance(500);
    expect(calls).toHaveLength(1);
  });

  it('with real sockets: TCP becomes ready within ~100 ms of the app listening', async () => {
    const port = await freePort();
    const r = new AppReadiness({ address: `127.0.0.1:${port}`, path: null, clock: realClock });
    r.start();
    await new Promise((res) => setTimeout(res, 150));
    expect(r.ready).toBe(false);
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((res) => server.listen(port, '127.0.0.1', res));
    const t0 = Date.now();
    await r.whenReady();
    expect(Date.now() - t0).toBeLessThan(500);
    r.stop();
    await new Promise((res) => server.close(res));
  });

  it('with real sockets: an HTTP readinessPath must answer 200–399', async () => {
    let healthy = false;
    const server = http.createServer((req, res) => {
      // 302 passes, as for Kubernetes (and Knative's queue-proxy); 503 does not.
      res.statusCode = req.url === '/healthz' && healthy ? 302 : 503;
      res.end();
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const { port } = server.address() as AddressInfo;
    const r = new AppReadiness({ address: `127.0.0.1:${port}`, path: '/healthz', clock: realClock });
    r.start();
    await new Promise((res) => setTimeout(res, 200));
    expect(r.ready).toBe(false);
    healthy = true;
    await r.whenReady();
    expect(r.ready).toBe(true);
    server.closeAllConnections();
    await new Promise((res) => server.close(res));
  });
});

describe('AppReadiness after the first pass (Knative: kubelet keeps probing)', () => {
  it('leaves rotation after failureThreshold failures in a row, comes back after successThreshold passes', async () => {
    const clock = new FakeClock();
    const { calls, probe } = scriptedProbe();
    const changes: boolean[] = [];
    const r = new AppReadiness({ address: '127.0.0.1:1', path: '/ready', clock, probe, periodMs: 2000, timeoutMs: 500, successThreshold: 2, failureThreshold: 3, onChange: (ready) => changes.push(ready) });
    r.start();
    const answer = async (ok: boolean) => {
      calls[calls.length - 1]!.answer(ok);
      await flush();
      clock.advance(2000);
    };
    expect(calls[0]!.spec).toEqual({ address: '127.0.0.1:1', path: '/ready', timeoutMs: 500 });
    await answer(true);
    expect(r.ready).toBe(false); // successThreshold 2
    await answer(true);
    expect(r.ready).toBe(true);
    await answer(false);
    await answer(false);
    await answer(true); // the streak of failures starts over
    await answer(false);
    await answer(false);
    expect(r.ready).toBe(true);
    await answer(false);
    expect(r.ready).toBe(false);
    await answer(true);
    expect(r.ready).toBe(false);
    await answer(true);
    expect(r.ready).toBe(true);
    expect(changes).toEqual([true, false, true]);
    expect(calls).toHaveLength(11);
    r.stop();
  });
});
