import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEdge, type TestEdge } from '../support/serve.js';
import { freePort } from '../support/ports.js';
import { ensureBuilt } from './support/build.js';
import { FIXTURE_APP, alive, get, until } from './support/revision.js';
import { CLI } from '../support/cli.js';

let built = false;
let edge: TestEdge | null = null;

beforeAll(async () => {
  built = await ensureBuilt([CLI, path.resolve('dist/bin/serve.js')]);
}, 100_000);

afterEach(async () => {
  await edge?.close();
  edge = null;
});

function yaml(minScale: number): string {
  return `domain: example.com
services:
  - name: app
    revisions:
      - name: app-00001
        command: ["${process.execPath}", "${FIXTURE_APP}"]
        annotations:
          autoscaling.knative.dev/min-scale: "${minScale}"
          autoscaling.knative.dev/initial-scale: "${minScale}"
    traffic: [{ revisionName: app-00001, percent: 100 }]
`;
}

async function podPids(addresses: string[]): Promise<number[]> {
  return Promise.all(addresses.map(async (a) => (JSON.parse((await get(a, '/__fixture/stats')).body) as { pid: number }).pid));
}

describe('serve with local pods', () => {
  it('replaces a pod killed under load, and keeps answering', async () => {
    edge = await startEdge(yaml(2));
    const e = edge;
    const ready = async () => (await e.store.listPods('app-00001')).filter((p) => p.ready);
    await until(async () => (await ready()).length === 2, 10_000, 'two ready pods');
    const before = await ready();
    const [victimPid] = await podPids([before[0]!.address]);

    const statuses: number[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) statuses.push((await e.get('app.example.com', '/?sleep=5')).status);
    };
    const load = Promise.all([worker(), worker(), worker(), worker()]);
    await until(() => statuses.length >= 20, 5000, 'load to start');
    process.kill(victimPid!, 'SIGKILL');
    await until(async () => {
      const now = await ready();
      return now.length === 2 && !now.some((p) => p.id === before[0]!.id);
    }, 10_000, 'a replacement pod');
    const atReplacement = statuses.length;
    await until(() => statuses.length >= atReplacement + 40, 5000, 'more load on the replacement');
    stop = true;
    await load;
    // Idempotent requests are retried on the other pod: the crash should cost (almost) nothing.
    const failed = statuses.filter((s) => s !== 200).length;
    expect(failed).toBeLessThanOrEqual(4);
    expect(statuses.slice(atReplacement).every((s) => s === 200)).toBe(true);
  });

  it('leaves no process behind when the serve process is SIGKILLed', async (ctx) => {
    if (!built) ctx.skip(`${CLI} was not built (tsc failed to emit)`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-serve-kill-'));
    const file = path.join(dir, 'tidegate.yaml');
    fs.writeFileSync(file, yaml(2));
    const [port, adminPort] = [await freePort(), await freePort()];
    const serve = spawn(process.execPath, [CLI, 'serve', '--config', file, '--port', String(port), '--admin-port', String(adminPort)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
    let log = '';
    serve.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      let pods: string[] = [];
      await until(async () => {
        try {
          const status = JSON.parse((await get(`127.0.0.1:${adminPort}`, '/status')).body) as { revisions: { pods: { address: string; ready: boolean }[] }[] };
          pods = status.revisions.flatMap((r) => r.pods.filter((p) => p.ready).map((p) => p.address));
          return pods.length === 2;
        } catch {
          return false;
        }
      }, 15_000, 'serve with two ready pods');
      const pids = await podPids(pods);
      expect(pids.every(alive)).toBe(true);
      serve.kill('SIGKILL');
      await until(() => pids.every((pid) => !alive(pid)), 8000, 'every pod to exit');
    } catch (err) {
      throw new Error(`${(err as Error).message}\nserve log:\n${log.slice(-3000)}`, { cause: err });
    } finally {
      if (serve.exitCode === null) serve.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
