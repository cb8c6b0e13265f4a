/**
 * `serve` without --redis keeps its store in the process and never loads the
 * Redis client (src/store/index.ts imports it only for a Redis URL): ioredis
 * is some 13 MiB of an idle serve's RSS (79 MiB with it, 66 without, measured
 * on a static config 2 s after start). The child records every CommonJS
 * module it loaded as it exits; the --redis run shows the probe sees ioredis
 * when it is there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { freePort } from '../support/ports.js';
import { staticAppConfig, waitFor } from '../support/serve.js';
import { CLI } from '../support/cli.js';
import { startRedis } from '../support/redis-server.js';

/** Preloaded into the child: at exit, the files in the CommonJS module cache (ESM imports of CommonJS packages land there too). */
const PROBE = `
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => writeFileSync(process.env.LOADED_OUT, Object.keys(cache).join('\\n')));
`;

let app: Upstream;
let dir: string;
let probe: string;
let config: string;

beforeAll(async () => {
  await fs.access(CLI); // npm test builds dist/ before running vitest
  app = await startUpstream('app');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-lazy-redis-'));
  probe = path.join(dir, 'probe.mjs');
  await fs.writeFile(probe, PROBE);
  config = path.join(dir, 'tg.yaml');
  await fs.writeFile(config, staticAppConfig(app.address));
});

afterAll(async () => {
  await app?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

function routes(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    http.get({ port, host: '127.0.0.1', headers: { host: 'app.example.com' } }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    }).on('error', () => resolve(false));
  });
}

/** Runs serve until it routes, stops it with SIGTERM and returns the package directories it loaded. */
async function packagesLoaded(extraArgs: string[]): Promise<string[]> {
  const out = path.join(dir, `loaded-${extraArgs.length}.txt`);
  const port = await freePort();
  const args = ['--import', pathToFileURL(probe).href, CLI, 'serve', '--config', config, '--port', String(port), '--admin-port', String(await freePort()), ...extraArgs];
  const child = spawn(process.execPath, args, { env: { ...process.env, LOG_LEVEL: 'warn', LOADED_OUT: out }, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(() => routes(port), 15_000, 'serve routing');
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  const files = (await fs.readFile(out, 'utf8')).split('\n');
  const names = files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((n): n is string => n !== undefined);
  return [...new Set(names)].sort();
}

describe('serve loads the Redis client only for --redis', () => {
  it('without --redis: pino and uWS, no ioredis', async () => {
    const loaded = await packagesLoaded([]);
    expect(loaded).toContain('pino');
    expect(loaded).toContain('@trufflesuite/uws-js-unofficial');
    expect(loaded).not.toContain('ioredis');
  }, 30_000);

  it('with --redis: ioredis', async () => {
    const redis = await startRedis();
    try {
      expect(await packagesLoaded(['--redis', redis.url])).toContain('ioredis');
    } finally {
      await redis.stop();
    }
  }, 30_000);
});
