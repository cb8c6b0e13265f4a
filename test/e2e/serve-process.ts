/**
 * `tidegate serve` as a real child process (dist/cli.js), for the tests that
 * kill it or need its whole process tree.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/serve.js';
import { CLI } from './harness.js';

export const HAVE_DIST = fs.existsSync(CLI);

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  adminPort: number;
  output(): string;
  exit: Promise<number | null>;
  /** Kills whatever is left (test cleanup) and removes the temp dir. */
  cleanup(): Promise<void>;
}

export async function spawnServe(yaml: string, extraArgs: string[] = []): Promise<ServeProcess> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tidegate-e2e-'));
  await fsp.mkdir(path.join(dir, 'config'));
  const file = path.join(dir, 'config', 'tidegate.yaml');
  await fsp.writeFile(file, yaml);
  const [port, adminPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [CLI, 'serve', '--config', file, '--port', String(port), '--admin-port', String(adminPort), ...extraArgs], {
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const proc: ServeProcess = {
    child,
    port,
    adminPort,
    output: () => out,
    exit,
    cleanup: async () => {
      for (const pid of [child.pid!, ...descendants(child.pid!)]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}:\n${out}`);
      try {
        const r = await request(`http://127.0.0.1:${adminPort}/readyz`);
        await r.body.text();
        return r.statusCode === 200;
      } catch {
        return false;
      }
    },
    10_000,
    'serve ready',
  );
  return proc;
}

/** Every process below `root` (children, grandchildren, …), from `ps`. */
export function descendants(root: number): number[] {
  const text = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map<number, number[]>();
  for (const line of text.split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (!pid || ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    for (const c of children.get(todo.pop()!) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}
