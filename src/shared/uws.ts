import { createRequire } from 'node:module';
import type * as UwsTypes from '@trufflesuite/uws-js-unofficial';
import { TidegateError } from './errors.js';

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
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from '@trufflesuite/uws-js-unofficial';
