/** `ws` clients for tests that go through tidegate's WebSocket route, and the waits they need. */
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type ClientOptions, type RawData } from 'ws';

/** The clients a test file opened, so afterEach can cut them all. */
export class WsClients {
  private readonly open: WebSocket[] = [];

  /** A client to ws://127.0.0.1:port/path with a Host header; errors are left to the test's own waits. */
  connect(port: number, urlPath = '/', options: { host?: string; protocols?: string[] } & ClientOptions = {}): WebSocket {
    const { host = 'app.example.com', protocols = [], ...rest } = options;
    const c = new WebSocket(`ws://127.0.0.1:${port}${urlPath}`, protocols, { headers: { host }, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false, ...rest });
    this.open.push(c);
    c.on('error', () => undefined); // a test that expects a failure waits for the close or the response
    return c;
  }

  /** Every client opened since the last terminateAll. */
  get all(): readonly WebSocket[] {
    return this.open;
  }

  terminateAll(): void {
    for (const c of this.open.splice(0)) c.terminate();
  }
}

/** Resolves on open; rejects on an error or an answer other than 101 (with its status and X-Tidegate-Error). */
export function opened(c: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    c.once('open', () => resolve());
    c.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode} ${String(res.headers['x-tidegate-error'] ?? '')}`)));
    c.once('error', reject);
  });
}

export function nextMessage(c: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => c.once('message', (data: RawData, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

export function closed(c: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => c.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** A pod that echoes every WebSocket message: a `ws` server on 127.0.0.1, port 0. */
export async function startEchoPod(): Promise<{ address: string; close(): Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  server.on('connection', (sock) => sock.on('message', (m, binary) => sock.send(m, { binary })));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Sends `text` over wss://127.0.0.1:port/socket to app.example.com (trusting `ca`) and resolves with the echo. */
export async function echoOverTls(port: number, ca: string | Buffer, text: string): Promise<string> {
  const client = new WebSocket(`wss://127.0.0.1:${port}/socket`, { headers: { host: 'app.example.com' }, ca, servername: 'app.example.com' } as ClientOptions);
  try {
    await new Promise((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });
    const echo = new Promise<string>((r) => client.once('message', (m: Buffer) => r(m.toString())));
    client.send(text);
    return await echo;
  } finally {
    client.close();
  }
}
