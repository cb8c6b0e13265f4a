#!/usr/bin/env node
/**
 * `tidegate COMMAND [flags]`: checks the command line (cli/flags.ts, with
 * every command's flags in cli/commands.ts) and hands over to one
 * composition root in bin/. Each command module is loaded only when used.
 */
import { readFileSync } from 'node:fs';
import { COMMANDS } from './cli/commands.js';
import { parseCommandLine, type Values } from './cli/flags.js';
import { realClock } from './shared/clock.js';

type Main = (values: Values, positionals: string[]) => Promise<number>;

const MAINS: Record<string, Main> = {
  serve: async (v) => (await import('./bin/serve.js')).main(v),
  'queue-proxy': async (v) => (await import('./bin/queue-proxy.js')).main(v),
  autoscaler: async (v) => (await import('./bin/autoscaler.js')).main(v),
  validate: async (_v, p) => (await import('./bin/validate.js')).main(p),
  simulate: async (v) => (await import('./bin/simulate.js')).main(v),
};

/** A command that fails to start must not linger: whatever it left open, it is gone this long after saying why. */
const EXIT_GRACE_MS = 1000;

/** package.json sits one directory above this file, in src/ (tests) and in dist/ alike. */
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown'; // dist/ copied without its package.json: only --version needs it
  }
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, COMMANDS, process.env, version());
  if (parsed.kind === 'print') {
    process.stdout.write(`${parsed.text}\n`);
    return 0;
  }
  if (parsed.kind === 'usage-error') {
    process.stderr.write(`${parsed.text}\n`);
    return 2;
  }
  const run = MAINS[parsed.command.name];
  if (!run) throw new Error(`no main() for command '${parsed.command.name}'`);
  return run(parsed.values, parsed.positionals);
}

function exit(code: number): void {
  process.exitCode = code;
  if (code !== 0) realClock.setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref?.();
}

main(process.argv.slice(2)).then(
  (code) => {
    // Servers keep the process alive and exit themselves (-1); one-shot commands and failed starts return a code.
    if (code !== -1) exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`tidegate: ${err instanceof Error ? err.message : String(err)}\n`);
    exit(1);
  },
);
