import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * Ports that were free a moment ago, one on each of `hosts`: listen on 0
 * on all of them at once, read, close. Held open together, ports on one
 * host are distinct, and a pod's ports take one round instead of one each.
 * Another process may take a port before the pod binds it; `avoid` keeps
 * two pods started at the same moment from being handed the same number.
 */
export async function freePorts(hosts: readonly string[], avoid: ReadonlySet<number> = new Set()): Promise<number[]> {
  for (let attempt = 0; ; attempt++) {
    const servers = hosts.map(() => net.createServer());
    let ports: number[];
    try {
      await Promise.all(servers.map((server, i) => listen(server, hosts[i]!)));
      ports = servers.map((server) => (server.address() as AddressInfo).port);
    } finally {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
    const clash = ports.some((port, i) => avoid.has(port) || ports.indexOf(port) !== i);
    if (!clash || attempt >= 20) return ports;
  }
}

function listen(server: net.Server, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
}
