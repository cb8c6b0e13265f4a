/** cli/flags.ts: every command's flags, their variables and defaults, checked before any main() runs (issue 9, findings 8 and 14). */
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { parseCommandLine, type Parsed } from '../../src/cli/flags.js';

const parse = (argv: string[], env: Record<string, string> = {}): Parsed => parseCommandLine(argv, COMMANDS, env, '1.2.3');

function values(argv: string[], env: Record<string, string> = {}) {
  const p = parse(argv, env);
  if (p.kind !== 'run') throw new Error(`expected a run, got ${p.kind}: ${p.text}`);
  return p.values;
}

function usageError(argv: string[], env: Record<string, string> = {}): string {
  const p = parse(argv, env);
  if (p.kind !== 'usage-error') throw new Error(`expected a usage error, got ${p.kind}`);
  return p.text;
}

describe('serve flags', () => {
  it('fills in the defaults', () => {
    expect(values(['serve', '--config', 'c.yaml'])).toEqual({ config: 'c.yaml', port: '8080', address: '0.0.0.0', 'admin-port': '9090', 'admin-address': '127.0.0.1', 'trace-sample': '0.01', workers: '1' });
  });

  it('reads the environment when a flag is not given; a flag wins; an empty variable counts as unset', () => {
    const env = { TIDEGATE_CONFIG: 'e.yaml', PORT: '81', ADMIN_PORT: '', TIDEGATE_ADDRESS: '::', TIDEGATE_ADMIN_ADDRESS: '0.0.0.0', REDIS_URL: 'redis://r:6379' };
    expect(values(['serve', '--port', '82'], env)).toEqual({ config: 'e.yaml', port: '82', address: '::', 'admin-port': '9090', 'admin-address': '0.0.0.0', redis: 'redis://r:6379', 'trace-sample': '0.01', workers: '1' });
  });

  it.each([
    [['--port', 'abc'], /--port must be a port number from 0 to 65535, got "abc"/],
    [['--port', '65536'], /--port must be a port/],
    [['--port', '80.5'], /--port must be a port/],
    [['--admin-port', '-1'], /--admin-port/],
    [['--address', 'not an address'], /--address must be an IP address/],
    [['--admin-address', ''], /--admin-address/],
    [['--redis', 'http://127.0.0.1:6379'], /--redis must be a Redis URL/],
    [['--redis', 'redis://localhost:abc'], /--redis must be a Redis URL/],
    [['--workers', '0'], /--workers must be auto or a number of event loops from 1 to 64/],
    [['--workers', 'all'], /--workers must be auto/],
  ])('refuses %j naming the flag', (args, message) => {
    const text = usageError(['serve', '--config', 'c.yaml', ...args]);
    expect(text).toMatch(message);
    expect(text).toMatch(/^tidegate serve: /);
    expect(text).toContain('usage: tidegate serve');
  });

  it('refuses a bad variable naming the variable and its flag', () => {
    expect(usageError(['serve', '--config', 'c.yaml'], { ADMIN_PORT: 'x' })).toMatch(/ADMIN_PORT \(for --admin-port\) must be a port number from 0 to 65535, got "x"/);
  });

  it('requires --config (or TIDEGATE_CONFIG) and refuses unknown flags and stray arguments', () => {
    expect(usageError(['serve'])).toMatch(/--config FILE \(or TIDEGATE_CONFIG\) is required/);
    expect(usageError(['serve', '--config', 'c.yaml', '--prot', '1'])).toMatch(/--prot/);
    expect(usageError(['serve', '--config', 'c.yaml', 'extra'])).toMatch(/extra/);
  });

  it('accepts the Redis addresses ioredis takes', () => {
    for (const r of ['redis://127.0.0.1:6379', 'rediss://:secret@redis.internal:6380/2', 'localhost:6379', 'redis', '[::1]:6379', '/run/redis.sock']) expect(values(['serve', '--config', 'c', '--redis', r]).redis).toBe(r);
  });

  it('accepts the addresses a user would give', () => {
    for (const a of ['0.0.0.0', '::', '::1', '127.0.0.1', 'localhost', 'edge-1.internal']) expect(values(['serve', '--config', 'c', '--address', a]).address).toBe(a);
  });
});

describe('queue-proxy flags (its main reads them as strings)', () => {
  it('declares its listeners with their defaults', () => {
    expect(values(['queue-proxy', '--revision', 'r', '--upstream', '127.0.0.1:8080'])).toEqual({
      revision: 'r',
      upstream: '127.0.0.1:8080',
      port: '8012',
      address: '0.0.0.0',
      'admin-port': '9091',
      'admin-address': '127.0.0.1',
      'container-concurrency': '0',
      'timeout-seconds': '300',
      'response-start-timeout-seconds': '0',
      'idle-timeout-seconds': '0',
      'readiness-period-seconds': '0',
      'readiness-timeout-seconds': '1',
      'readiness-success-threshold': '1',
      'readiness-failure-threshold': '3',
      'drain-seconds': '15',
    });
  });

  it('checks numbers and HOST:PORT', () => {
    expect(usageError(['queue-proxy', '--revision', 'r', '--upstream', 'x:1', '--container-concurrency', '1001'])).toMatch(/--container-concurrency must be an integer from 0 to 1000/);
    expect(usageError(['queue-proxy', '--revision', 'r', '--upstream', 'nowhere'])).toMatch(/--upstream must be HOST:PORT/);
    expect(usageError(['queue-proxy', '--revision', 'r'])).toMatch(/--upstream/);
    expect(usageError(['queue-proxy', '--revision', 'r', '--upstream', 'x:1', '--admin-port', '9o91'])).toMatch(/--admin-port/);
  });
});

describe('the other commands', () => {
  it('autoscaler needs --redis and says why', () => {
    expect(usageError(['autoscaler', '--config', 'c.yaml'])).toMatch(/--redis URL \(or REDIS_URL\) is required: a separate autoscaler/);
  });

  it('validate takes exactly one FILE', () => {
    expect(parse(['validate', 'a.yaml'])).toMatchObject({ kind: 'run', positionals: ['a.yaml'] });
    expect(usageError(['validate'])).toMatch(/missing FILE/);
    expect(usageError(['validate', 'a.yaml', 'b.yaml'])).toMatch(/b\.yaml/);
  });

  it('simulate checks --pod-start-delay as a duration', () => {
    expect(values(['simulate', '--config', 'c', '--revision', 'r', '--trace', 't.csv'])['pod-start-delay']).toBe('0s');
    expect(usageError(['simulate', '--config', 'c', '--revision', 'r', '--trace', 't.csv', '--pod-start-delay', '5'])).toMatch(/--pod-start-delay must be a duration/);
  });
});

describe('--help and --version', () => {
  it('tidegate --help lists every command', () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const p = parse(argv);
      expect(p.kind).toBe('print');
      for (const c of COMMANDS) expect(p.kind === 'print' && p.text).toContain(`  ${c.name} `);
    }
  });

  it('COMMAND --help lists its flags with their variables and defaults, even next to bad flags', () => {
    const p = parse(['serve', '--port', 'abc', '--help']);
    expect(p.kind).toBe('print');
    const text = p.kind === 'print' ? p.text : '';
    for (const flag of ['--config', '--port', '--address', '--admin-port', '--admin-address', '--redis', '--help']) expect(text).toContain(flag);
    expect(text).toMatch(/--admin-address ADDRESS +admin bind address .*\(env TIDEGATE_ADMIN_ADDRESS; default 127\.0\.0\.1\)/);
    const qp = parse(['help', 'queue-proxy']);
    expect(qp.kind === 'print' && qp.text).toContain('--admin-port PORT');
  });

  it('--version prints the version; no command at all is a usage error; an unknown one is named', () => {
    expect(parse(['--version'])).toEqual({ kind: 'print', text: 'tidegate 1.2.3' });
    expect(parse([]).kind).toBe('usage-error');
    expect(usageError(['serv'])).toMatch(/unknown command 'serv'/);
  });
});
