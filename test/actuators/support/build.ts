import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

function fresh(outputs: readonly string[]): boolean {
  try {
    const oldest = Math.min(...outputs.map((f) => fs.statSync(f).mtimeMs));
    return oldest >= newestMtime(path.resolve('src'));
  } catch {
    return false;
  }
}

/**
 * Makes sure dist/ holds a build of the current sources, for tests that run
 * tidegate outside vitest (child processes). Test files run in parallel: a
 * lock file lets one of them build while the others wait, and nothing is
 * rebuilt when dist/ is newer than src/. tsc emits even when other parts of
 * the tree do not type-check; returns whether `outputs` exist afterwards.
 */
export async function ensureBuilt(outputs: readonly string[]): Promise<boolean> {
  const abs = outputs.map((f) => path.resolve(f));
  const lock = path.join(os.tmpdir(), `tidegate-build-${createHash('sha1').update(process.cwd()).digest('hex').slice(0, 10)}.lock`);
  const end = Date.now() + 90_000;
  while (Date.now() < end) {
    if (fresh(abs)) return true;
    let fd: number;
    try {
      fd = fs.openSync(lock, 'wx');
    } catch {
      // Someone else is building; a lock left by a killed run goes stale after a minute.
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 60_000) fs.rmSync(lock, { force: true });
      } catch {
        // gone already
      }
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    try {
      await new Promise<void>((resolve) => execFile(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], () => resolve()));
    } finally {
      fs.closeSync(fd);
      fs.rmSync(lock, { force: true });
    }
    return abs.every((f) => fs.existsSync(f));
  }
  return abs.every((f) => fs.existsSync(f));
}
