import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ByteRecorder {
  port: number;
  address: string;
  /** Every byte each accepted connection sent, one entry per connection, in order of arrival. */
  connections: Buffer[];
  /** All of it as latin1 text. */
  text(): string;
  close(): Promise<void>;
}

/**
 * A TCP relay in front of `target` ("host:port") that keeps exactly the bytes
 * it is sent: put it between tidegate and a real app to see the request
 * bytes a pod receives, framing included, while the app parses and answers them.
 */
export async function startByteRecorder(target: string): Promise<ByteRecorder> {
  const [host, port] = target.split(':') as [string, string];
  const sockets = new Set<net.Socket>();
  const rec: ByteRecorder = {
    port: 0,
    address: '',
    connections: [],
    text: () => Buffer.concat(rec.connections).toString('latin1'),
    close: () => Promise.resolve(),
  };
  const server = net.createServer((client) => {
    const index = rec.connections.push(Buffer.alloc(0)) - 1;
    const app = net.connect(Number(port), host);
    sockets.add(client).add(app);
    client.on('data', (d) => {
      rec.connections[index] = Buffer.concat([rec.connections[index]!, d]);
      app.write(d);
    });
    app.on('data', (d) => client.write(d));
    const end = () => {
      client.destroy();
      app.destroy();
      sockets.delete(client);
      sockets.delete(app);
    };
    client.on('close', end).on('error', end);
    app.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rec.port = (server.address() as AddressInfo).port;
  rec.address = `127.0.0.1:${rec.port}`;
  rec.close = () =>
    new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return rec;
}
