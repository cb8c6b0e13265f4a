/**
 * The things a load generator is pointed at. Every server-side process runs
 * on the server CPUs (layout "pinned": load generator on cpu 0, proxy and
 * backend share cpu 1), so direct and proxied runs get the same CPU budget.
 * A target is { name, port, host, roots (pids whose trees are measured),
 * stop() }, or { name, skipped: reason }.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startListening, startProcess, stopProcess } from './procs.js';
import { waitFor } from './http.js';
import { BODY } from './backend-body.js';
import { BENCH_HOST, nginxConfig, tidegateStaticConfig, tidegateWarmConfig } from './configs.js';
import { HAPROXY, haproxyConfig } from './haproxy.js';

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.dirname(BENCH_DIR);
const CLI = path.join(ROOT, 'dist', 'cli.js');
export const NGINX = '/usr/sbin/nginx';

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The backend; as a target it is "direct". */
export async function startBackend({ cpus, dir, flavour = 'uws', name = 'backend' }) {
  const { proc, port } = await startListening({
    name,
    cmd: process.execPath,
    args: [path.join(BENCH_DIR, 'backend.js'), '--port', '0', '--flavour', flavour],
    cpus,
    logFile: path.join(dir, `${name}.log`),
  });
  return { name: 'direct', port, host: undefined, roots: [proc.pid], procs: [proc], stop: () => stopProcess(proc) };
}

/** Whether edge → backend works: the backend's own body comes back through it. */
const answersBody = (r) => r.status === 200 && r.body === BODY;

/** Waits until `where` answers with the backend's body; if `proc` exits first or the wait times out, `stop` runs and the error goes on. */
async function answering(proc, where, timeoutMs, stop) {
  try {
    await Promise.race([
      waitFor(where, answersBody, timeoutMs),
      proc.exited.then((e) => Promise.reject(new Error(`${proc.name} exited (${e.code ?? e.signal}); see ${proc.logFile}`))),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * NODE_ARGS: node flags (e.g. V8's) for the build under test only, not a
 * BASELINE's, so one run measures the build with and without them.
 */
const NODE_ARGS = (process.env.NODE_ARGS ?? '').split(/\s+/).filter(Boolean);

/** `tidegate serve` with a static revision at `endpoints` (or the given config text). */
export async function startTidegate({ cpus, dir, endpoints, name = 'tidegate', extraRoots = [], extraProcs = [], configText, cli = CLI, args = [], stdoutFile }) {
  const configFile = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(configFile, configText ?? tidegateStaticConfig(endpoints));
  const [port, adminPort] = [await freePort(), await freePort()];
  const proc = await startProcess({
    name,
    cmd: process.execPath,
    args: [...(cli === CLI ? NODE_ARGS : []), cli, 'serve', '--config', configFile, '--port', String(port), '--admin-port', String(adminPort), ...args],
    cpus,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    logFile: path.join(dir, `${name}.log`),
    stdoutFile,
  });
  const target = {
    name,
    port,
    adminPort,
    host: BENCH_HOST,
    roots: [proc.pid, ...extraRoots],
    procs: [proc, ...extraProcs],
    stop: async () => {
      for (const p of [proc, ...extraProcs]) await stopProcess(p);
    },
  };
  await answering(proc, { port, host: BENCH_HOST }, 20_000, target.stop);
  return target;
}

/** edge → `tidegate queue-proxy` → backend: the Knative-shaped path. */
export async function startTidegateQp({ cpus, dir, backendPort }) {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'bin', 'queue-proxy.js'))) {
    return { name: 'tidegate-qp', skipped: 'dist/bin/queue-proxy.js is missing (queue-proxy not built yet)' };
  }
  const qpPort = await freePort();
  const qp = await startProcess({
    name: 'queue-proxy',
    cmd: process.execPath,
    args: [CLI, 'queue-proxy', '--revision', 'bench-00001', '--upstream', `127.0.0.1:${backendPort}`, '--port', String(qpPort), '--admin-port', '0', '--drain-seconds', '0'],
    cpus,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    logFile: path.join(dir, 'queue-proxy.log'),
  });
  await answering(qp, { port: qpPort }, 20_000, () => stopProcess(qp));
  return startTidegate({ cpus, dir, endpoints: [`127.0.0.1:${qpPort}`], name: 'tidegate-qp', extraRoots: [qp.pid], extraProcs: [qp] });
}

/** edge → edge → backend: the cost of one more edge hop, to weigh the queue-proxy hop against. */
export async function startTidegateTwoHops({ cpus, dir, backendPort }) {
  const inner = await startTidegate({ cpus, dir, endpoints: [`127.0.0.1:${backendPort}`], name: 'tidegate-inner' });
  try {
    return await startTidegate({ cpus, dir, endpoints: [`127.0.0.1:${inner.port}`], name: 'tidegate-2hop', extraRoots: inner.roots, extraProcs: inner.procs });
  } catch (err) {
    await inner.stop();
    throw err;
  }
}

/**
 * tidegate running the bench backend itself as a warm `command` revision
 * (local actuator, min-scale 1, activator out of the path once ready).
 */
export async function startTidegateWarm({ cpus, dir }) {
  const target = await startTidegate({ cpus, dir, name: 'tidegate-warm', configText: tidegateWarmConfig({ backendPath: path.join(BENCH_DIR, 'backend.js') }) });
  const revOf = (r) => (r.status === 200 ? JSON.parse(r.body).revisions?.find((x) => x.name === 'bench-00001') : undefined);
  try {
    const rev = revOf(await waitFor({ port: target.adminPort, path: '/status' }, (r) => revOf(r)?.activatorInPath === false, 15_000, 200));
    target.note = `readyPods ${rev.readyPods}, activatorInPath ${rev.activatorInPath}`;
  } catch (err) {
    await target.stop();
    throw new Error(`tidegate-warm: the activator did not leave the path: ${err.message}`, { cause: err });
  }
  return target;
}

/** nginx with `workers` worker processes (default 1) and upstream keepalive, when installed; its files under dir/<name>; `extra` goes inside `http {}`. */
export async function startNginx({ cpus, dir, backendPort, connections, workers = 1, name = 'nginx', extra }) {
  if (!fs.existsSync(NGINX)) return { name, skipped: `${NGINX} is not installed` };
  const ngDir = path.join(dir, name);
  fs.mkdirSync(ngDir, { recursive: true });
  fs.chmodSync(ngDir, 0o777); // workers drop to an unprivileged user when started as root
  const port = await freePort();
  const conf = path.join(ngDir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfig({ port, backendPort, dir: ngDir, connections, workers, extra }));
  const proc = await startProcess({ name, cmd: NGINX, args: ['-c', conf, '-p', ngDir, '-e', path.join(ngDir, 'nginx-error.log')], cpus, logFile: path.join(dir, `${name}.log`) });
  const target = { name, port, host: undefined, roots: [proc.pid], procs: [proc], stop: () => stopProcess(proc) };
  await answering(proc, { port }, 10_000, target.stop);
  return target;
}

/** haproxy (bench/lib/haproxy.js: one thread, keep-alive to the backend), when installed; its files under dir/<name>. */
export async function startHaproxy({ cpus, dir, backendPort, connections, name = 'haproxy' }) {
  if (!fs.existsSync(HAPROXY)) return { name, skipped: `${HAPROXY} is not installed` };
  const hpDir = path.join(dir, name);
  fs.mkdirSync(hpDir, { recursive: true });
  const port = await freePort();
  const conf = path.join(hpDir, 'haproxy.cfg');
  fs.writeFileSync(conf, haproxyConfig({ port, backendPort, connections }));
  // -db: stay in the foreground, one process (no master), so the pid measured is the one proxying.
  const proc = await startProcess({ name, cmd: HAPROXY, args: ['-db', '-f', conf], cpus, cwd: hpDir, logFile: path.join(dir, `${name}.log`) });
  const target = { name, port, host: undefined, roots: [proc.pid], procs: [proc], stop: () => stopProcess(proc) };
  await answering(proc, { port }, 10_000, target.stop);
  return target;
}
