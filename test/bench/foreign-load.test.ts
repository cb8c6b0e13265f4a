import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ForeignLoad, cpuTicks } from '../../bench/lib/proc-stats.js';

describe('other load on the server CPU', () => {
  it('reads busy and total ticks of one CPU', () => {
    const t = cpuTicks('0');
    expect(t.total).toBeGreaterThan(0);
    expect(t.busy).toBeLessThanOrEqual(t.total);
  });

  it('counts a busy process that is not under test as foreign load', async () => {
    const foreign = new ForeignLoad('0', [process.pid + 1_000_000]); // nothing of ours is "under test"
    const spinner = spawn('taskset', ['-c', '0', process.execPath, '-e', 'const end = Date.now() + 600; while (Date.now() < end);'], { stdio: 'ignore' });
    await once(spinner, 'exit');
    const pct = foreign.stop();
    expect(pct).toBeGreaterThan(50);
    expect(pct).toBeLessThanOrEqual(100);
  });
});
