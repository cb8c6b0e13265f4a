/** serve's --access-log, --otlp-endpoint and --trace-sample: checked like every flag (cli/flags.ts). */
import { describe, expect, it } from 'vitest';
import { COMMANDS, SERVE } from '../../src/cli/commands.js';
import { commandHelp, isOn, parseCommandLine } from '../../src/cli/flags.js';

const parse = (argv: string[], env: Record<string, string> = {}) => parseCommandLine(['serve', '--config', 'c.yaml', ...argv], COMMANDS, env, '1.2.3');

function values(argv: string[], env: Record<string, string> = {}) {
  const p = parse(argv, env);
  if (p.kind !== 'run') throw new Error(`expected a run, got ${p.kind}: ${p.text}`);
  return p.values;
}

describe('observability flags', () => {
  it('--access-log is a switch: bare on the command line, 1/true/on/yes (or 0/false/off/no) in TIDEGATE_ACCESS_LOG', () => {
    expect(isOn(values([])['access-log'])).toBe(false);
    expect(isOn(values(['--access-log'])['access-log'])).toBe(true);
    for (const on of ['1', 'true', 'ON', 'yes']) expect(isOn(values([], { TIDEGATE_ACCESS_LOG: on })['access-log'])).toBe(true);
    for (const off of ['0', 'false', 'off', 'no', '']) expect(isOn(values([], { TIDEGATE_ACCESS_LOG: off })['access-log'])).toBe(false);
    expect(isOn(values(['--access-log'], { TIDEGATE_ACCESS_LOG: '0' })['access-log'])).toBe(true);
  });

  it('--otlp-endpoint takes an http(s) URL, also from OTEL_EXPORTER_OTLP_ENDPOINT; --trace-sample a ratio, default 0.01', () => {
    expect(values([], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })['otlp-endpoint']).toBe('http://collector:4318');
    expect(values(['--otlp-endpoint', 'https://c.example.com/otlp'])['otlp-endpoint']).toBe('https://c.example.com/otlp');
    expect(values([])['trace-sample']).toBe('0.01');
    for (const ok of ['0', '1', '0.5', '.25', '1.0']) expect(values(['--trace-sample', ok])['trace-sample']).toBe(ok);
    for (const bad of ['-0.1', '1.01', 'abc', '5%']) expect(parse(['--trace-sample', bad]).kind).toBe('usage-error');
    for (const bad of ['collector:4318', 'ftp://x', 'http://']) expect(parse(['--otlp-endpoint', bad]).kind).toBe('usage-error');
  });

  it('--help lists them with their variables', () => {
    const help = commandHelp(SERVE);
    expect(help).toMatch(/--access-log {2,}.*env TIDEGATE_ACCESS_LOG/);
    expect(help).toMatch(/--otlp-endpoint URL .*env OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(help).toMatch(/--trace-sample RATIO .*default 0\.01/);
    expect(help).toContain('[--access-log]');
  });
});
