/**
 * Memory and CPU of a process tree, read from /proc: RSS summed over the
 * root, its descendants and its session (a daemon's workers, a proxy's pods),
 * CPU as utime+stime ticks. A Sampler polls every 200 ms to catch the peak.
 */
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';

function conf(name, fallback) {
  const out = spawnSync('getconf', [name], { encoding: 'utf8' });
  const n = Number(out.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
const PAGE = conf('PAGESIZE', 4096);
const HZ = conf('CLK_TCK', 100);

/**
 * Fields of /proc/PID/stat after the command name, which may hold spaces and
 * parentheses, so split after the last ')'. Exported for tests.
 */
export function parseStat(text) {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): field N is rest[N - 3].
  return { ppid: Number(rest[1]), sid: Number(rest[3]), ticks: Number(rest[11]) + Number(rest[12]), rssPages: Number(rest[21]) };
}

/** pid → parseStat fields of every process now. */
export function allStats() {
  const out = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.set(Number(name), parseStat(fs.readFileSync(`/proc/${name}/stat`, 'utf8')));
    } catch {
      // it exited between readdir and read
    }
  }
  return out;
}

/** Pids of `root`'s tree and session in a /proc snapshot. */
export function treeOf(stats, root) {
  const members = new Set();
  if (stats.has(root)) members.add(root);
  for (const [pid, s] of stats) if (s.sid === root) members.add(pid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, s] of stats) {
      if (!members.has(pid) && members.has(s.ppid)) {
        members.add(pid);
        grew = true;
      }
    }
  }
  return members;
}

/** { rssBytes, cpuSeconds, pids } of each root's tree, summed over the roots. */
export function measure(roots) {
  const stats = allStats();
  const pids = new Set();
  for (const r of roots) for (const p of treeOf(stats, r)) pids.add(p);
  let rssPages = 0;
  let ticks = 0;
  for (const p of pids) {
    const s = stats.get(p);
    rssPages += s.rssPages;
    ticks += s.ticks;
  }
  return { rssBytes: rssPages * PAGE, cpuSeconds: ticks / HZ, pids: pids.size };
}

/** Samples the trees of `roots` every `everyMs`; stop() gives start/peak RSS and CPU used. */
export class Sampler {
  constructor(roots, everyMs = 200) {
    this.roots = roots;
    this.first = measure(roots);
    this.peakRss = this.first.rssBytes;
    this.last = this.first;
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample() {
    this.last = measure(this.roots);
    if (this.last.rssBytes > this.peakRss) this.peakRss = this.last.rssBytes;
  }

  stop() {
    clearInterval(this.timer);
    this.sample();
    return {
      rssStartBytes: this.first.rssBytes,
      rssPeakBytes: this.peakRss,
      rssEndBytes: this.last.rssBytes,
      cpuSeconds: Math.max(0, this.last.cpuSeconds - this.first.cpuSeconds),
    };
  }
}

/** Busy and total ticks of the listed CPUs (e.g. "1" or "0,1") from /proc/stat. */
export function cpuTicks(cpus) {
  const wanted = new Set(String(cpus).split(',').map((c) => `cpu${c.trim()}`));
  let busy = 0;
  let total = 0;
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const [name, ...f] = line.split(/\s+/);
    if (!wanted.has(name)) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f.map(Number);
    busy += user + nice + system + irq + softirq + steal;
    total += user + nice + system + idle + iowait + irq + softirq + steal;
  }
  return { busy, total };
}

/**
 * CPU ticks of the roots' trees, with what the roots' children that ended
 * used (cutime + cstime of each root, once it reaped them): a load generator
 * started by the harness has exited by the time a run's figures are read.
 */
function ownTicks(roots) {
  let reaped = 0;
  for (const r of roots) {
    try {
      const text = fs.readFileSync(`/proc/${r}/stat`, 'utf8');
      const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
      reaped += Number(rest[13]) + Number(rest[14]); // fields 16 and 17
    } catch {
      // it exited
    }
  }
  return measure(roots).cpuSeconds * HZ + reaped;
}

/**
 * How busy the server CPUs were with processes *not* under test, in % of
 * those CPUs, between two snapshots: the machine's noise during a run.
 */
export class ForeignLoad {
  constructor(cpus, ownRoots) {
    this.cpus = cpus;
    this.ownRoots = ownRoots;
    this.start = cpuTicks(cpus);
    this.ownStart = ownTicks(ownRoots);
  }

  stop() {
    const end = cpuTicks(this.cpus);
    const own = ownTicks(this.ownRoots) - this.ownStart;
    const total = end.total - this.start.total;
    return total > 0 ? Math.max(0, ((end.busy - this.start.busy - own) / total) * 100) : NaN;
  }
}
