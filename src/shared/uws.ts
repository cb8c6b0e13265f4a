import { createRequire } from 'node:module';
import net from 'node:net';
import type * as UwsTypes from '@trufflesuite/uws-js-unofficial';
import { TidegateError } from './errors.js';
import { hostPort } from './host-port.js';
import { listenReason } from './listen.js';

/**
 * Loads uWebSockets.js and refuses to go on if the package fell back to its
 * pure-JS server (it does that silently when the native binary fails to
 * load, and is many times slower). The native build's functions are native
 * code; the fallback's are not.
 */
function load(): typeof UwsTypes {
  if (/^(1|true)$/i.test(process.env['UWS_USE_FALLBACK'] ?? '')) {
    throw new TidegateError('TG_ERR_UWS_FALLBACK', 'UWS_USE_FALLBACK is set: tidegate needs the native uWebSockets.js build and will not run on the pure-JS fallback');
  }
  const require = createRequire(import.meta.url);
  const mod = require('@trufflesuite/uws-js-unofficial') as typeof UwsTypes;
  if (!isNative(mod)) {
    throw new TidegateError(
      'TG_ERR_UWS_FALLBACK',
      `uWebSockets.js native binary did not load for node ${process.version} (${process.platform}-${process.arch}, ABI ${process.versions.modules}); refusing to run on the slow pure-JS fallback`,
    );
  }
  return mod;
}

export function isNative(mod: { App: unknown }): boolean {
  return typeof mod.App === 'function' && /\[native code\]/.test(Function.prototype.toString.call(mod.App));
}

export const uws = load();
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, us_socket_context_t, WebSocket, WebSocketBehavior } from '@trufflesuite/uws-js-unofficial';

/** uWS's listen socket option that leaves SO_REUSEPORT off (uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT). */
const EXCLUSIVE_PORT = 1;
type ListenWithOptions = (host: string, port: number, options: number, cb: (s: UwsTypes.us_listen_socket | false) => void) => unknown;

export { hostPort };

/**
 * Binds `app` to host:port and resolves with the listen socket, or rejects
 * with TG_ERR_LISTEN naming the address, the port and `what` listens there.
 * Exclusive by default: uWS otherwise sets SO_REUSEPORT, and a second
 * tidegate on the same port would silently share it (and run its own
 * autoscaler and pods). uWS says only that it failed; asking node:net to
 * bind the same address then tells why.
 */
export async function listenOn(app: UwsTypes.TemplatedApp, host: string, port: number, what: string, exclusive = true): Promise<UwsTypes.us_listen_socket> {
  const socket = await new Promise<UwsTypes.us_listen_socket | false>((resolve) => {
    (app.listen as unknown as ListenWithOptions).call(app, host, port, exclusive ? EXCLUSIVE_PORT : 0, resolve);
  });
  if (socket) return socket;
  const reason = await whyNot(host, port);
  throw new TidegateError('TG_ERR_LISTEN', `cannot listen on ${hostPort(host, port)} (${what}): ${reason}`);
}

function whyNot(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(listenReason(err)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve('refused by uWebSockets.js')));
  });
}
