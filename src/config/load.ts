/** Reading a config file from disk: the thin shell around parseConfig. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseConfig, type ConfigResult } from './parse.js';

export { formatProblem, parseConfig, type ConfigResult } from './parse.js';

export async function loadConfigFile(file: string): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    return { ok: false, problems: [{ file, line: 1, col: 1, message: `cannot read the config file: ${reason}` }] };
  }
  return parseConfig(text, file, path.resolve(file));
}
