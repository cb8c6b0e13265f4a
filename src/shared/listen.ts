import type { Server } from 'node:net';
import { TidegateError } from './errors.js';
import { hostPort } from './host-port.js';

/** Why a bind failed, in words an operator acts on. */
export function listenReason(err: NodeJS.ErrnoException): string {
  return REASONS[err.code ?? ''] ?? err.message;
}

const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use (another tidegate or another program holds it)',
  EADDRNOTAVAIL: 'no such address on this machine',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  ENOTFOUND: 'unknown host name',
  EAI_AGAIN: 'host name lookup failed',
};

/**
 * Binds a node:net server (the TLS and HTTP/2 listeners) to host:port and
 * resolves with the port, or rejects with TG_ERR_LISTEN naming the address,
 * the port and `what` listens there. node leaves SO_REUSEPORT off, so a
 * port another process holds is refused, as the uWS listeners' are.
 */
export function listenNode(server: Server, host: string, port: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new TidegateError('TG_ERR_LISTEN', `cannot listen on ${hostPort(host, port)} (${what}): ${listenReason(err)}`));
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}
