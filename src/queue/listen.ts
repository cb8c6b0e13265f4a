import { uws, type TemplatedApp, type us_listen_socket } from '../shared/uws.js';

/** LIBUS_LISTEN_EXCLUSIVE_PORT: exported by the native module, not by its types. */
const EXCLUSIVE = (uws as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT;

type ListenWithOptions = (host: string, port: number, options: number, cb: (s: us_listen_socket | false) => void) => TemplatedApp;

/**
 * Binds `app` to host:port without SO_REUSEPORT (uWS's default would let a
 * second process share the port silently, and the autoscaler would scrape
 * whichever of the two the kernel picked). Rejects naming the address.
 */
export function listenExclusive(app: TemplatedApp, host: string, port: number, what: string): Promise<us_listen_socket> {
  // The native listen takes (host, port, options, cb); the published types only list (port, options, cb).
  const listen = app.listen.bind(app) as unknown as ListenWithOptions;
  return new Promise((resolve, reject) => {
    listen(host, port, EXCLUSIVE, (s) => {
      if (s) resolve(s);
      else reject(new Error(`queue-proxy cannot listen on ${host}:${port} for its ${what} (in use?)`));
    });
  });
}
