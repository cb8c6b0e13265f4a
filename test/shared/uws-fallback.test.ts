import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isNative } from '../../src/shared/uws.js';
import { CLI } from '../support/cli.js';


describe('uWebSockets.js loader', () => {
  it('accepts the native build this machine loads', () => {
    const mod = createRequire(import.meta.url)('@trufflesuite/uws-js-unofficial') as { App: unknown };
    expect(isNative(mod)).toBe(true);
  });

  it("recognises the package's pure-JS fallback as not native", () => {
    const fallback = createRequire(import.meta.url)('@trufflesuite/uws-js-unofficial/dist/index.js') as { App: unknown };
    expect(typeof fallback.App).toBe('function');
    expect(isNative(fallback)).toBe(false);
  });

  it.skipIf(!existsSync(CLI))('refuses to start serve on the fallback (UWS_USE_FALLBACK=1), saying why', () => {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--config', 'config/static.yaml', '--port', '0', '--admin-port', '0'], {
      env: { ...process.env, UWS_USE_FALLBACK: '1' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/native uWebSockets\.js/);
  });
});
