import type { Readable } from 'node:stream';
import type { Logger } from '../shared/log.js';

/** Longest line kept whole; a child that never writes a newline cannot grow our memory. */
const MAX_LINE = 16 * 1024;

/** Forwards a child's stdout or stderr to the logger, one entry per line; `onData` hears of every chunk. */
export function pipeLines(stream: Readable, logger: Logger, fields: Readonly<Record<string, string>>, onData?: () => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  const emit = (line: string) => {
    if (line.length > 0) logger.info(fields, line);
  };
  stream.on('data', (chunk: string) => {
    onData?.();
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      emit(pending.slice(0, nl).replace(/\r$/, ''));
      pending = pending.slice(nl + 1);
    }
    if (pending.length > MAX_LINE) {
      emit(pending);
      pending = '';
    }
  });
  stream.on('end', () => emit(pending));
  stream.on('error', () => undefined); // the child went away; its exit is reported elsewhere
}
