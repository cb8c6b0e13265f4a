import { createServer, type Server } from 'node:net';
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

/**
 * Rejects with TG_ERR_LISTEN when another process holds host:port, checked
 * by binding it without SO_REUSEPORT and closing again: for listeners that
 * must set SO_REUSEPORT themselves (the event loops of `--workers`, uWS's
 * TLS port) and would otherwise share a port another program holds.
 */
export function ensurePortFree(host: string, port: number, what: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(new TidegateError('TG_ERR_LISTEN', `cannot listen on ${hostPort(host, port)} (${what}): ${listenReason(err)}`)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** A port free on `host` now (the kernel's pick for a plain socket, closed again): what listeners that share a port by SO_REUSEPORT bind, as the kernel's own pick for one of them cannot be joined by the next on Linux. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
