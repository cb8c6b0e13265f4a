/**
 * tidegate serving a scale-to-zero `command` revision (bench/cold-app.js),
 * for the cold-start suites: start it, read /status, wait for zero pods.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, waitFor } from './http.js';
import { startProcess, stopProcess } from './procs.js';
import { freePort, ROOT } from './targets.js';
import { tidegateColdConfig } from './configs.js';

export const COLD_HOST = 'cold.example.com';
export const COLD_REVISION = 'cold-00001';

export async function startColdTidegate({ cpus, dir, name = 'tidegate-cold', maxScale }) {
  const readyFile = path.join(dir, `${name}-ready.log`);
  fs.writeFileSync(readyFile, '');
  const configFile = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(configFile, tidegateColdConfig({ appPath: path.join(ROOT, 'bench', 'cold-app.js'), readyFile, maxScale }));
  const [port, adminPort] = [await freePort(), await freePort()];
  const proc = await startProcess({
    name,
    cmd: process.execPath,
    args: [path.join(ROOT, 'dist', 'cli.js'), 'serve', '--config', configFile, '--port', String(port), '--admin-port', String(adminPort)],
    cpus,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    logFile: path.join(dir, `${name}.log`),
  });
  const target = { name, port, adminPort, host: COLD_HOST, readyFile, roots: [proc.pid], procs: [proc], stop: () => stopProcess(proc, 10_000) };
  try {
    await Promise.race([
      waitFor({ port: adminPort, path: '/readyz' }, (r) => r.status === 200, 20_000),
      proc.exited.then((e) => Promise.reject(new Error(`${name} exited (${e.code ?? e.signal}); see ${proc.logFile}`))),
    ]);
  } catch (err) {
    await target.stop();
    throw err;
  }
  return target;
}

/** The revision's entry in GET /status (DESIGN.md shape), or undefined. */
export async function revisionStatus(target, revision = COLD_REVISION) {
  const r = await request({ port: target.adminPort, path: '/status', timeoutMs: 5000 });
  if (r.status !== 200) throw new Error(`GET /status: ${r.status}`);
  return JSON.parse(r.body).revisions?.find((x) => x.name === revision);
}

/** Polls /status until the revision has no ready pod (and no pod at all), up to `timeoutMs`. */
export async function waitForZeroPods(target, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await revisionStatus(target).catch((err) => ({ error: err.message }));
    if (last && last.readyPods === 0 && (last.pods?.length ?? 0) === 0) return last;
    if (Date.now() > deadline) throw new Error(`revision ${COLD_REVISION} still has pods after ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await sleep(200);
  }
}

/** `ready` lines the cold app appended to the ready file from byte `offset` on. */
export function readyLines(file, offset) {
  const text = fs.readFileSync(file, 'utf8').slice(offset);
  return text
    .split('\n')
    .map((l) => /^ready ([\d.]+) ([\d.]+) (\d+)/.exec(l))
    .filter(Boolean)
    .map((m) => ({ readyAt: Number(m[1]), startedAt: Number(m[2]), pid: Number(m[3]) }));
}
