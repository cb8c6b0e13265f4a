import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadRawSockets } from '../../src/upstream/raw-socket.js';

const raw = loadRawSockets();

// The raw paths must really carry the bytes: reads reach `onBytes`, not the
// socket's own onread callback, and a raw write (true) reaches the peer.

let server: net.Server;
let port = 0;
const received: Buffer[] = [];

beforeAll(async () => {
  server = net.createServer((s) => {
    s.on('data', (d: Buffer) => {
      received.push(d);
      s.write(`echo:${d.toString()}`);
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

describe('raw socket paths', () => {
  it('are available on this Node', () => {
    expect(raw).not.toBeNull();
  });

  it('write straight to the handle and take reads from it, ends of stream still to Node', async () => {
    const buffer = Buffer.alloc(1024);
    const viaNode: string[] = [];
    const viaRaw: string[] = [];
    const socket = net.connect({ port, host: '127.0.0.1', onread: { buffer, callback: (n) => (viaNode.push(buffer.toString('latin1', 0, n)), true) } });
    expect(raw!.readRaw(socket, (n) => viaRaw.push(buffer.toString('latin1', 0, n)))).toBe(true);
    expect(raw!.writeRaw(socket, 'early')).toBe(false); // still connecting: the caller uses socket.write
    await new Promise<void>((r) => socket.once('connect', () => r()));
    expect(raw!.writeRaw(socket, 'hé')).toBe(true);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.concat(received).toString()).toBe('hé');
    expect(viaRaw.join('')).toBe('echo:hé'.replace('é', '\xc3\xa9'));
    expect(viaNode).toEqual([]);
    socket.end();
    await closed; // the peer's FIN went through Node's own read callback
  });
});
