import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { closed, nextMessage, opened, WsClients } from '../support/ws-client.js';
import { acceptFor } from '../../src/upstream/ws-frames.js';
import { startBareEdge, type BareEdge } from '../support/bare-edge.js';
import { startStaticEdge, staticAppConfig, waitFor } from '../support/serve.js';

// WebSockets through the edge, with the `ws` package as client and as pod.

const HOST = 'app.example.com';
let edge: BareEdge | null = null;
let pod: WebSocketServer | null = null;
const ws = new WsClients();

afterEach(async () => {
  ws.terminateAll();
  edge?.close();
  edge = null;
  if (pod) for (const c of pod.clients) c.terminate();
  await new Promise<void>((r) => (pod ? pod.close(() => r()) : r()));
  pod = null;
});

/** A `ws` echo pod: text stays text, binary stays binary; picks 'chat' when offered. */
async function startEchoPod(options: { onConnection?: (s: WebSocket) => void } = {}): Promise<string> {
  pod = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (p) => (p.has('chat') ? 'chat' : false) });
  pod.on('connection', (s) => {
    s.on('message', (m, isBinary) => s.send(m, { binary: isBinary }));
    options.onConnection?.(s);
  });
  await new Promise((r) => pod!.once('listening', r));
  return `127.0.0.1:${(pod.address() as AddressInfo).port}`;
}

async function startEdgeFor(address: string, revision: string[] = []): Promise<BareEdge> {
  edge = await startBareEdge(staticAppConfig(address, { revision }));
  edge.setPods('app-1', [address]);
  return edge;
}

function connect(protocols: string[] = []): WebSocket {
  return ws.connect(edge!.port, '/chat', { host: HOST, protocols });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('WebSocket through the edge', () => {
  it('echoes text, binary, fragmented and 16 MiB messages intact, with the subprotocol the pod chose', async () => {
    await startEdgeFor(await startEchoPod());
    const c = connect(['chat', 'other']);
    await opened(c);
    expect(c.protocol).toBe('chat');

    let m = nextMessage(c);
    c.send('héllo');
    expect((await m).data.toString()).toBe('héllo');
    expect((await m).isBinary).toBe(false);

    const bin = Buffer.from([0, 1, 2, 255]);
    m = nextMessage(c);
    c.send(bin);
    expect((await m).data.equals(bin)).toBe(true);
    expect((await m).isBinary).toBe(true);

    // One message in three fragments: the pod gets it whole, and so does the echo.
    m = nextMessage(c);
    c.send('ab', { fin: false });
    c.send('cd', { fin: false });
    c.send('ef', { fin: true });
    expect((await m).data.toString()).toBe('abcdef');

    const big = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    m = nextMessage(c);
    c.send(big);
    expect(sha((await m).data)).toBe(sha(big));
  });

  it('passes pings both ways and close codes both ways', async () => {
    let podSide: WebSocket | null = null;
    await startEdgeFor(await startEchoPod({ onConnection: (s) => (podSide = s) }));
    const c = connect();
    await opened(c);
    await waitFor(() => podSide !== null, 2000, 'pod connection');
    const podPing = new Promise<string>((r) => podSide!.once('ping', (d) => r(d.toString())));
    c.ping('from-client');
    expect(await podPing).toBe('from-client');
    const clientPing = new Promise<string>((r) => c.once('ping', (d) => r(d.toString())));
    podSide!.ping('from-pod');
    expect(await clientPing).toBe('from-pod');

    const podClosed = new Promise<{ code: number; reason: string }>((r) => podSide!.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    const clientClosed = closed(c);
    c.close(4001, 'bye');
    expect(await podClosed).toEqual({ code: 4001, reason: 'bye' });
    expect((await clientClosed).code).toBe(4001);

    // And the other way: the pod closes with its own code.
    podSide = null;
    const c2 = connect();
    await opened(c2);
    await waitFor(() => podSide !== null, 2000, 'second pod connection');
    const c2Closed = closed(c2);
    podSide!.close(4002, 'pod says bye');
    expect(await c2Closed).toEqual({ code: 4002, reason: 'pod says bye' });
  });

  it('passes back a pod that refuses the upgrade, status and body', async () => {
    const server = net.createServer((s) => {
      s.once('data', () => s.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 6\r\n\r\nno ws\n'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await startEdgeFor(`127.0.0.1:${(server.address() as AddressInfo).port}`);
      const c = connect();
      const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        c.once('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        c.once('open', () => reject(new Error('opened')));
      });
      expect(response).toEqual({ status: 403, body: 'no ws\n' });
    } finally {
      server.close();
    }
  });

  it("a pod's first message in the same segment as its 101 reaches the client, over 300 upgrades", async () => {
    // The 101 and a text frame in one write: the edge reads both in one read, upgrades, and relays the frame.
    const server = net.createServer((s) => {
      let head = '';
      const onHead = (c: Buffer): void => {
        head += c.toString('latin1');
        const key = /sec-websocket-key: *([^\r]+)/i.exec(head)?.[1];
        if (!head.includes('\r\n\r\n') || key === undefined) return;
        s.off('data', onHead);
        const text = Buffer.from(`first ${head.length}`);
        s.write(Buffer.concat([Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: ${acceptFor(key)}\r\n\r\n`), Buffer.from([0x81, text.length]), text]));
        s.on('data', () => undefined);
      };
      s.on('data', onHead);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await startEdgeFor(`127.0.0.1:${(server.address() as AddressInfo).port}`);
      let lost = 0;
      for (let batch = 0; batch < 6; batch++) {
        const outcomes = await Promise.all(
          Array.from({ length: 50 }, async () => {
            const c = connect();
            const first = new Promise<string>((resolve) => {
              c.once('message', (m: Buffer) => resolve(m.toString()));
              c.once('close', (code: number) => resolve(`closed ${code}`));
              c.once('error', () => resolve('error'));
            });
            const got = await first;
            c.terminate();
            return got;
          }),
        );
        lost += outcomes.filter((o) => !o.startsWith('first ')).length;
      }
      expect(lost).toBe(0);
    } finally {
      server.close();
    }
  }, 30_000);

  it('answers 502 upstream-protocol when the pod answers 101 without a WebSocket handshake', async () => {
    const server = net.createServer((s) => {
      s.once('data', () => s.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: wrong\r\n\r\n'));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await startEdgeFor(`127.0.0.1:${(server.address() as AddressInfo).port}`);
      const c = connect();
      const status = await new Promise<[number, string]>((resolve, reject) => {
        c.once('unexpected-response', (_req, res) => resolve([res.statusCode ?? 0, String(res.headers['x-tidegate-error'])]));
        c.once('open', () => reject(new Error('opened')));
      });
      expect(status).toEqual([502, 'upstream-protocol']);
    } finally {
      server.close();
    }
  });

  it('a pod that breaks the WebSocket protocol after its 101 gets a 1002 close; the client gets 1011 and the slot comes back', async () => {
    // A masked frame from a server is forbidden (RFC 6455 §5.1); the pod's frames are tidegate's to parse.
    let podGot = Buffer.alloc(0);
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', (d) => {
        const key = /sec-websocket-key: (\S+)/i.exec(d.toString())![1]!;
        s.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: ${acceptFor(key)}\r\n\r\n`);
        s.on('data', (more) => (podGot = Buffer.concat([podGot, more])));
        setTimeout(() => s.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x69, 0x6b])), 50);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await startEdgeFor(`127.0.0.1:${(server.address() as AddressInfo).port}`);
      const c = connect();
      await opened(c);
      expect((await closed(c)).code).toBe(1011);
      // The pod heard a close frame with 1002 (unmasked length, then a masked code: read it back).
      await waitFor(() => podGot.length >= 8, 2000, 'the close frame at the pod');
      expect(podGot[0]).toBe(0x88);
      const mask = podGot.subarray(2, 6);
      expect(((podGot[6]! ^ mask[0]!) << 8) | (podGot[7]! ^ mask[1]!)).toBe(1002);
      await waitFor(() => edge!.edge.revision('app-1')!.throttler.inFlight === 0, 2000, 'slot freed');
    } finally {
      server.close();
    }
  });

  it('with containerConcurrency 1, holds a second WebSocket in the buffer until the first closes', async () => {
    await startEdgeFor(await startEchoPod(), ['containerConcurrency: 1']);
    const first = connect();
    await opened(first);
    const rt = edge!.edge.revision('app-1')!;
    expect(rt.throttler.inFlight).toBe(1);
    const second = connect();
    let secondOpen = false;
    second.once('open', () => (secondOpen = true));
    await waitFor(() => rt.throttler.queued === 1, 2000, 'second WebSocket buffered');
    await new Promise((r) => setTimeout(r, 300));
    expect(secondOpen).toBe(false);
    first.close(1000);
    await opened(second);
    expect(rt.throttler.inFlight).toBe(1);
    expect(rt.throttler.queued).toBe(0);
    const m = nextMessage(second);
    second.send('late');
    expect((await m).data.toString()).toBe('late');
  });

  it('is not cut by timeoutSeconds, and idleTimeoutSeconds closes an idle one with 1001', async () => {
    await startEdgeFor(await startEchoPod(), ['timeoutSeconds: 1', 'idleTimeoutSeconds: 1']);
    const c = connect();
    await opened(c);
    const done = closed(c);
    // Busy for 2.5 s: past timeoutSeconds, never idle for a second.
    let idleSince = 0;
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const m = nextMessage(c);
      c.send(`tick ${i}`);
      expect((await m).data.toString()).toBe(`tick ${i}`);
      idleSince = Date.now();
    }
    expect(c.readyState).toBe(WebSocket.OPEN);
    const { code } = await done;
    expect(code).toBe(1001);
    expect(Date.now() - idleSince).toBeGreaterThanOrEqual(900);
    await waitFor(() => edge!.edge.revision('app-1')!.throttler.inFlight === 0, 2000, 'slot freed');
  });

  it('on shutdown sends 1001 to the client and closes the pod side', async () => {
    let podSide: WebSocket | null = null;
    await startEdgeFor(await startEchoPod({ onConnection: (s) => (podSide = s) }));
    const c = connect();
    await opened(c);
    await waitFor(() => podSide !== null, 2000, 'pod connection');
    const podClosed = new Promise<number>((r) => podSide!.once('close', (code) => r(code)));
    const clientClosed = closed(c);
    edge!.edge.close();
    expect((await clientClosed).code).toBe(1001);
    expect(await podClosed).toBe(1001);
    await edge!.edge.drained();
  });

  it('a serve shutdown does not wait for open WebSockets: they get 1001 at once', async () => {
    const address = await startEchoPod();
    const serve = await startStaticEdge(address, {}, { drainTimeoutMs: 20_000 });
    const c = ws.connect(serve.port, '/', { host: HOST });
    await opened(c);
    const clientClosed = closed(c);
    const t0 = Date.now();
    await serve.close();
    expect((await clientClosed).code).toBe(1001);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('closes the client with 1011 when the pod connection dies, and frees the slot', async () => {
    let podSide: WebSocket | null = null;
    await startEdgeFor(await startEchoPod({ onConnection: (s) => (podSide = s) }));
    const c = connect();
    await opened(c);
    await waitFor(() => podSide !== null, 2000, 'pod connection');
    const clientClosed = closed(c);
    podSide!.terminate();
    expect((await clientClosed).code).toBe(1011);
    await waitFor(() => edge!.edge.revision('app-1')!.throttler.inFlight === 0, 2000, 'slot freed');
  });
});
