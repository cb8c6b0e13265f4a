/** Reading a config file from disk: the thin shell around parseConfig. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { realClock, type Clock } from '../shared/clock.js';
import { parseConfig, type ConfigResult } from './parse.js';
import type { ConfigEnv } from './types.js';

export { formatProblem, parseConfig, type ConfigResult } from './parse.js';

/** A config that cannot be used: one `file:line:col: message` line per problem (the CLI prints them and exits 1). */
export class ConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

/** The files a parse read besides the config text (the `tls:` certificates and keys): absolute path → digest of what it read. */
export type ReadFiles = ReadonlyMap<string, string>;

/** The digest a watcher compares; `null` (unreadable) has one of its own. */
export function digest(content: string | Buffer | null): string {
  return content === null ? 'missing' : createHash('sha256').update(content).digest('hex');
}

/** The disk and the clock, for parseConfig; every file read is noted in `seen`. */
export function diskEnv(now: number, seen?: Map<string, string>): ConfigEnv {
  return {
    now,
    readFile(absolutePath: string): Buffer {
      try {
        const bytes = readFileSync(absolutePath);
        seen?.set(absolutePath, digest(bytes));
        return bytes;
      } catch (err) {
        seen?.set(absolutePath, digest(null));
        throw err;
      }
    },
  };
}

/** parseConfig with the disk and the clock, and the files it read. */
export function parseFromDisk(text: string, file: string, absolutePath: string, now: number): { result: ConfigResult; files: ReadFiles } {
  const files = new Map<string, string>();
  return { result: parseConfig(text, file, absolutePath, diskEnv(now, files)), files };
}

/**
 * A config as loaded, with the exact text it was parsed from (null when the
 * file could not be read) and the digests of the TLS files it read: a
 * watcher started later compares with these.
 */
export type LoadedConfig = ConfigResult & { readonly text: string | null; readonly files: ReadFiles };

/**
 * Reads and parses a config file. The text comes back too: a watcher started
 * later must compare the file with what was loaded, not with what the file
 * holds by then (an edit in between would otherwise never be applied).
 * `clock` dates the certificate warnings.
 */
export async function loadConfigFile(file: string, clock: Clock = realClock): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    return { ok: false, problems: [{ file, line: 1, col: 1, message: `cannot read the config file: ${reason}` }], text: null, files: new Map() };
  }
  const { result, files } = parseFromDisk(text, file, path.resolve(file), clock.now());
  return { ...result, text, files };
}
