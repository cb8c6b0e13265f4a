/** Issue 9, finding 14: what a newcomer trips over before tidegate runs at all. */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { startRedis } from '../support/redis-server.js';

/** Node major → the native module ABI (process.versions.modules) it loads. */
const ABI: Readonly<Record<number, number>> = { 16: 93, 17: 102, 18: 108, 19: 111, 20: 115, 21: 120, 22: 127, 23: 131, 24: 137, 25: 141 };

describe('package.json engines', () => {
  it('admits only Node versions the uWebSockets.js build has a native binary for', () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { engines: { node: string } };
    const range = /^>=(\d+) <(\d+)$/.exec(pkg.engines.node);
    expect(range, `engines.node "${pkg.engines.node}" needs an upper bound: the native binaries stop at one Node major`).not.toBeNull();
    const [from, to] = [Number(range![1]), Number(range![2])];
    const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('@trufflesuite/uws-js-unofficial')), '../binaries');
    const shipped = new Set(fs.readdirSync(dir).filter((f) => f.startsWith(`uws_${process.platform}_${process.arch}_`)).map((f) => Number(/_(\d+)\.node$/.exec(f)?.[1])));
    for (let major = from; major < to; major++) expect(shipped.has(ABI[major] ?? -1), `a binary for Node ${major} (ABI ${ABI[major]})`).toBe(true);
    expect(shipped.has(Number(process.versions.modules))).toBe(true);
  });
});

describe('tests without redis-server', () => {
  it('say what to install', async () => {
    const saved = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      await expect(startRedis()).rejects.toThrow(/^redis-server not found: apt-get install redis-server/);
    } finally {
      process.env['PATH'] = saved;
    }
  });
});
