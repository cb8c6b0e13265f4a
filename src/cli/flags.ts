/**
 * Flags of every command, declared once: what they mean, their environment
 * variable and default, and what a valid value looks like. The command line
 * is checked here, before any command runs, so `--port abc` is a usage error
 * (exit 2, naming the flag) and never a server on a random port. Pure: the
 * environment is passed in.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/units.js';

export type FlagKind = 'string' | 'port' | 'integer' | 'duration' | 'address' | 'redis-url' | 'host-port' | 'switch' | 'ratio' | 'http-url' | 'workers';

export interface FlagSpec {
  readonly kind: FlagKind;
  readonly help: string;
  /** The environment variable that stands in when the flag is not given (an empty one counts as unset). */
  readonly env?: string;
  /** Used when neither the flag nor its variable is set. */
  readonly default?: string;
  /** Placeholder in usage lines: `--config FILE`. */
  readonly arg?: string;
  /** Bounds for 'integer'. */
  readonly min?: number;
  readonly max?: number;
  /** Required; a string says why (added to the message). */
  readonly required?: true | string;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Positional arguments, e.g. `validate FILE`: their usage text and how many. */
  readonly positionals?: { readonly usage: string; readonly min: number; readonly max: number };
}

/** What every command's main() receives: each declared flag's value as a string (flag, else env, else default). */
export type Values = Record<string, string | boolean | undefined>;

export type Parsed =
  | { kind: 'run'; command: CommandSpec; values: Values; positionals: string[] }
  | { kind: 'print'; text: string }
  | { kind: 'usage-error'; text: string };

type Env = Readonly<Record<string, string | undefined>>;

/** `tidegate [--help|--version] COMMAND [flags]` → what to do. Exit codes: print 0, usage-error 2. */
export function parseCommandLine(argv: readonly string[], commands: readonly CommandSpec[], env: Env, version: string): Parsed {
  const [name, ...rest] = argv;
  if (name === undefined) return { kind: 'usage-error', text: overview(commands) };
  if (name === '--help' || name === '-h' || name === 'help') {
    const about = name === 'help' && rest[0] !== undefined ? commands.find((c) => c.name === rest[0]) : undefined;
    return { kind: 'print', text: about ? commandHelp(about) : overview(commands) };
  }
  if (name === '--version' || name === '-v') return { kind: 'print', text: `tidegate ${version}` };
  const command = commands.find((c) => c.name === name);
  if (!command) return { kind: 'usage-error', text: `tidegate: unknown command '${name}'\n\n${overview(commands)}` };
  if (rest.includes('--help') || rest.includes('-h')) return { kind: 'print', text: commandHelp(command) };

  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  // A switch (--access-log) takes no value on the command line; its variable says on/off (1/true/on/yes, 0/false/off/no).
  for (const [flag, spec] of Object.entries(command.flags)) options[flag] = { type: spec.kind === 'switch' ? 'boolean' : 'string' };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...rest], options, allowPositionals: command.positionals !== undefined, strict: true });
  } catch (err) {
    return usageError(command, (err as Error).message);
  }
  const pos = command.positionals;
  if (pos && (parsed.positionals.length < pos.min || parsed.positionals.length > pos.max)) {
    return usageError(command, parsed.positionals.length < pos.min ? `missing ${pos.usage}` : `unexpected argument '${parsed.positionals[pos.max] ?? ''}'`);
  }

  const values: Values = {};
  for (const [flag, spec] of Object.entries(command.flags)) {
    const given = parsed.values[flag];
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    let text: string | undefined;
    let source: string;
    if (typeof given === 'string') [text, source] = [given, `--${flag}`];
    else if (given === true) [text, source] = ['true', `--${flag}`];
    else if (fromEnv !== undefined && fromEnv !== '') [text, source] = [fromEnv, `${spec.env ?? ''} (for --${flag})`];
    else [text, source] = [spec.default, `--${flag}`];
    if (text === undefined) {
      if (spec.required !== undefined) {
        const alt = spec.env ? ` (or ${spec.env})` : '';
        const why = typeof spec.required === 'string' ? `: ${spec.required}` : '';
        return usageError(command, `--${flag}${spec.arg ? ` ${spec.arg}` : ''}${alt} is required${why}`);
      }
      continue;
    }
    const problem = check(spec, text);
    if (problem !== null) return usageError(command, `${source} ${problem}, got ${JSON.stringify(text)}`);
    values[flag] = text;
  }
  return { kind: 'run', command, values, positionals: parsed.positionals };
}

function usageError(command: CommandSpec, message: string): Parsed {
  return { kind: 'usage-error', text: `tidegate ${command.name}: ${message}\nusage: ${usage(command)}\n(tidegate ${command.name} --help lists every flag)` };
}

/** Why `text` is not a valid value for `spec`, or null. */
export function check(spec: FlagSpec, text: string): string | null {
  switch (spec.kind) {
    case 'string':
      return null;
    case 'port':
      return /^\d{1,5}$/.test(text) && Number(text) <= 65535 ? null : 'must be a port number from 0 to 65535';
    case 'integer': {
      const min = spec.min ?? 0;
      const max = spec.max ?? Number.MAX_SAFE_INTEGER;
      return /^-?\d+$/.test(text) && Number(text) >= min && Number(text) <= max ? null : `must be an integer from ${min} to ${max}`;
    }
    case 'duration': {
      const d = parseDuration(text);
      return d.ok ? null : `must be a duration (${d.reason})`;
    }
    case 'address':
      return isIP(text) !== 0 || /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(text) ? null : 'must be an IP address (0.0.0.0, ::, 127.0.0.1, …) or a host name';
    case 'redis-url':
      return isRedisAddress(text) ? null : 'must be a Redis URL (redis://HOST:PORT, rediss://…), HOST:PORT or a unix socket path';
    case 'host-port':
      return /^.+:\d+$/.test(text) ? null : 'must be HOST:PORT';
    case 'switch':
      return /^(1|0|true|false|on|off|yes|no)$/i.test(text) ? null : 'must be on or off (1, true, on, yes / 0, false, off, no)';
    case 'ratio':
      return /^(\d+(\.\d*)?|\.\d+)$/.test(text) && Number(text) <= 1 ? null : 'must be a number from 0 to 1';
    case 'http-url':
      return isHttpUrl(text) ? null : 'must be an http:// or https:// URL';
    case 'workers':
      return text === 'auto' || (/^\d{1,3}$/.test(text) && Number(text) >= 1 && Number(text) <= MAX_WORKERS) ? null : `must be auto or a number of event loops from 1 to ${MAX_WORKERS}`;
  }
}

/** The most event loops `--workers` takes. */
export const MAX_WORKERS = 64;

/** `--workers` as a count: `auto` is the cores this process may use. */
export function workerCount(text: string, cores: number): number {
  return text === 'auto' ? Math.max(1, Math.min(MAX_WORKERS, cores)) : Number(text);
}

/** A switch's value (from check()-approved text). */
export function isOn(text: string | boolean | undefined): boolean {
  return text === true || (typeof text === 'string' && /^(1|true|on|yes)$/i.test(text));
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * What ioredis connects to as meant: redis:// and rediss:// URLs, HOST[:PORT]
 * and socket paths. Any other scheme it would read as a host name
 * (`http://h:1` → host "http", port 6379) and retry forever.
 */
function isRedisAddress(text: string): boolean {
  if (text.startsWith('/')) return true;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) {
    if (!/^rediss?:\/\//i.test(text)) return false;
    try {
      return new URL(text).hostname !== '';
    } catch {
      return false;
    }
  }
  return /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(text);
}

export function usage(command: CommandSpec): string {
  const parts = [`tidegate ${command.name}`];
  if (command.positionals) parts.push(command.positionals.usage);
  for (const [flag, spec] of Object.entries(command.flags)) {
    const arg = spec.kind === 'switch' ? `--${flag}` : `--${flag} ${spec.arg ?? spec.default ?? 'VALUE'}`;
    parts.push(spec.required !== undefined ? arg : `[${arg}]`);
  }
  return parts.join(' ');
}

export function commandHelp(command: CommandSpec): string {
  const rows = Object.entries(command.flags).map(([flag, spec]) => {
    const left = spec.kind === 'switch' ? `  --${flag}` : `  --${flag} ${spec.arg ?? kindArg(spec.kind)}`;
    const notes = [spec.env ? `env ${spec.env}` : '', spec.default !== undefined ? `default ${spec.default}` : '', spec.required !== undefined ? 'required' : ''].filter(Boolean);
    return { left, right: `${spec.help}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}` };
  });
  rows.push({ left: '  --help', right: 'print this and exit' });
  const width = Math.max(0, ...rows.map((r) => r.left.length)) + 2;
  return [
    `usage: ${usage(command)}`,
    '',
    command.summary,
    '',
    'flags:',
    ...rows.map((r) => r.left.padEnd(width) + r.right),
    '',
    'A flag wins over its environment variable.',
  ].join('\n');
}

export function overview(commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'usage: tidegate COMMAND [flags]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'tidegate COMMAND --help   the flags of one command',
    'tidegate --version        print the version',
  ].join('\n');
}

function kindArg(kind: FlagKind): string {
  switch (kind) {
    case 'port':
      return 'PORT';
    case 'integer':
      return 'N';
    case 'duration':
      return 'DURATION';
    case 'address':
      return 'ADDRESS';
    case 'redis-url':
      return 'URL';
    case 'host-port':
      return 'HOST:PORT';
    case 'ratio':
      return 'RATIO';
    case 'workers':
      return 'N|auto';
    case 'http-url':
      return 'URL';
    case 'switch':
    case 'string':
      return 'VALUE';
  }
}
