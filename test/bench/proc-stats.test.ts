import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { measure, parseStat, treeOf } from '../../bench/lib/proc-stats.js';

describe('process tree stats from /proc', () => {
  it('parses a stat line whose command name holds spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3)); // field N holds N
    const s = parseStat(`4242 (a (weird) name) ${['S', ...fields.slice(1)].join(' ')}`);
    expect(s).toEqual({ ppid: 4, sid: 6, ticks: 14 + 15, rssPages: 24 });
  });

  it('finds descendants through ppid and members of the session', () => {
    const stats = new Map([
      [10, { ppid: 1, sid: 10, ticks: 0, rssPages: 0 }],
      [11, { ppid: 10, sid: 11, ticks: 0, rssPages: 0 }], // detached child (own session)
      [12, { ppid: 11, sid: 11, ticks: 0, rssPages: 0 }], // grandchild
      [13, { ppid: 1, sid: 10, ticks: 0, rssPages: 0 }], // reparented to init, same session
      [14, { ppid: 1, sid: 14, ticks: 0, rssPages: 0 }], // unrelated
    ]);
    expect([...treeOf(stats, 10)].sort()).toEqual([10, 11, 12, 13]);
  });

  let child: ReturnType<typeof spawn> | undefined;
  afterEach(() => {
    if (child?.pid) process.kill(-child.pid, 'SIGKILL');
  });

  it('counts the memory of a grandchild in its root process tree', async () => {
    // The root spawns a grandchild that holds 80 MiB and says so.
    const grandchild = `const b = Buffer.alloc(80 * 2 ** 20, 1); console.log('held'); setInterval(() => b[0]++, 1000);`;
    const root = `const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'inherit' }); setInterval(() => {}, 1000);`;
    child = spawn(process.execPath, ['-e', root], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    await once(child.stdout!, 'data');
    const m = measure([child.pid!]);
    expect(m.pids).toBe(2);
    expect(m.rssBytes).toBeGreaterThan(80 * 2 ** 20);
  });
});
