/**
 * `tidegate validate FILE`: the composition root for checking a config
 * without running it. Exit 0 with "FILE: ok" (warnings, if any, on stderr
 * as FILE:LINE:COL: warning: …), 1 with one
 * FILE:LINE:COL: message line per problem, 2 on a usage error.
 */
import { formatProblem, loadConfigFile } from '../config/load.js';

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export async function main(positionals: string[], output: Output = stdio): Promise<number> {
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) {
    output.err('usage: tidegate validate FILE');
    return 2;
  }
  const result = await loadConfigFile(file);
  if (result.ok) {
    for (const w of result.warnings) output.err(formatProblem({ ...w, message: `warning: ${w.message}` }));
    output.out(`${file}: ok`);
    return 0;
  }
  for (const p of result.problems) output.err(formatProblem(p));
  return 1;
}
