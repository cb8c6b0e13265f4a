import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureBuilt } from './support/build.js';
import { FIXTURE_APP, alive, get, localRevision, until } from './support/revision.js';

const PARENT = path.resolve('test/fixtures/actuator-parent.mjs');
const BUILT = path.resolve('dist/actuators/local.js');
let built = false;

beforeAll(async () => {
  built = await ensureBuilt([BUILT]);
}, 100_000);

interface Started {
  pids: number[];
  reaper: number;
  parent: number;
}

/** Starts the parent in its own process group and waits until its pods are ready. */
function startParent(revision: unknown, count: number, stopGraceMs: number): Promise<Started> {
  const child = spawn(process.execPath, [PARENT, JSON.stringify({ revision, count, stopGraceMs })], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ ...(JSON.parse(out.slice(0, nl)) as { pids: number[]; reaper: number }), parent: child.pid! });
    });
    child.on('exit', (code) => reject(new Error(`parent exited early (${code})`)));
  });
}

describe('no orphan pods', () => {
  it('SIGKILL of the process running the actuator takes all its pods with it', async (ctx) => {
    if (!built) ctx.skip(`${BUILT} was not built (tsc failed to emit)`);
    const started = await startParent(localRevision(), 2, 2000);
    expect(started.pids).toHaveLength(2);
    expect(started.pids.every(alive)).toBe(true);
    process.kill(-started.parent, 'SIGKILL'); // its whole process group: pods and reaper are elsewhere
    await until(() => !alive(started.parent), 2000, 'the parent to die');
    await until(() => started.pids.every((pid) => !alive(pid)), 5000, 'every pod to exit');
    await until(() => !alive(started.reaper), 3000, 'the reaper to exit');
  });

  it('a killed reaper is replaced, and the replacement still does the job', async (ctx) => {
    if (!built) ctx.skip(`${BUILT} was not built (tsc failed to emit)`);
    const started = await startParent(localRevision(), 1, 2000);
    process.kill(started.reaper, 'SIGKILL');
    await until(() => !alive(started.reaper), 2000, 'the first reaper to die');
    await new Promise((r) => setTimeout(r, 300)); // the parent notices and starts another
    process.kill(started.parent, 'SIGKILL');
    await until(() => started.pids.every((pid) => !alive(pid)), 5000, 'the pod to exit');
  });

  it('also a pod that ignores SIGTERM, and what a pod started itself (its process group)', async (ctx) => {
    if (!built) ctx.skip(`${BUILT} was not built (tsc failed to emit)`);
    // sh stays the pod's process; the app is its child, and it ignores SIGTERM.
    const rev = localRevision({ command: ['sh', '-c', `trap '' TERM; "${process.execPath}" "${FIXTURE_APP}" & wait`] });
    const started = await startParent(rev, 1, 500);
    const pod = started.pids[0]!;
    // The app's own pid, a grandchild of the parent.
    const port = await findPort(pod);
    const appPid = (JSON.parse((await get(`127.0.0.1:${port}`, '/__fixture/stats')).body) as { pid: number }).pid;
    expect(appPid).not.toBe(pod);
    process.kill(started.parent, 'SIGKILL');
    await until(() => !alive(pod) && !alive(appPid), 5000, 'the pod and its child to exit');
  });
});

/** The port the pod's app listens on, from its environment. */
async function findPort(shellPid: number): Promise<number> {
  const env = fs.readFileSync(`/proc/${shellPid}/environ`, 'utf8').split('\0');
  const port = Number(env.find((e) => e.startsWith('PORT='))?.slice(5));
  await until(async () => (await get(`127.0.0.1:${port}`, '/').catch(() => ({ status: 0 }))).status === 200, 5000, 'the app');
  return port;
}
