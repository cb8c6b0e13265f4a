import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../../src/bin/validate.js';
import { BASE, broken } from './fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'dist/cli.js');
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-validate-'));
  await fs.writeFile(path.join(dir, 'good.yaml'), BASE);
  await fs.writeFile(path.join(dir, 'bad.yaml'), broken('timeoutSeconds: 300', 'timeoutSeconds: 900').replace('percent: 90', 'percent: 80'));
  // The build emits even when files other helpers are still writing have type errors.
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
}, 150_000); // the build's own bound, not the 30 s hook default (a loaded machine builds slower)

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('validate main() in-process', () => {
  test('a valid file: exit 0 and "FILE: ok"', async () => {
    const file = path.join(dir, 'good.yaml');
    expect(await run([file])).toEqual({ code: 0, out: [`${file}: ok`], err: [] });
  });

  test('a broken file: exit 1, one FILE:LINE:COL line per problem on stderr', async () => {
    const file = path.join(dir, 'bad.yaml');
    expect(await run([file])).toEqual({
      code: 1,
      out: [],
      err: [`${file}:18:25: services[0].revisions[0].timeoutSeconds: must be an integer in 1..600, got 900`, `${file}:24:5: services[0].traffic: percents add up to 90, must be 100`],
    });
  });

  test('a missing file is a problem at 1:1', async () => {
    const file = path.join(dir, 'nope.yaml');
    expect(await run([file])).toEqual({ code: 1, out: [], err: [`${file}:1:1: cannot read the config file: no such file`] });
  });

  test('usage errors exit 2', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['a.yaml', 'b.yaml'])).code).toBe(2);
  });
});

const exec = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: 15_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('`tidegate validate` as a real process', () => {
  test('exit codes and output of the built CLI', async (ctx) => {
    // Skipped (with this reason) only when the build emitted no dist/cli.js at all;
    // the in-process tests above still cover main().
    if (!existsSync(CLI)) ctx.skip('dist/cli.js is absent: tsc -p tsconfig.build.json emitted nothing');
    const bad = path.join(dir, 'bad.yaml');
    const good = await cli(['validate', 'config/example.yaml']);
    expect(good).toEqual({ code: 0, stdout: 'config/example.yaml: ok\n', stderr: '' });
    const failed = await cli(['validate', bad]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr.trim().split('\n')).toEqual([`${bad}:18:25: services[0].revisions[0].timeoutSeconds: must be an integer in 1..600, got 900`, `${bad}:24:5: services[0].traffic: percents add up to 90, must be 100`]);
    expect((await cli(['validate'])).code).toBe(2);
  });
});

describe('the shipped example configs are valid', () => {
  test.each([['config/example.yaml'], ['config/static.yaml']])('%s', async (file) => {
    expect(await run([path.join(ROOT, file)])).toMatchObject({ code: 0 });
  });
});
