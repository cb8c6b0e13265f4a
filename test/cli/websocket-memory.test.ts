import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { opened, WsClients } from '../support/ws-client.js';
import { measure, Sampler } from '../../bench/lib/proc-stats.js';
import { CLI } from '../support/cli.js';
import { staticAppConfig, waitFor } from '../support/serve.js';
import { revisionStatus } from '../e2e/harness.js';
import { spawnServe, type ServeProcess } from '../e2e/serve-process.js';

// The memory a real `tidegate serve` process spends on WebSockets: many open
// at once, and one side that stops reading while the other sends 64 MiB. The
// client that does not read comes before the pod that does not: the latter
// leaves ~80 MiB of freed heap behind, which would hide the former's growth. The
// pod is a `ws` server in this process whose behaviour the path picks:
//   /echo   echoes every message
//   /stall  stops reading at once (its socket paused)
//   /flood  sends FLOOD messages of 1 MiB as soon as it opens
// Limits it checks are src/proxy/ws-relay.ts's: POD_MAX_QUEUED (16 MiB the pod
// has not read → the client is closed with 1013) and CLIENT_HIGH (1 MiB the
// client has not read → the edge stops reading the pod).

const MiB = 1024 ** 2;
const HOST = 'app.example.com';
const FLOOD = 64;
let pod: WebSocketServer;
let flooding: ((socket: WebSocket) => void) | null = null;
let serve: ServeProcess;
const ws = new WsClients();

beforeAll(async () => {
  await fs.access(CLI);
  pod = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * MiB });
  pod.on('connection', (socket, req) => {
    socket.on('error', () => undefined); // the edge cutting a stalled pod is a case under test
    if (req.url === '/stall') socket.pause();
    else if (req.url === '/flood') {
      for (let i = 0; i < FLOOD; i++) socket.send(Buffer.alloc(MiB, i));
      flooding?.(socket);
    } else socket.on('message', (m, isBinary) => socket.send(m, { binary: isBinary }));
  });
  await new Promise((r) => pod.once('listening', r));
  serve = await spawnServe(staticAppConfig(`127.0.0.1:${(pod.address() as AddressInfo).port}`));
  await waitFor(async () => (await revisionStatus(serve.adminPort)).readyPods === 1, 5000, 'the static pod');
});

afterEach(async () => {
  ws.terminateAll();
  // A pod side that stopped reading never sees the edge's close: cut it here.
  for (const s of pod.clients) s.terminate();
  await waitFor(() => pod.clients.size === 0, 10_000, 'the pod side of every WebSocket to close');
});

afterAll(async () => {
  await serve?.cleanup();
  for (const s of pod?.clients ?? []) s.terminate();
  await new Promise((r) => (pod ? pod.close(r) : r(undefined)));
});

function connect(urlPath: string): WebSocket {
  return ws.connect(serve.port, urlPath, { host: HOST });
}

const rss = () => measure([serve.child.pid!]).rssBytes;
const mib = (bytes: number) => (bytes / MiB).toFixed(1);

describe('WebSockets through a serve process', () => {
  it('holds 1,000 open WebSockets at once, each echoing its message, in under 200 MiB', async () => {
    const before = rss();
    const n = 1000;
    // Opened 100 at a time: a burst of 1,000 connects would only measure the listen backlog.
    for (let batch = 0; batch < n; batch += 100) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, j) => {
          const i = batch + j;
          const c = connect('/echo');
          await opened(c);
          const echo = new Promise<string>((resolve) => c.once('message', (m: RawData) => resolve((m as Buffer).toString())));
          c.send(`message ${i}`);
          expect(await echo).toBe(`message ${i}`);
        }),
      );
    }
    // All 1,000 are open end to end: every client, and a tunnel to the pod for each.
    expect(ws.all.filter((c) => c.readyState === WebSocket.OPEN)).toHaveLength(n);
    expect(pod.clients.size).toBe(n);
    const open = rss();
    console.log(`serve RSS: ${mib(before)} MiB before, ${mib(open)} MiB with ${n} WebSockets open (${((open - before) / n / 1024).toFixed(1)} KiB each)`);
    expect(open / MiB).toBeLessThan(200);
  }, 60_000);

  it('stops reading a pod whose client does not read, and delivers all of it once the client reads again', async () => {
    const sampler = new Sampler([serve.child.pid!], 25);
    const podSide = new Promise<WebSocket>((resolve) => (flooding = resolve));
    const received: Buffer[] = [];
    try {
      const c = connect('/flood');
      c.on('message', (m: RawData) => received.push(m as Buffer));
      await opened(c);
      c.pause();
      const socket = await podSide;
      // The pod's own send buffer stops shrinking: the edge has stopped reading it.
      let last = -1;
      await waitFor(
        () => {
          const now = socket.bufferedAmount;
          const still = now === last;
          last = now;
          return still;
        },
        10_000,
        "the pod's sends to stall",
      );
      await new Promise((r) => setTimeout(r, 500));
      const stalled = socket.bufferedAmount;
      // What the edge, the kernel and the client took is a fraction of the 64 MiB; the rest waits at the pod.
      expect(stalled / MiB).toBeGreaterThan(FLOOD / 2);
      const held = sampler.stop();
      console.log(`serve RSS while a client did not read ${FLOOD} MiB from the pod: ${mib(held.rssStartBytes)} → peak ${mib(held.rssPeakBytes)} MiB (+${mib(held.rssPeakBytes - held.rssStartBytes)}); ${mib(stalled)} MiB left unsent at the pod`);
      expect((held.rssPeakBytes - held.rssStartBytes) / MiB).toBeLessThan(32);

      c.resume();
      const resumed = performance.now();
      await waitFor(() => received.length === FLOOD, 30_000, `all ${FLOOD} messages`).catch((err: Error) => {
        // Which side stopped: the client, the edge (the pod's buffer not shrinking) or the pod.
        throw new Error(`${err.message}: ${received.length} received, client ${c.readyState === WebSocket.OPEN ? 'open' : 'closed'}, ${mib(socket.bufferedAmount)} MiB still at the pod`);
      });
      console.log(`the other ${mib(stalled)} MiB delivered ${(performance.now() - resumed).toFixed(0)} ms after the client read again`);
      expect(received.every((m, i) => m.length === MiB && m[0] === i && m[MiB - 1] === i)).toBe(true);
    } finally {
      sampler.stop(); // again, when an assertion above left it running
      flooding = null;
    }
  }, 60_000);

  it('closes a client that outruns a pod that stopped reading with 1013, holding a bounded amount', async () => {
    const sampler = new Sampler([serve.child.pid!], 25);
    let sent = 0;
    try {
      const c = connect('/stall');
      await opened(c);
      const end = new Promise<number>((resolve) => c.once('close', (code) => resolve(code)));
      // 1 MiB at a time, each once the client's socket took it, until the edge gives up on the pod;
      // FLOOD of them may not be enough, as the kernel buffers of both sockets hold some.
      const block = Buffer.alloc(MiB, 7);
      while (c.readyState === WebSocket.OPEN && sent < 2 * FLOOD) {
        const err = await new Promise<Error | null | undefined>((resolve) => c.send(block, resolve));
        if (!err) sent++; // a send after the edge's close frame fails
      }
      expect(await end).toBe(1013);
    } finally {
      const s = sampler.stop();
      console.log(`serve RSS while a client sent ${sent} MiB to a pod that does not read: ${mib(s.rssStartBytes)} → peak ${mib(s.rssPeakBytes)} MiB (+${mib(s.rssPeakBytes - s.rssStartBytes)})`);
      expect((s.rssPeakBytes - s.rssStartBytes) / MiB).toBeLessThan(64);
    }
    // Closed once the pod had 16 MiB (POD_MAX_QUEUED) unread, not before.
    expect(sent).toBeGreaterThanOrEqual(16);
  }, 60_000);
});
