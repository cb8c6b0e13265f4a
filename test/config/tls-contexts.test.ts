/**
 * TlsContexts: which certificate a client gets for its SNI name (exact,
 * then a wildcard for exactly one label, case and trailing dot ignored,
 * else the first entry), checked on real handshakes: tls.connect with the
 * test CA against tls.createServer with the contexts' SNICallback.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { diskEnv } from '../../src/config/load.js';
import { formatProblem, parseConfig } from '../../src/config/parse.js';
import { tlsCertificatesOf, type TlsContexts } from '../../src/config/tls.js';
import type { TlsConfig } from '../../src/config/types.js';
import { realClock } from '../../src/shared/clock.js';
import { makeCertificates, type TestCertificates } from '../support/certs.js';

let certs: TestCertificates;
let tlsConfig: TlsConfig;
let contexts: TlsContexts;
let server: tls.Server;
let port: number;

beforeAll(async () => {
  certs = await makeCertificates(['example.com', '*.example.com'], { name: 'example' });
  await certs.issue(['api.example.com'], { name: 'api' });
  await certs.issue(['other.test', '*.deep.other.test'], { name: 'other' });
  const text = `domain: example.com
tls:
  certificates:
    - hosts: [example.com, "*.example.com"]
      cert: example.pem
      key: example-key.pem
    - hosts: [API.example.com]
      cert: api.pem
      key: api-key.pem
    - hosts: [other.test, "*.deep.other.test"]
      cert: other.pem
      key: other-key.pem
services:
  - name: hello
    revisions: [{ name: hello-1, endpoints: ["127.0.0.1:9001"] }]
`;
  const result = parseConfig(text, 'tg.yaml', path.join(certs.dir, 'tg.yaml'), diskEnv(realClock.now()));
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  tlsConfig = result.config.tls as TlsConfig;
  contexts = tlsCertificatesOf(tlsConfig);
  server = tls.createServer({ cert: contexts.defaultCert, key: contexts.defaultKey, minVersion: contexts.minVersion, SNICallback: contexts.sniCallback }, (socket) => socket.end('hi'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
}, 30_000);

afterAll(() => {
  server?.close();
  certs?.cleanup();
});

/** Which entry a name selects: the index of the certificate whose context comes back. */
function entryFor(name: string | undefined): number {
  const ctx = contexts.contextFor(name);
  const all = ['example.com', 'api.example.com', 'other.test'].map((n) => contexts.contextFor(n));
  return all.indexOf(ctx);
}

describe('contextFor', () => {
  test.each<[string, number, string]>([
    ['example.com', 0, 'exact'],
    ['api.example.com', 1, 'exact beats the wildcard'],
    ['www.example.com', 0, 'wildcard, one label'],
    ['a.b.example.com', 0, 'two labels below *.example.com: no wildcard match, so the default'],
    ['x.deep.other.test', 2, 'wildcard of a deeper name'],
    ['a.x.deep.other.test', 0, 'two labels below it: the default'],
    ['deep.other.test', 0, 'a wildcard does not match its own base name'],
    ['Other.TEST', 2, 'case-insensitive'],
    ['WWW.Example.Com.', 0, 'trailing dot ignored'],
    ['API.EXAMPLE.COM.', 1, 'both'],
    ['unknown.org', 0, 'unknown: the first entry'],
    ['localhost', 0, 'a single label: the default'],
    ['', 0, 'empty: the default'],
  ])('%s → entry %i (%s)', (name, entry) => {
    expect(entryFor(name)).toBe(entry);
  });

  test('no SNI name: the default', () => {
    expect(contexts.contextFor(undefined)).toBe(contexts.contextFor('example.com'));
  });

  test('built once per loaded config; defaults, files and settings for the server', () => {
    expect(tlsCertificatesOf(tlsConfig)).toBe(contexts);
    expect(contexts.defaultCert.toString()).toBe(tlsConfig.certificates[0]?.certPem);
    expect(contexts.defaultKey.toString()).toBe(tlsConfig.certificates[0]?.keyPem);
    expect(contexts.minVersion).toBe('TLSv1.2');
    expect(contexts.redirectHttp).toBe(false);
    expect(contexts.files.map((f) => path.relative(certs.dir, f))).toEqual(['example.pem', 'example-key.pem', 'api.pem', 'api-key.pem', 'other.pem', 'other-key.pem']);
  });
});

/** Handshakes with `servername` (or none), trusting the test CA; the certificate's subject alternative names. */
async function served(servername: string | undefined): Promise<string> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca, ...(servername !== undefined ? { servername } : {}), checkServerIdentity: () => undefined });
  try {
    await once(socket, 'secureConnect');
    expect(socket.authorized, String(socket.authorizationError)).toBe(true);
    return socket.getPeerCertificate().subjectaltname ?? '';
  } finally {
    socket.destroy();
  }
}

describe('real handshakes get the certificate for their SNI name', () => {
  test.each([
    ['api.example.com', 'DNS:api.example.com'],
    ['www.example.com', 'DNS:example.com, DNS:*.example.com'],
    ['OTHER.test', 'DNS:other.test, DNS:*.deep.other.test'],
    ['a.b.example.com', 'DNS:example.com, DNS:*.example.com'],
    ['unknown.org', 'DNS:example.com, DNS:*.example.com'],
  ])('%s → %s', async (name, names) => {
    expect(await served(name)).toBe(names);
  });

  test('no SNI name → the default certificate', async () => {
    expect(await served(undefined)).toBe('DNS:example.com, DNS:*.example.com');
  });

  test('a client that verifies the host name accepts what it is served', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.ca, servername: 'x.deep.other.test' });
    await once(socket, 'secureConnect');
    expect(socket.authorized).toBe(true);
    socket.destroy();
  });
});
