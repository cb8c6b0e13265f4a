/**
 * How a target's work spreads over its processes during one run: the client
 * connections each process holds on the data port, and its share of the
 * target's CPU time. With `serve --workers 2` the kernel's SO_REUSEPORT hash
 * should hand each loop about half of the connections; if one loop held
 * them all, a second worker could not help and the figures would say so.
 * nginx's workers share one listening socket and take turns accepting.
 */
import fs from 'node:fs';
import { allStats, treeOf } from './proc-stats.js';

/**
 * Inodes of the ESTABLISHED sockets whose local port is `port`, from the
 * texts of /proc/net/tcp and tcp6: the server ends of the clients'
 * connections (a proxy's own connections to the backend have other local
 * ports). Exported for tests.
 */
export function establishedInodes(tables, port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  for (const text of tables) {
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = f[1];
      if (f[3] === '01' && local.slice(local.lastIndexOf(':') + 1) === hexPort) inodes.add(f[9]);
    }
  }
  return inodes;
}

function readOr(file, fallback) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** Socket inodes among a process's open files (none when it has exited). */
function socketInodes(pid) {
  const inodes = [];
  let fds;
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.push(m[1]);
    } catch {
      // closed between readdir and readlink
    }
  }
  return inodes;
}

/** Client connections on `port` held by each of `pids`. */
export function connectionsByPid(pids, port) {
  const open = establishedInodes([readOr('/proc/net/tcp', ''), readOr('/proc/net/tcp6', '')], port);
  const out = new Map();
  for (const pid of pids) out.set(pid, socketInodes(pid).filter((i) => open.has(i)).length);
  return out;
}

function treeTicks(roots) {
  const stats = allStats();
  const ticks = new Map();
  for (const r of roots) for (const pid of treeOf(stats, r)) ticks.set(pid, stats.get(pid).ticks);
  return ticks;
}

/**
 * Watches the process trees of `roots` while a load runs against `port`:
 * connections are counted every `everyMs` and the sample with the most of
 * them kept (the load's connections all open); stop() returns one entry per
 * process in pid order (the main process or nginx master first):
 * { pid, conns, cpuShare } with cpuShare the fraction of the tree's CPU time.
 */
export class LoopSpread {
  constructor(roots, port, everyMs = 500) {
    this.roots = roots;
    this.port = port;
    this.startTicks = treeTicks(roots);
    this.best = new Map();
    this.bestTotal = -1;
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample() {
    const conns = connectionsByPid([...treeTicks(this.roots).keys()], this.port);
    const total = [...conns.values()].reduce((a, b) => a + b, 0);
    if (total > this.bestTotal) {
      this.best = conns;
      this.bestTotal = total;
    }
  }

  stop() {
    clearInterval(this.timer);
    const end = treeTicks(this.roots);
    const used = new Map([...end].map(([pid, t]) => [pid, Math.max(0, t - (this.startTicks.get(pid) ?? 0))]));
    const all = [...used.values()].reduce((a, b) => a + b, 0);
    return [...used.keys()]
      .sort((a, b) => a - b)
      .map((pid) => ({ pid, conns: this.best.get(pid) ?? 0, cpuShare: all > 0 ? (used.get(pid) ?? 0) / all : NaN }));
  }
}
