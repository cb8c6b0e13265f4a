import type { Logger } from './log.js';

/**
 * SIGTERM/SIGINT → run `shutdown` once, then exit 0 (or 1 if it failed).
 * Every long-running command (serve, queue-proxy, autoscaler) ends this way.
 */
export function exitOnSignal(logger: Logger, shutdown: () => Promise<unknown>): void {
  let stopping = false;
  const stop = (signal: string) => {
    logger.info({ signal }, 'signal received');
    if (stopping) return;
    stopping = true;
    shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
