/**
 * What can be checked of the Dockerfile without a Docker engine: every path
 * it copies from the build context exists and is not left out by
 * .dockerignore, and the runtime image's contents work — the files the final
 * stage holds, with dependencies from a clean `npm ci --omit=dev` in a
 * temporary directory, run the ENTRYPOINT + CMD with the image's ENV: the
 * version prints, `serve` answers a request through its demo app, the
 * HEALTHCHECK command passes while it runs and fails once it is gone, and
 * SIGTERM stops it with exit 0.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/serve.js';

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly stage: number;
}

/** The Dockerfile's instructions (continuation lines joined, comments dropped), with the stage each is in. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  const joined = text.replace(/\\\n/g, ' ');
  for (const line of joined.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const m = /^(\S+)\s+(.*)$/.exec(t);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2]!, stage });
  }
  return out;
}

const dockerfile = instructions(fs.readFileSync('Dockerfile', 'utf8'));
const finalStage = Math.max(...dockerfile.map((i) => i.stage));
const final = dockerfile.filter((i) => i.stage === finalStage);
const ignore = fs
  .readFileSync('.dockerignore', 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

function copies(i: Instruction): { from: string | null; sources: string[]; dest: string } {
  const words = i.args.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length) ?? null;
  const paths = words.filter((w) => !w.startsWith('--'));
  return { from, sources: paths.slice(0, -1), dest: paths[paths.length - 1]! };
}

/** .dockerignore patterns as used here: a path or a `*` glob, matching the path or a parent. */
function ignored(p: string): boolean {
  return ignore.some((pat) => {
    const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`);
    return re.test(p);
  });
}

function jsonArray(op: string, insts: readonly Instruction[] = final): string[] {
  const i = insts.filter((x) => x.op === op).pop();
  if (!i) throw new Error(`no ${op} in the final stage`);
  const json = op === 'HEALTHCHECK' ? i.args.slice(i.args.indexOf('CMD') + 3).trim() : i.args;
  return JSON.parse(json) as string[];
}

/** ENV of the final stage (`ENV K=V` lines). */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of final.filter((x) => x.op === 'ENV')) for (const m of i.args.matchAll(/([A-Z_]+)=(\S+)/g)) env[m[1]!] = m[2]!;
  return env;
}

const version = (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string }).version;
let tree: string | null = null;
afterAll(() => {
  if (tree) fs.rmSync(tree, { recursive: true, force: true });
});

describe('Dockerfile', () => {
  it('copies only paths that exist in the build context and that .dockerignore keeps', () => {
    const sources = dockerfile.filter((i) => i.op === 'COPY').map(copies).filter((c) => c.from === null).flatMap((c) => c.sources);
    expect(sources.length).toBeGreaterThan(3);
    for (const s of sources) {
      expect(fs.existsSync(s), `COPY ${s}: no such path`).toBe(true);
      expect(ignored(s), `COPY ${s}: left out of the context by .dockerignore`).toBe(false);
    }
    // The stage names it copies from exist.
    const stages = dockerfile.filter((i) => i.op === 'FROM').map((i) => /\bAS\s+(\S+)/i.exec(i.args)?.[1]);
    for (const c of dockerfile.filter((i) => i.op === 'COPY').map(copies)) if (c.from) expect(stages).toContain(c.from);
  });

  it('pins its base image to one Node release and installs dependencies from the lockfile', () => {
    const arg = dockerfile.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    expect(arg?.args).toMatch(/^NODE_IMAGE=node:\d+\.\d+\.\d+-bookworm-slim$/);
    const runs = dockerfile.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /npm ci --omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /npm install\b/.test(r))).toBe(false);
    expect(imageEnv()).toMatchObject({ TIDEGATE_ADMIN_ADDRESS: '0.0.0.0', NODE_ENV: 'production' });
    expect(final.some((i) => i.op === 'USER' && i.args === 'node')).toBe(true);
  });

  it('the final stage runs from a clean `npm ci --omit=dev` tree: version, serve with its demo app, HEALTHCHECK, SIGTERM', async () => {
    tree = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-image-'));
    // What the final stage holds: its COPYs from the context, dist/ (the build stage's output: npm test built it) and node_modules from the deps stage.
    for (const c of final.filter((i) => i.op === 'COPY').map(copies)) {
      const sources = c.from === 'build' ? ['dist'] : c.from === null ? c.sources : [];
      for (const s of sources) fs.cpSync(s, path.join(tree, c.dest.endsWith('/') ? path.basename(s) : c.dest), { recursive: true });
    }
    expect(fs.existsSync(path.join(tree, 'dist/cli.js'))).toBe(true);
    fs.copyFileSync('package-lock.json', path.join(tree, 'package-lock.json'));
    const ci = spawnSync('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: tree, encoding: 'utf8', timeout: 120_000 });
    expect(ci.status, ci.stderr).toBe(0);
    expect(fs.existsSync(path.join(tree, 'node_modules/vitest')), 'dev dependencies left out').toBe(false);

    const [cmd, ...entry] = jsonArray('ENTRYPOINT');
    expect(cmd).toBe('node');
    const env = { ...process.env, ...imageEnv(), LOG_LEVEL: 'warn' };
    const v = spawnSync(process.execPath, [...entry, '--version'], { cwd: tree, env, encoding: 'utf8', timeout: 10_000 });
    expect(v.stdout.trim()).toBe(`tidegate ${version}`);

    const [port, adminPort] = [await freePort(), await freePort()];
    const runEnv = { ...env, PORT: String(port), ADMIN_PORT: String(adminPort) };
    const health = jsonArray('HEALTHCHECK');
    expect(health[0]).toBe('node');
    const healthcheck = () => spawnSync(process.execPath, health.slice(1), { env: runEnv, timeout: 10_000 }).status;
    const child = spawn(process.execPath, [...entry, ...jsonArray('CMD')], { cwd: tree, env: runEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor(() => child.exitCode === null && healthcheck() === 0, 20_000, 'the HEALTHCHECK command to pass');
      // The demo app starts on the first request (scale from zero) and answers through the edge.
      const res = await request(`http://127.0.0.1:${port}/`, { headers: { host: 'hello.localhost' }, headersTimeout: 30_000 });
      expect(res.statusCode, stderr).toBe(200);
      expect(await res.body.text()).toMatch(/^hello from hello-0000[12]/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
    expect(healthcheck()).not.toBe(0);
  }, 180_000);
});
