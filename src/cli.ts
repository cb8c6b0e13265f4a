#!/usr/bin/env node
/**
 * `tidegate COMMAND [flags]`: parses the command line and hands over to one
 * composition root in bin/. Each command module is loaded only when used.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Flags = NonNullable<ParseArgsConfig['options']>;

interface Command {
  usage: string;
  flags: Flags;
  positionals?: boolean;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  serve: {
    usage: 'serve --config FILE [--port 8080] [--admin-port 9090] [--redis URL]',
    flags: { config: { type: 'string' }, port: { type: 'string' }, 'admin-port': { type: 'string' }, redis: { type: 'string' } },
    run: async (v) => (await import('./bin/serve.js')).main(v),
  },
  'queue-proxy': {
    usage: 'queue-proxy --revision REV --upstream HOST:PORT [--port 8012] [--container-concurrency N] [--redis URL] [--advertise HOST:PORT]',
    flags: {
      revision: { type: 'string' },
      upstream: { type: 'string' },
      port: { type: 'string' },
      'container-concurrency': { type: 'string' },
      redis: { type: 'string' },
      advertise: { type: 'string' },
      'readiness-path': { type: 'string' },
      'timeout-seconds': { type: 'string' },
      'pod-id': { type: 'string' },
    },
    run: async (v) => (await import('./bin/queue-proxy.js')).main(v),
  },
  autoscaler: {
    usage: 'autoscaler --config FILE --redis URL',
    flags: { config: { type: 'string' }, redis: { type: 'string' } },
    run: async (v) => (await import('./bin/autoscaler.js')).main(v),
  },
  validate: {
    usage: 'validate FILE',
    flags: {},
    positionals: true,
    run: async (_v, p) => (await import('./bin/validate.js')).main(p),
  },
  simulate: {
    usage: 'simulate --config FILE --revision REV --trace TRACE.csv [--pod-start-delay 0s]',
    flags: { config: { type: 'string' }, revision: { type: 'string' }, trace: { type: 'string' }, 'pod-start-delay': { type: 'string' } },
    run: async (v) => (await import('./bin/simulate.js')).main(v),
  },
};

function help(): string {
  return ['usage: tidegate COMMAND [flags]', '', ...Object.values(COMMANDS).map((c) => `  tidegate ${c.usage}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`tidegate: unknown command '${name}'\n${help()}\n`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.flags, allowPositionals: command.positionals === true, strict: true });
  } catch (err) {
    process.stderr.write(`tidegate ${name}: ${(err as Error).message}\nusage: tidegate ${command.usage}\n`);
    return 2;
  }
  return command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
}

main(process.argv.slice(2)).then(
  (code) => {
    // Servers keep the process alive and exit themselves; one-shot commands set a code.
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tidegate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
