/**
 * `tidegate simulate --config FILE --revision REV --trace TRACE.csv
 * [--pod-start-delay 0s]`: prints the autoscaler's decisions on a recorded
 * load as CSV, one row per 2 s tick. Exit 0; 1 for a problem in a file
 * (FILE:LINE:COL: message); 2 for a usage error.
 */
import { readFile } from 'node:fs/promises';
import { formatProblem, loadConfigFile } from '../config/load.js';
import { parseDuration } from '../config/units.js';
import { CSV_HEADER, formatRow, simulate } from '../autoscaler/simulate.js';
import { parseTrace } from '../autoscaler/trace.js';

export interface Output {
  out(text: string): void;
  err(line: string): void;
}

const stdio: Output = {
  out: (text) => process.stdout.write(text),
  err: (line) => process.stderr.write(`${line}\n`),
};

const USAGE = 'usage: tidegate simulate --config FILE --revision REV --trace TRACE.csv [--pod-start-delay 0s]';

export async function main(values: Record<string, string | boolean | undefined>, output: Output = stdio): Promise<number> {
  const str = (k: string) => (typeof values[k] === 'string' ? values[k] : undefined);
  const configFile = str('config') ?? process.env['TIDEGATE_CONFIG'];
  const revisionName = str('revision');
  const traceFile = str('trace');
  if (!configFile || !revisionName || !traceFile) {
    const missing = [!configFile && '--config', !revisionName && '--revision', !traceFile && '--trace'].filter(Boolean).join(', ');
    output.err(`tidegate simulate: missing ${missing}`);
    output.err(USAGE);
    return 2;
  }
  const delay = parseDuration(str('pod-start-delay') ?? '0s');
  if (!delay.ok) {
    output.err(`tidegate simulate: --pod-start-delay: ${delay.reason}`);
    return 2;
  }

  const loaded = await loadConfigFile(configFile);
  if (!loaded.ok) {
    for (const p of loaded.problems) output.err(formatProblem(p));
    return 1;
  }
  const config = loaded.config;
  const revision = config.revisions.get(revisionName);
  if (!revision) {
    output.err(`tidegate simulate: ${configFile} has no revision named "${revisionName}" (it has: ${[...config.revisions.keys()].join(', ')})`);
    return 1;
  }
  if (revision.endpoints !== null) {
    output.err(`tidegate simulate: revision "${revisionName}" has static endpoints, which are never scaled`);
    return 1;
  }

  let text: string;
  try {
    text = await readFile(traceFile, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    output.err(`${traceFile}:1:1: cannot read the trace: ${reason}`);
    return 1;
  }
  const trace = parseTrace(text);
  if (!trace.ok) {
    for (const p of trace.problems) output.err(`${traceFile}:${p.line}:${p.col}: ${p.message}`);
    return 1;
  }
  if (revision.autoscaling.metric === 'rps' && !trace.hasRps) {
    output.err(`${traceFile}:1:1: revision "${revisionName}" scales on rps: the trace needs the header "t,concurrency,rps"`);
    return 1;
  }

  const rows = simulate({ config, revision, trace: trace.rows, podStartDelayMs: delay.value });
  output.out([CSV_HEADER, ...rows.map(formatRow)].join('\n') + '\n');
  return 0;
}
