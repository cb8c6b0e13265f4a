/**
 * The `tls:` section: every broken rule is refused at its FILE:LINE:COL
 * (certificate and key files included: unreadable, not PEM, not a pair),
 * and certificates out of their dates are accepted with a warning that
 * names the date, judged at an injected `now`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { diskEnv, loadConfigFile } from '../../src/config/load.js';
import { formatProblem, parseConfig } from '../../src/config/parse.js';
import type { ConfigEnv } from '../../src/config/types.js';
import { makeCertificates, type TestCertificates } from '../support/certs.js';
import { FakeClock } from '../support/fake-clock.js';
import { lineColOf } from './fixtures.js';

const SERVICES = `services:
  - name: hello
    revisions:
      - name: hello-1
        endpoints: ["127.0.0.1:9001"]
`;

const BASE_TLS = `domain: example.com
tls:
  certificates:
    - hosts: [example.com, "*.example.com"]
      cert: example.pem
      key: example-key.pem
    - hosts: [other.test]
      cert: certs/other.pem
      key: certs/other-key.pem
  min-version: TLSv1.2
  redirect-http: false
${SERVICES}`;

const NOW = Date.parse('2026-03-01T00:00:00Z');
let certs: TestCertificates;
let configFile: string;

beforeAll(async () => {
  // Fixed dates for all: `now` is injected, whatever the machine's clock says.
  const wide = { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2040-01-01T00:00:00Z') };
  certs = await makeCertificates(['example.com', '*.example.com'], { name: 'example', ...wide });
  mkdirSync(path.join(certs.dir, 'certs'));
  mkdirSync(path.join(certs.dir, 'a-directory'));
  await certs.issue(['other.test'], { name: 'certs/other', ...wide });
  // Valid 2026-01-01 .. 2026-03-10: the warnings move with `now`.
  await certs.issue(['dated.example.org'], { name: 'dated', notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2026-03-10T00:00:00Z') });
  writeFileSync(path.join(certs.dir, 'not-pem.pem'), 'hello, I am not a certificate\n');
  writeFileSync(path.join(certs.dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  configFile = path.join(certs.dir, 'tg.yaml');
}, 30_000);

afterAll(() => certs?.cleanup());

function parse(text: string, env: ConfigEnv = diskEnv(NOW)) {
  return parseConfig(text, 'tg.yaml', configFile, env);
}

function problems(text: string): string[] {
  const result = parse(text);
  return result.ok ? [] : result.problems.map(formatProblem);
}

function warnings(text: string, now: number): string[] {
  const result = parse(text, diskEnv(now));
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.warnings.map(formatProblem);
}

function brokenTls(from: string, to: string): string {
  const at = BASE_TLS.indexOf(from);
  if (at < 0 || BASE_TLS.indexOf(from, at + 1) >= 0) throw new Error(`fixture: ${JSON.stringify(from)} must occur exactly once`);
  return BASE_TLS.slice(0, at) + to + BASE_TLS.slice(at + from.length);
}

describe('a valid tls: section', () => {
  test('the base is valid, with no warnings', () => {
    const result = parse(BASE_TLS);
    expect(result.ok ? result.warnings : result.problems.map(formatProblem)).toEqual([]);
  });

  test('hosts lower-case without the trailing dot, files absolute from the config file’s directory, PEM read', () => {
    const result = parse(BASE_TLS.replace('[other.test]', '[Other.TEST.]').replace('redirect-http: false', 'redirect-http: true'));
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    const tls = result.config.tls;
    expect(tls?.minVersion).toBe('TLSv1.2');
    expect(tls?.redirectHttp).toBe(true);
    expect(tls?.certificates.map((c) => c.hosts)).toEqual([['example.com', '*.example.com'], ['other.test']]);
    expect(tls?.certificates[1]?.certFile).toBe(path.join(certs.dir, 'certs/other.pem'));
    expect(tls?.certificates[1]?.keyFile).toBe(path.join(certs.dir, 'certs/other-key.pem'));
    expect(tls?.certificates[0]?.certPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(tls?.certificates[0]?.keyPem).toMatch(/PRIVATE KEY-----/);
    expect(tls?.certificates[0]?.notAfter).toBeGreaterThan(tls?.certificates[0]?.notBefore ?? Infinity);
    expect(Object.isFrozen(tls?.certificates[0])).toBe(true);
  });

  test('defaults: TLSv1.2, no redirect; a config without tls: has none', () => {
    const result = parse(BASE_TLS.replace('  min-version: TLSv1.2\n  redirect-http: false\n', ''));
    expect(result.ok && result.config.tls && { min: result.config.tls.minVersion, redirect: result.config.tls.redirectHttp }).toEqual({ min: 'TLSv1.2', redirect: false });
    const plain = parse(`domain: example.com\n${SERVICES}`);
    expect(plain.ok && 'tls' in plain.config).toBe(false);
  });

  test('http2: true by default (the ALPN port); false chooses uWS\'s own TLS, HTTP/1.1 only', () => {
    const given = parse(BASE_TLS);
    expect(given.ok && given.config.tls?.http2).toBe(true);
    const off = parse(BASE_TLS.replace('redirect-http: false', 'redirect-http: false\n  http2: false'));
    expect(off.ok && off.config.tls?.http2).toBe(false);
  });

  test('TLSv1.3 is accepted', () => {
    const result = parse(BASE_TLS.replace('TLSv1.2', 'TLSv1.3'));
    expect(result.ok && result.config.tls?.minVersion).toBe('TLSv1.3');
  });
});

interface Case {
  rule: string;
  from: string;
  to: string;
  at: string;
  message: RegExp;
}

const cases: Case[] = [
  { rule: 'unknown key in tls', from: 'min-version: TLSv1.2', to: 'min-versoin: TLSv1.2', at: '‸min-versoin', message: /^tls\.min-versoin: unknown key "min-versoin" \(did you mean "min-version"\?\)$/ },
  { rule: 'unknown key in a certificate', from: 'key: certs/other-key.pem', to: 'key: certs/other-key.pem\n      chain: ca.pem', at: '‸chain', message: /^tls\.certificates\[1\]\.chain: unknown key "chain"/ },
  { rule: 'tls not a map', from: 'tls:\n  certificates:', to: 'tls: true\nx:\n  certificates:', at: 'tls: ‸true', message: /^tls: must be a map, got true$/ },
  { rule: 'no certificates key', from: '  certificates:\n', to: '  certs:\n', at: '‸certs:', message: /^tls\.certs: unknown key/ },
  { rule: 'certificates not a list', from: 'certificates:\n    - hosts', to: 'certificates: example.pem\n  x:\n    - hosts', at: 'certificates: ‸example.pem', message: /^tls\.certificates: must be a list, got "example.pem"$/ },
  { rule: 'wildcard inside a name', from: '[other.test]', to: '[other.*.test]', at: '[‸other.*.test]', message: /^tls\.certificates\[1\]\.hosts\[0\]: a wildcard is allowed only as the whole first label, e\.g\. "\*\.example\.com", got "other\.\*\.test"$/ },
  { rule: 'wildcard glued to a label', from: '"*.example.com"', to: '"*example.com"', at: '‸"*example.com"', message: /hosts\[1\]: a wildcard is allowed only as the whole first label/ },
  { rule: 'a lone wildcard', from: '[other.test]', to: '["*"]', at: '[‸"*"]', message: /hosts\[0\]: a wildcard is allowed only as the whole first label, .*got "\*"$/ },
  { rule: 'a host name with "_"', from: '[other.test]', to: '[other_x.test]', at: '[‸other_x', message: /hosts\[0\]: must be a host name: .*got "other_x\.test"$/ },
  { rule: 'a host with a port', from: '[other.test]', to: '["other.test:443"]', at: '[‸"other', message: /hosts\[0\]: must be a host name without a port/ },
  { rule: 'a host listed twice', from: '[other.test]', to: '[EXAMPLE.com]', at: '[‸EXAMPLE', message: /^tls\.certificates\[1\]\.hosts\[0\]: host "example\.com" is already listed by tls\.certificates\[0\]$/ },
  { rule: 'no hosts', from: '[other.test]', to: '[]', at: 'hosts: ‸[]', message: /^tls\.certificates\[1\]\.hosts: must list at least one host name, got \[\]$/ },
  { rule: 'no key', from: '      key: certs/other-key.pem\n', to: '', at: '- ‸hosts: [other.test]', message: /^tls\.certificates\[1\]: missing key "key"$/ },
  { rule: 'no such certificate file', from: 'cert: certs/other.pem', to: 'cert: certs/missing.pem', at: 'cert: ‸certs/missing.pem', message: /^tls\.certificates\[1\]\.cert: cannot read the certificate file certs\/missing\.pem \(\/.*\/certs\/missing\.pem\): no such file$/ },
  { rule: 'the key is a directory', from: 'key: certs/other-key.pem', to: 'key: a-directory', at: 'key: ‸a-directory', message: /^tls\.certificates\[1\]\.key: cannot read the private key file a-directory \(.*\): it is a directory$/ },
  { rule: 'a certificate file with no PEM in it', from: 'cert: certs/other.pem', to: 'cert: not-pem.pem', at: 'cert: ‸not-pem.pem', message: /^tls\.certificates\[1\]\.cert: not-pem\.pem holds no PEM certificate/ },
  { rule: 'a PEM certificate that does not parse', from: 'cert: certs/other.pem', to: 'cert: broken.pem', at: 'cert: ‸broken.pem', message: /^tls\.certificates\[1\]\.cert: the certificate in broken\.pem does not parse: / },
  { rule: 'a key file that is no key', from: 'key: certs/other-key.pem', to: 'key: certs/other.pem', at: 'key: ‸certs/other.pem', message: /^tls\.certificates\[1\]\.key: certs\/other\.pem is not a PEM private key/ },
  { rule: 'a key of another certificate', from: 'key: certs/other-key.pem', to: 'key: example-key.pem', at: 'other.pem\n      key: ‸example-key.pem', message: /^tls\.certificates\[1\]\.key: the key example-key\.pem does not match the certificate certs\/other\.pem$/ },
  { rule: 'an unknown min-version', from: 'min-version: TLSv1.2', to: 'min-version: TLSv1.1', at: 'min-version: ‸TLSv1.1', message: /^tls\.min-version: must be one of TLSv1\.2, TLSv1\.3, got "TLSv1\.1"$/ },
  { rule: 'http2 not a boolean', from: 'redirect-http: false', to: 'http2: off', at: 'http2: ‸off', message: /^tls\.http2: must be true or false, got "off"$/ },
  {
    rule: 'TLSv1.3 with http2: false (uWS has no minimum-version setting)',
    from: 'min-version: TLSv1.2\n  redirect-http: false',
    to: 'min-version: TLSv1.3\n  http2: false',
    at: 'min-version: ‸TLSv1.3',
    message: /^tls\.min-version: TLSv1\.3 needs http2: true \(with http2: false the TLS port is uWebSockets\.js's own TLS, which has no minimum-version setting: it accepts TLSv1\.2 and TLSv1\.3\)$/,
  },
  { rule: 'redirect-http not a boolean', from: 'redirect-http: false', to: 'redirect-http: yes', at: 'redirect-http: ‸yes', message: /^tls\.redirect-http: must be true or false, got "yes"$/ },
];

describe('every broken rule is reported at its key or value', () => {
  test.each(cases)('$rule', ({ from, to, at, message }) => {
    const text = brokenTls(from, to);
    const found = problems(text);
    const hit = found.find((p) => message.test(p.replace(/^tg\.yaml:\d+:\d+: /, '')));
    expect(hit, `expected ${message} among:\n${found.join('\n')}`).toBeDefined();
    expect(hit?.split(': ')[0]).toBe(`tg.yaml:${lineColOf(text, at)}`);
  });

  test('TLSv1.3 with http2: false is reported beside a broken certificate, not instead of it', () => {
    const text = brokenTls('min-version: TLSv1.2\n  redirect-http: false', 'min-version: TLSv1.3\n  http2: false').replace('cert: certs/other.pem', 'cert: certs/missing.pem');
    const found = problems(text).map((p) => p.replace(/^tg\.yaml:\d+:\d+: /, ''));
    expect(found.some((p) => p.startsWith('tls.min-version: TLSv1.3 needs http2: true'))).toBe(true);
    expect(found.some((p) => p.startsWith('tls.certificates[1].cert: cannot read the certificate file certs/missing.pem'))).toBe(true);
  });

  test('an empty certificates list, and a tls: without one', () => {
    const empty = `domain: example.com\ntls:\n  certificates: []\n${SERVICES}`;
    expect(problems(empty)).toEqual([`tg.yaml:${lineColOf(empty, 'certificates: ‸[]')}: tls.certificates: must list at least one certificate (the first is the default), got []`]);
    const none = `domain: example.com\ntls:\n  min-version: TLSv1.3\n${SERVICES}`;
    expect(problems(none)).toEqual(['tg.yaml:2:1: tls: missing key "certificates" (at least one certificate and its key)']);
  });

  test('a file that cannot be read for permissions says so (an injected reader: tests run as root)', () => {
    const denied: ConfigEnv = {
      now: NOW,
      readFile: (p) => {
        if (p.endsWith('other-key.pem')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        return diskEnv(NOW).readFile(p);
      },
    };
    const result = parse(BASE_TLS, denied);
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      `tg.yaml:${lineColOf(BASE_TLS, 'key: ‸certs/other-key.pem')}: tls.certificates[1].key: cannot read the private key file certs/other-key.pem (${path.join(certs.dir, 'certs/other-key.pem')}): permission denied`,
    ]);
  });

  test('every problem at once, in file order; nothing half-built', () => {
    const text = brokenTls('[other.test]', '[other.*.test]').replace('key: example-key.pem', 'key: missing-key.pem').replace('TLSv1.2', 'SSLv3');
    const found = problems(text);
    expect(found.map((p) => p.split(': ')[0])).toEqual([
      `tg.yaml:${lineColOf(text, 'key: ‸missing-key.pem')}`,
      `tg.yaml:${lineColOf(text, '[‸other.*.test]')}`,
      `tg.yaml:${lineColOf(text, 'min-version: ‸SSLv3')}`,
    ]);
    expect(parse(text).ok).toBe(false);
  });

  test('parseConfig without a file reader refuses a tls: section rather than reading the disk behind the caller’s back', () => {
    const result = parseConfig(BASE_TLS, 'tg.yaml', configFile);
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual(['tg.yaml:2:1: tls: the certificate files cannot be read here (no file reader was given to the parser)']);
  });
});

describe('certificate dates are warnings, judged at the injected now', () => {
  const dated = (hosts = '[dated.example.org]') => BASE_TLS.replace('    - hosts: [other.test]\n', `    - hosts: ${hosts}\n      cert: dated.pem\n      key: dated-key.pem\n    - hosts: [other.test]\n`);
  const at = (text: string) => `tg.yaml:${lineColOf(text, 'cert: ‸dated.pem')}`;

  test('expired', () => {
    const text = dated();
    expect(warnings(text, Date.parse('2026-03-10T00:00:00Z'))).toEqual([`${at(text)}: tls.certificates[1].cert: certificate dated.pem for dated.example.org expired on 2026-03-10T00:00:00.000Z`]);
  });

  test('not yet valid', () => {
    const text = dated();
    expect(warnings(text, Date.parse('2025-12-31T23:59:59Z'))).toEqual([`${at(text)}: tls.certificates[1].cert: certificate dated.pem for dated.example.org is not valid until 2026-01-01T00:00:00.000Z`]);
  });

  test('expiring within 14 days; not at 14 days or more', () => {
    const text = dated();
    expect(warnings(text, Date.parse('2026-03-01T12:00:00Z'))).toEqual([`${at(text)}: tls.certificates[1].cert: certificate dated.pem for dated.example.org expires on 2026-03-10T00:00:00.000Z (in 8 days)`]);
    expect(warnings(text, Date.parse('2026-03-09T18:00:00Z'))[0]).toMatch(/expires on 2026-03-10T00:00:00\.000Z \(in less than a day\)$/);
    expect(warnings(text, Date.parse('2026-02-24T00:00:00Z'))).toEqual([]);
    expect(warnings(text, Date.parse('2026-02-24T00:00:01Z'))).toHaveLength(1);
  });

  test('a host the certificate does not name is a warning at the host', () => {
    const text = dated('[dated.example.org, "*.dated.example.org"]');
    expect(warnings(text, NOW)).toEqual([
      `tg.yaml:${lineColOf(text, '‸"*.dated.example.org"')}: tls.certificates[1].hosts[1]: the certificate dated.pem does not name *.dated.example.org (it names DNS:dated.example.org); clients that verify will refuse it`,
      expect.stringMatching(/cert: certificate dated\.pem for dated\.example\.org, \*\.dated\.example\.org expires on/),
    ]);
  });

  test('loadConfigFile dates them with its clock and returns them as warnings', async () => {
    const text = dated();
    writeFileSync(configFile, text);
    const loaded = await loadConfigFile(configFile, new FakeClock(Date.parse('2026-04-01T00:00:00Z')));
    expect(loaded.ok && loaded.warnings.map((w) => `${w.line}:${w.col}: ${w.message}`)).toEqual([`${lineColOf(text, 'cert: ‸dated.pem')}: tls.certificates[1].cert: certificate dated.pem for dated.example.org expired on 2026-03-10T00:00:00.000Z`]);
    // What the watcher compares: every TLS file the load read.
    expect([...loaded.files.keys()].map((f) => path.relative(certs.dir, f)).sort()).toEqual(['certs/other-key.pem', 'certs/other.pem', 'dated-key.pem', 'dated.pem', 'example-key.pem', 'example.pem']);
  });
});
