import { afterEach, describe, expect, it } from 'vitest';
import net, { type AddressInfo } from 'node:net';
import { UpstreamPool } from '../../src/upstream/pool.js';
import { UpstreamRuntime } from '../../src/upstream/runtime.js';
import type { DispatchHandler } from '../../src/upstream/dispatcher.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait.js';

// The HTTP/1.1 dispatcher's pool on real sockets, its time on a FakeClock.

let server: net.Server | null = null;
let pool: UpstreamPool | null = null;

afterEach(async () => {
  pool?.close();
  pool = null;
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

/** A pod that answers each request on a connection with the Keep-Alive timeout its path names (/ka/N). */
async function startPod(): Promise<{ address: string; open: () => number }> {
  const sockets = new Set<net.Socket>();
  server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (d) => {
      const seconds = /GET \/ka\/(\d+)/.exec(d.toString())?.[1] ?? '4';
      s.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=${seconds}\r\n\r\nok`);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, open: () => sockets.size };
}

/** One GET through the pool; resolves once its response ended, with the release for the test to call. */
function get(p: UpstreamPool, path: string): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const handler: DispatchHandler = {
      onResponseStart() {},
      onResponseData() {},
      onResponseEnd() {
        queueMicrotask(() => resolve(() => ctl.release()));
      },
      onResponseError: (err) => reject(err),
      onRequestDrain() {},
      onUpgrade: () => null,
      cork: (fn) => fn(),
    };
    const ctl = p.dispatch({ method: 'GET', url: path, headerBlock: 'host: pod\r\n', contentLength: -1, chunked: false, upgrade: false }, '', handler);
  });
}

describe('UpstreamPool', () => {
  it('the sweep closes each idle one when its own Keep-Alive time is up, whatever the release order', async () => {
    const pod = await startPod();
    const clock = new FakeClock();
    pool = new UpstreamPool(pod.address, new UpstreamRuntime({ clock }));
    // Two at once: two connections. The one kept 4 s goes back to the pool before the one kept 1 s
    // (tidegate keeps a connection a second less than the pod's Keep-Alive timeout says).
    const [releaseLong, releaseShort] = await Promise.all([get(pool, '/ka/5'), get(pool, '/ka/2')]);
    releaseLong();
    releaseShort();
    expect(pod.open()).toBe(2);
    clock.advance(2000);
    pool.sweep(clock.now());
    // The 1 s one is gone even though the 4 s one, released earlier, sits below it.
    await waitFor(() => pod.open() === 1, 2000, 'the expired connection closed');
    clock.advance(2500);
    pool.sweep(clock.now());
    await waitFor(() => pod.open() === 0, 2000, 'both closed');
  });

  it('caps what it keeps at the pool idle timeout, below a longer Keep-Alive', async () => {
    const pod = await startPod();
    const clock = new FakeClock();
    pool = new UpstreamPool(pod.address, new UpstreamRuntime({ clock }), { idleTimeoutMs: 500 });
    (await get(pool, '/ka/60'))();
    expect(pod.open()).toBe(1);
    clock.advance(600);
    pool.sweep(clock.now());
    await waitFor(() => pod.open() === 0, 2000, 'closed at the pool idle timeout');
  });
});
