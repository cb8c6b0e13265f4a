import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** A port that was free a moment ago (for child processes that need a fixed port). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}
