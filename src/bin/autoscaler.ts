/**
 * `tidegate autoscaler --config FILE --redis URL`: the control loop and the
 * actuators alone, for running beside edges that share the Redis. Several
 * replicas may run; the 'autoscaler' lease lets exactly one act. Reloads
 * the config when the file changes; SIGTERM/SIGINT stop the loop, hand the
 * lease back and exit 0.
 */
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { formatProblem, loadConfigFile } from '../config/load.js';
import { watchConfig } from '../config/watch.js';
import { createActuator } from '../actuators/index.js';
import { exitOnSignal } from '../shared/signals.js';
import { AutoscalerRunner } from '../autoscaler/runner.js';
import { realClock } from '../shared/clock.js';
import { createLogger } from '../shared/log.js';
import { createStore } from '../store/index.js';

export async function main(values: Record<string, string | boolean | undefined>): Promise<number> {
  const str = (k: string) => (typeof values[k] === 'string' ? values[k] : undefined);
  // cli/flags.ts has checked these and filled them in from TIDEGATE_CONFIG / REDIS_URL.
  const configFile = str('config');
  const redisUrl = str('redis');
  if (!configFile) {
    process.stderr.write('tidegate autoscaler: --config FILE (or TIDEGATE_CONFIG) is required\nusage: tidegate autoscaler --config FILE --redis URL\n');
    return 2;
  }
  if (!redisUrl) {
    process.stderr.write(
      'tidegate autoscaler: --redis URL (or REDIS_URL) is required: a separate autoscaler shares pods, stats and the lease with the edges through Redis (without Redis, `tidegate serve` runs the autoscaler itself)\n',
    );
    return 2;
  }
  const loaded = await loadConfigFile(configFile);
  if (!loaded.ok) {
    for (const p of loaded.problems) process.stderr.write(`${formatProblem(p)}\n`);
    return 1;
  }
  let config = loaded.config;
  const clock = realClock;
  const logger = createLogger('tidegate-autoscaler');
  const holder = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  // As serve does: what started is undone, newest first, if a later step fails, so nothing is left running.
  const undo: Array<() => unknown> = [];
  let shutdown: () => Promise<void>;
  try {
    const store = await createStore({ redisUrl, clock, logger });
    undo.push(() => store.close());
    const actuator = createActuator({
      config: () => config,
      store,
      clock,
      logger,
      redisUrl,
      // As `serve` does: a config in <project>/config/ runs pod commands from <project>.
      cwd: path.dirname(path.dirname(path.resolve(configFile))),
    });
    undo.push(() => actuator.close());
    const runner = new AutoscalerRunner({ store, actuator, clock, logger, config: () => config, holder, lease: true });
    runner.start();
    undo.push(() => runner.stop());
    const watcher = watchConfig(configFile, {
      onConfig: (next) => {
        config = next;
        logger.info({ file: configFile, revisions: next.revisions.size }, 'config reloaded');
      },
      onProblems: (problems) => {
        for (const p of problems) logger.error({ file: p.file, line: p.line, col: p.col }, `config reload refused: ${formatProblem(p)}`);
      },
    }, { loadedText: loaded.text });
    shutdown = async () => {
      watcher.close();
      await runner.stop(); // hands the lease back, so a standby takes over at its next tick
      await actuator.close();
      await store.close();
    };
  } catch (err) {
    for (const step of undo.reverse()) await Promise.resolve().then(step).catch(() => undefined);
    logger.flush();
    process.stderr.write(`tidegate autoscaler: ${(err as Error).message}\n`);
    return 1;
  }
  logger.info({ config: configFile, redis: redisUrl, holder }, 'tidegate autoscaler running');

  exitOnSignal(logger, shutdown);
  return -1;
}
