import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ForeignLoad } from '../../bench/lib/proc-stats.js';

describe('other load on the server CPU, with a load generator that has ended', () => {
  it('counts a child that ran and exited during the run as ours, not as foreign', async () => {
    // Both watch cpu 0 over the same interval, so the machine's own noise is the same in each.
    const counting = new ForeignLoad('0', [process.pid]);
    const ignoring = new ForeignLoad('0', [process.pid + 1_000_000]);
    const spinner = spawn('taskset', ['-c', '0', process.execPath, '-e', 'const end = Date.now() + 600; while (Date.now() < end);'], { stdio: 'ignore' });
    await once(spinner, 'exit'); // reaped: its CPU time is now in this process's cutime, the tree no longer has it
    const [withOurs, withoutOurs] = [counting.stop(), ignoring.stop()];
    expect(withoutOurs - withOurs).toBeGreaterThan(40);
  });
});
