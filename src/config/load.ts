/** Reading a config file from disk: the thin shell around parseConfig. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseConfig, type ConfigResult } from './parse.js';

export { formatProblem, parseConfig, type ConfigResult } from './parse.js';

/** A config as loaded, with the exact text it was parsed from (null when the file could not be read). */
/** A config that cannot be used: one `file:line:col: message` line per problem (the CLI prints them and exits 1). */
export class ConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

export type LoadedConfig = ConfigResult & { readonly text: string | null };

/**
 * Reads and parses a config file. The text comes back too: a watcher started
 * later must compare the file with what was loaded, not with what the file
 * holds by then (an edit in between would otherwise never be applied).
 */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    return { ok: false, problems: [{ file, line: 1, col: 1, message: `cannot read the config file: ${reason}` }], text: null };
  }
  return { ...parseConfig(text, file, path.resolve(file)), text };
}
