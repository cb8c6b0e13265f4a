import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { FakeClock } from '../support/fake-clock.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { waitFor } from '../support/wait.js';
import { startTestQueueProxy } from '../support/queue-proxy.js';

// A scripted clock drives the request deadlines, so "all three expire in one sweep" is exact.
const agent = new Agent({ connections: 20 });
let app: Upstream;

beforeAll(async () => {
  app = await startUpstream('app');
});
afterAll(async () => {
  await app?.close();
  await agent.close();
});

describe('queue-proxy request deadline (fake clock)', () => {
  it('requests still queued at their deadline get 504 queue-proxy-timeout and never reach the app', async () => {
    const clock = new FakeClock();
    const qp = await startTestQueueProxy(app.address, { revision: 'rev-t', containerConcurrency: 1, timeoutSeconds: 1, podId: 'pod-t', clock });
    await waitFor(() => qp.ready(), 3000, 'ready');
    const seenBefore = app.seen.length;
    const send = (path: string) =>
      request(`http://127.0.0.1:${qp.port}${path}`, { dispatcher: agent }).then(async (r) => ({ status: r.statusCode, error: r.headers['x-tidegate-error'], body: await r.body.text() }));
    const a = send('/?sleep=3000&n=a');
    await waitFor(() => app.seen.length === seenBefore + 1, 3000, 'A at the app');
    const b = send('/?sleep=1&n=b');
    const c = send('/?sleep=1&n=c');
    await waitFor(() => qp.active() === 3, 3000, 'B and C queued');
    clock.advance(999);
    await new Promise((r) => setTimeout(r, 50));
    expect(qp.active()).toBe(3);
    clock.advance(1);
    expect(await a).toMatchObject({ status: 504, error: 'upstream-timeout' });
    expect(await b).toMatchObject({ status: 504, error: 'queue-proxy-timeout' });
    expect(await c).toMatchObject({ status: 504, error: 'queue-proxy-timeout' });
    expect(app.seen.slice(seenBefore).map((s) => s.url)).toEqual(['/?sleep=3000&n=a']);
    expect(qp.active()).toBe(0);
    await qp.shutdown();
  });
});
