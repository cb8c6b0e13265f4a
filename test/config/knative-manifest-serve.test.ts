/**
 * config/knative-hello.yaml (config/example.yaml as Knative manifests)
 * validates, and served it answers as the native example does: the 90/10
 * split, the canary and latest tags, and a cold start from zero pods. Real
 * sockets, real pods (examples/hello.js as child processes).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, test } from 'vitest';
import { startServe, type ServeHandle } from '../../src/bin/serve.js';
import { main as validate } from '../../src/bin/validate.js';
import { silentLogger } from '../../src/shared/log.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let serving: ServeHandle | undefined;
let dir: string | undefined;

afterEach(async () => {
  await serving?.close();
  serving = undefined;
  if (dir) await fs.rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** The file with `edit` applied, in a temp dir whose examples/ is the project's (pods run in the directory above config/). */
async function copyOf(file: string, edit: (text: string) => string): Promise<string> {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-knative-'));
  await fs.mkdir(path.join(dir, 'config'));
  await fs.symlink(path.join(ROOT, 'examples'), path.join(dir, 'examples'));
  const out = path.join(dir, 'config', path.basename(file));
  const text = await fs.readFile(path.join(ROOT, file), 'utf8');
  if (edit(text) === text) throw new Error(`${file}: the edit changed nothing`);
  await fs.writeFile(out, edit(text));
  return out;
}

async function get(port: number, host: string): Promise<{ status: number; body: string; coldStart: boolean }> {
  const res = await request(`http://127.0.0.1:${port}/`, { headers: { host } });
  return { status: res.statusCode, body: await res.body.text(), coldStart: res.headers['x-tidegate-cold-start'] !== undefined };
}

/** What a user of either file sees, with pods starting at zero. */
async function behaviour(configFile: string, host: (label: string) => string): Promise<Record<string, unknown>> {
  serving = await startServe({ configFile, port: 0, adminPort: 0, host: '127.0.0.1', logger: silentLogger, drainTimeoutMs: 5000 });
  const port = serving.port;
  // Scale from zero: the first request is held by the activator while a pod starts, then answered.
  const first = await get(port, host('canary-hello'));
  const canary = await get(port, host('canary-hello'));
  const latest = await get(port, host('latest-hello'));
  const counts = new Map<string, number>();
  for (let i = 0; i < 100; i++) {
    const r = await get(port, host('hello'));
    counts.set(r.body, (counts.get(r.body) ?? 0) + 1);
  }
  const one = counts.get('hello from hello-00001: one\n') ?? 0;
  const two = counts.get('hello from hello-00002: two\n') ?? 0;
  return {
    coldStart: first.status === 200 && first.coldStart,
    firstBody: first.body,
    canary: canary.body,
    latest: latest.body,
    onlyTheTwo: one + two === 100,
    // 90/10 over 100 picks: both seen, hello-00001 the majority (failure odds below 1e-4).
    split: one > 60 && two > 0,
  };
}

const fromZero = {
  native: (t: string) => t.replace('initial-scale: 1\n  allow-zero-initial-scale: false', 'initial-scale: 0\n  allow-zero-initial-scale: true'),
  knative: (t: string) => t.replace('  enable-scale-to-zero: "true"\n', '  enable-scale-to-zero: "true"\n  initial-scale: "0"\n  allow-zero-initial-scale: "true"\n'),
};

describe('config/knative-hello.yaml', () => {
  test('tidegate validate passes', async () => {
    const out: string[] = [];
    const code = await validate([path.join(ROOT, 'config/knative-hello.yaml')], { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(code).toBe(0);
    expect(out.at(-1)).toMatch(/knative-hello\.yaml: ok$/);
    expect(out.filter((l) => /warning: .*image "ghcr\.io\/example\/hello:[12]" is not pulled/.test(l))).toHaveLength(2);
  });

  test('served, it answers like config/example.yaml: split, tags, scale from zero', async () => {
    const native = await behaviour(await copyOf('config/example.yaml', fromZero.native), (label) => `${label}.example.com`);
    await serving?.close();
    serving = undefined;
    await fs.rm(dir as string, { recursive: true, force: true });
    const knative = await behaviour(await copyOf('config/knative-hello.yaml', fromZero.knative), (label) => `${label}.default.example.com`);
    const expected = { coldStart: true, firstBody: 'hello from hello-00002: two\n', canary: 'hello from hello-00002: two\n', latest: 'hello from hello-00002: two\n', onlyTheTwo: true, split: true };
    expect(native).toEqual(expected);
    expect(knative).toEqual(expected);
  }, 60_000);
});
