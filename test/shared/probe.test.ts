import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBE_USER_AGENT, probeOnce } from '../../src/shared/probe.js';

// probeOnce against real sockets on 127.0.0.1: what a pod's readiness is decided by.
const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(server: net.Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An HTTP server answering `status` and `body`; it counts connections and keeps the last request's headers. */
async function app(status: number, body = 'ok') {
  const seen = { connections: 0, headers: {} as http.IncomingHttpHeaders, paths: [] as string[] };
  const server = http.createServer((req, res) => {
    seen.headers = req.headers;
    seen.paths.push(req.url ?? '');
    res.statusCode = status;
    res.end(body);
  });
  server.on('connection', () => seen.connections++);
  return { address: await listen(server), seen };
}

async function refusedAddress(): Promise<string> {
  const s = net.createServer();
  const address = await listen(s);
  await new Promise((r) => s.close(r));
  servers.pop();
  return address;
}

describe('probeOnce', () => {
  it('TCP: true once the port accepts, false while it refuses', async () => {
    expect(await probeOnce({ address: await refusedAddress(), path: null, timeoutMs: 1000 })).toBe(false);
    const { address, seen } = await app(500);
    expect(await probeOnce({ address, path: null, timeoutMs: 1000 })).toBe(true); // a TCP probe sends no request
    expect(seen.paths).toEqual([]);
  });

  it.each([
    [200, true],
    [204, true],
    [302, true],
    [399, true],
    [404, false],
    [500, false],
    [503, false],
  ])('HTTP: status %i → %s (Kubernetes: 200–399 pass)', async (status, ok) => {
    const { address } = await app(status);
    expect(await probeOnce({ address, path: '/healthz', timeoutMs: 1000 })).toBe(ok);
  });

  it('HTTP: a refused port is a failure, not an error', async () => {
    expect(await probeOnce({ address: await refusedAddress(), path: '/', timeoutMs: 1000 })).toBe(false);
  });

  it('HTTP: GETs the path over the one connection it opened, with the probe user agent, extra headers and Connection: close', async () => {
    const { address, seen } = await app(200);
    expect(await probeOnce({ address, path: '/ready?x=1', headers: { 'K-Network-Probe': 'queue' }, timeoutMs: 1000 })).toBe(true);
    expect(seen.paths).toEqual(['/ready?x=1']);
    expect(seen.connections).toBe(1);
    expect(seen.headers['user-agent']).toBe(PROBE_USER_AGENT);
    expect(seen.headers['k-network-probe']).toBe('queue');
    expect(seen.headers.connection).toBe('close');
    expect(seen.headers.host).toBe(address);
  });

  it('HTTP: expectBody must match the body exactly', async () => {
    const { address } = await app(200, 'queue');
    expect(await probeOnce({ address, path: '/', expectBody: 'queue', timeoutMs: 1000 })).toBe(true);
    expect(await probeOnce({ address, path: '/', expectBody: 'queued', timeoutMs: 1000 })).toBe(false);
  });

  it('HTTP: an app that accepts but never answers fails after timeoutMs', async () => {
    const held: net.Socket[] = [];
    const address = await listen(net.createServer((s) => void held.push(s)));
    const t0 = performance.now();
    expect(await probeOnce({ address, path: '/', timeoutMs: 200 })).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    for (const s of held) s.destroy();
  });

  it('HTTP: an app that hangs up without answering is a failure', async () => {
    const address = await listen(net.createServer((s) => s.destroy()));
    expect(await probeOnce({ address, path: '/', timeoutMs: 1000 })).toBe(false);
  });

  it('HTTP: garbage instead of a response is a failure', async () => {
    const address = await listen(net.createServer((s) => s.resume().end('not http\r\n\r\n')));
    expect(await probeOnce({ address, path: '/', timeoutMs: 1000 })).toBe(false);
  });
});
