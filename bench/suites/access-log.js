/**
 * Suite `access-log`: the same static revision behind `tidegate serve`
 * with and without `--access-log`, side by side on the same CPU. The log
 * goes to a file in the run's temp dir (stdout opened on it), so writing it
 * costs the server, as in production, and not this harness. Goal: the
 * access log costs at most 10 % of small-GET throughput.
 */
import path from 'node:path';
import { startTidegate } from '../lib/targets.js';
import { runThroughputSuite } from './throughput.js';

export function run(ctx) {
  const { settings, dir } = ctx;
  return runThroughputSuite(ctx, {
    suite: 'access-log',
    note: 'Targets: `direct`; `tidegate` (one static revision, no access log); `tidegate-access-log` (the same with `--access-log`, stdout on a file in the temp dir).',
    scenarioNames: ['get-100c'],
    starters: [
      (b) => startTidegate({ cpus: settings.serverCpus, dir, endpoints: [`127.0.0.1:${b.port}`] }),
      (b) =>
        startTidegate({
          cpus: settings.serverCpus,
          dir,
          endpoints: [`127.0.0.1:${b.port}`],
          name: 'tidegate-access-log',
          args: ['--access-log'],
          stdoutFile: path.join(dir, 'tidegate-access-log.stdout.jsonl'),
        }),
    ],
    goals: [{ scenario: 'get-100c', target: 'tidegate-access-log', base: 'tidegate', min: 0.9, label: 'target ≥ 0.9 × tidegate' }],
  });
}
