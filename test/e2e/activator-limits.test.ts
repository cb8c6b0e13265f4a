import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { appConfig, hit, revisionStatus } from './harness.js';

// The pod's process starts but never listens, so its readiness probe never
// passes and every request waits in the activator buffer (3 places, 2 s).
const NEVER_READY = [process.execPath, '-e', 'setInterval(() => {}, 1 << 30)'];
const TIMEOUT_MS = 2000;
let edge: TestEdge;

const buffered = async () => (await revisionStatus(edge.adminPort)).bufferedRequests;

beforeAll(async () => {
  edge = await startEdge(appConfig({ command: NEVER_READY, maxScale: 1 }, { activator: { 'max-buffered-requests': 3, 'buffer-timeout': `${TIMEOUT_MS / 1000}s` } }));
});

afterAll(async () => {
  await edge?.close();
});

describe('activator buffer limits', () => {
  it('answers 503 with Retry-After when the buffer is full, and 504 to the buffered ones at the timeout', async () => {
    const started = Date.now();
    const held = Array.from({ length: 3 }, () => hit(edge.port, '/'));
    await waitFor(async () => (await buffered()) === 3, 3000, 'three buffered requests');

    const refused = await hit(edge.port, '/');
    expect(refused.status).toBe(503);
    expect(refused.headers['x-tidegate-error']).toBe('activator-buffer-full');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    const timedOut = await Promise.all(held);
    const elapsed = Date.now() - started;
    expect(timedOut.map((o) => o.status)).toEqual([504, 504, 504]);
    expect(timedOut.map((o) => o.headers['x-tidegate-error'])).toEqual(['activator-timeout', 'activator-timeout', 'activator-timeout']);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 2000);
    expect(await buffered()).toBe(0);
  });

  it('frees the buffer place of a client that gives up while buffered', async () => {
    const aborts = Array.from({ length: 3 }, () => new AbortController());
    const held = aborts.map((a) => hit(edge.port, '/', { signal: a.signal }));
    await waitFor(async () => (await buffered()) === 3, 3000, 'three buffered requests');

    aborts[0]!.abort();
    expect((await held[0]!).status).toBe(0); // the client saw its own abort
    await waitFor(async () => (await buffered()) === 2, 2000, 'the aborted request to leave the buffer');

    // The freed place is usable: one more request is buffered, not refused...
    const late = hit(edge.port, '/');
    await waitFor(async () => (await buffered()) === 3, 2000, 'the new request in the freed place');
    // ...and the limit is still exactly 3.
    const refused = await hit(edge.port, '/');
    expect(refused.status).toBe(503);
    expect(refused.headers['x-tidegate-error']).toBe('activator-buffer-full');

    const rest = await Promise.all([held[1]!, held[2]!, late]);
    expect(rest.map((o) => o.status)).toEqual([504, 504, 504]);
    expect(await buffered()).toBe(0);
  });
});
