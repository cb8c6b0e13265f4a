import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A port that was free a moment ago on `host`: listen on 0, read, close.
 * Another process may take it before the pod binds it; `avoid` keeps two
 * pods started at the same moment from being handed the same number.
 */
export async function freePort(host = '127.0.0.1', avoid: ReadonlySet<number> = new Set()): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, resolve);
    });
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    if (!avoid.has(port) || attempt >= 20) return port;
  }
}
