import { pino } from 'pino';
import type { Logger } from '../../../src/shared/log.js';

/** A logger whose entries land in `entries`, parsed. */
export function captureLogger(): { logger: Logger; entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void entries.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, entries };
}
