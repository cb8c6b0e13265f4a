/**
 * Child processes for the benchmark: each service runs in its own session
 * (so it and everything it spawns can be signalled as one process group),
 * optionally pinned to CPUs with taskset, with its output in a log file.
 * Every process started here is stopped when the harness ends, also on
 * Ctrl-C or an uncaught error.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const live = new Set();

let hasTasksetCache;
export function hasTaskset() {
  hasTasksetCache ??= spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  return hasTasksetCache;
}

/** Command line wrapped in `taskset -c CPUS` when pinning is asked for and possible. */
export function pinned(cpus, cmd, args) {
  if (cpus === undefined || cpus === null || !hasTaskset()) return { cmd, args };
  return { cmd: 'taskset', args: ['-c', String(cpus), cmd, ...args] };
}

/**
 * Starts `cmd args` detached (own session: pid = process group id).
 * Resolves once it is spawned; `onLine` sees each stdout line (e.g. to learn
 * a port). Output also goes to `logFile`; `stdoutFile` takes stdout straight
 * from the process instead (no pipe through this harness, which shares the
 * load generator's CPU), for output the size of an access log.
 */
export function startProcess({ name, cmd, args, cpus, env, cwd, logFile, onLine, stdoutFile }) {
  const p = pinned(cpus, cmd, args);
  const stdoutFd = stdoutFile ? fs.openSync(stdoutFile, 'a') : null;
  const child = spawn(p.cmd, p.args, {
    detached: true,
    stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    ...(cwd ? { cwd } : {}),
  });
  const log = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : null;
  let buffered = '';
  if (stdoutFd !== null) fs.closeSync(stdoutFd); // the child holds its own copy
  child.stdout?.on('data', (chunk) => {
    log?.write(chunk);
    if (!onLine) return;
    buffered += chunk.toString('utf8');
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  });
  child.stderr.on('data', (chunk) => log?.write(chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const proc = { name, pid: child.pid, child, exited, exitInfo: null, logFile };
  void exited.then((info) => {
    proc.exitInfo = info;
    live.delete(proc);
    log?.end();
  });
  return new Promise((resolve, reject) => {
    child.once('spawn', () => {
      live.add(proc);
      resolve(proc);
    });
    child.once('error', (err) => reject(new Error(`${name}: cannot start ${p.cmd}: ${err.message}`)));
  });
}

/** Like startProcess, but resolves with the port once the process prints `listening PORT`. */
export async function startListening(opts, timeoutMs = 10_000) {
  let onPort;
  const portSeen = new Promise((resolve) => (onPort = resolve));
  const proc = await startProcess({
    ...opts,
    onLine: (line) => {
      const m = /^listening (\d+)/.exec(line);
      if (m) onPort(Number(m[1]));
    },
  });
  const port = await Promise.race([
    portSeen,
    proc.exited.then((e) => Promise.reject(new Error(`${opts.name} exited (${e.code ?? e.signal}) before listening; see ${opts.logFile}`))),
    sleep(timeoutMs).then(() => Promise.reject(new Error(`${opts.name} did not listen within ${timeoutMs} ms; see ${opts.logFile}`))),
  ]);
  return { proc, port };
}

function signalGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    return false; // the group is gone already
  }
}

/** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves once the leader is reaped. */
export async function stopProcess(proc, graceMs = 5000) {
  if (proc.exitInfo) {
    signalGroup(proc.pid, 'SIGKILL'); // leftovers of a leader that already exited
    return proc.exitInfo;
  }
  signalGroup(proc.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(proc.pid, 'SIGKILL'), graceMs);
  const info = await proc.exited;
  clearTimeout(timer);
  signalGroup(proc.pid, 'SIGKILL'); // anything of the group still around
  return info;
}

export async function stopAll() {
  await Promise.all([...live].map((p) => stopProcess(p)));
}

/** Call once: whatever happens, leave no process behind. */
export function installCleanup() {
  // 'exit' handlers must be synchronous: there, only SIGKILL is possible.
  process.on('exit', () => {
    for (const p of live) signalGroup(p.pid, 'SIGKILL');
  });
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`\nbench: ${sig}, stopping services…\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}
