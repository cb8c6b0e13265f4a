import net from 'node:net';
import os from 'node:os';

/** An IPv4 address of this machine that is not loopback, or null when it has none. */
export function nonLoopbackAddress(): string | null {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

/**
 * Whether a TCP connect to host:port succeeds (true), is refused or times
 * out (false). A listener bound to 127.0.0.1 refuses connects to the
 * machine's other addresses at once.
 */
export function connects(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
