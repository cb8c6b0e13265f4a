/**
 * The `tls:` section through a real `serve`: SNI picks the certificate of
 * the name (an exact name, a wildcard, the first entry for an unknown
 * name), redirect-http answers 308 on the cleartext port, a renewed
 * certificate file is served to new handshakes without a restart, and a
 * broken one is refused while the old one keeps serving. Certificates from
 * openssl (test/support/certs.ts), clients node:https.
 */
import fs from 'node:fs/promises';
import https from 'node:https';
import type tls from 'node:tls';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificates, renewInPlace, type LeafFiles, type TestCertificates } from '../support/certs.js';
import { startEdge, type TestEdge } from '../support/serve.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { waitFor, waitForValue } from '../support/wait.js';

let certs: TestCertificates;
let other: LeafFiles;
let pod: Upstream;
let edge: TestEdge;
let renewedCert = '';

function config(redirect: boolean): string {
  return `domain: example.com
tls:
  certificates:
    - hosts: [app.example.com]
      cert: ${JSON.stringify(certs.leaf.cert)}
      key: ${JSON.stringify(certs.leaf.key)}
    - hosts: ["*.other.test"]
      cert: ${JSON.stringify(other.cert)}
      key: ${JSON.stringify(other.key)}
  redirect-http: ${redirect}
services:
  - name: app
    hosts: [app.example.com, api.other.test, unknown.example.org]
    revisions:
      - name: app-1
        endpoints: ["${pod.address}"]
    traffic: [{ revisionName: app-1, percent: 100 }]
`;
}

/** GET over TLS sending `servername` (SNI and Host); the served certificate's serial and names. */
function get(servername: string): Promise<{ status: number; serial: string; altNames: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: edge.tlsPort!, path: '/', servername, headers: { host: servername }, ca: certs.ca, agent: false, checkServerIdentity: () => undefined }, (res) => {
      const peer = (res.socket as tls.TLSSocket).getPeerCertificate();
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, serial: peer.serialNumber, altNames: peer.subjectaltname ?? '' }));
    });
    req.on('error', reject);
  });
}

beforeAll(async () => {
  certs = await makeCertificates(['app.example.com']);
  other = await certs.issue(['*.other.test'], { name: 'other' });
  pod = await startUpstream('pod-a');
  edge = await startEdge(config(false), { tlsPort: 0 });
  await waitFor(() => edge.edge.revision('app-1')?.readyPods === 1, 5000, 'static pod');
}, 30_000);

afterAll(async () => {
  await edge?.close();
  await pod?.close();
  certs?.cleanup();
});

describe('serve with tls:', () => {
  it('SNI picks the certificate: an exact name, a one-label wildcard, and the first entry for an unknown name', async () => {
    const exact = await get('app.example.com');
    expect(exact.status).toBe(200);
    expect(exact.altNames).toContain('app.example.com');
    const wildcard = await get('api.other.test');
    expect(wildcard.status).toBe(200);
    expect(wildcard.altNames).toContain('*.other.test');
    const unknown = await get('unknown.example.org');
    expect(unknown.altNames).toContain('app.example.com');
  });

  it('a renewed certificate file is served to new handshakes; a broken one is refused and the old one serves on', async () => {
    const renewed = await certs.issue(['app.example.com'], { name: 'renewed' });
    renewedCert = renewed.cert;
    const before = (await get('app.example.com')).serial;
    const want = renewInPlace(certs.leaf, renewed);
    expect(want).not.toBe(before);
    await waitForValue(() => get('app.example.com').then((r) => r.serial), (s) => s === want, 10_000, 'the renewed certificate');
    const failed = async () => (await edge.metrics.configReloads.get()).values.find((v) => v.labels.result === 'failed')?.value ?? 0;
    const failedBefore = await failed();
    await fs.writeFile(certs.leaf.cert, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
    await waitForValue(failed, (n) => n > failedBefore, 10_000, 'the broken certificate refused');
    const still = await get('app.example.com');
    expect(still).toMatchObject({ status: 200, serial: want });
  });

  it('redirect-http: the cleartext port answers 308 to the same host and path on the TLS port', async () => {
    await fs.copyFile(renewedCert, certs.leaf.cert); // the valid certificate back, so the new text loads
    await edge.rewrite(config(true));
    await waitForValue(
      () => request(`http://127.0.0.1:${edge.port}/a/b?c=1`, { headers: { host: 'app.example.com:8080' } }).then(async (r) => (await r.body.text(), r)),
      (r) => r.statusCode === 308,
      10_000,
      'the redirect',
    ).then((r) => expect(r.headers.location).toBe(`https://app.example.com:${edge.tlsPort}/a/b?c=1`));
    expect((await get('app.example.com')).status).toBe(200);
    // A Host that is not a name (it would be written into Location) is refused, not redirected.
    const hostile = await request(`http://127.0.0.1:${edge.port}/`, { headers: { host: 'evil.test/x?' } });
    await hostile.body.text();
    expect(hostile.statusCode).toBe(400);
    expect(hostile.headers.location).toBeUndefined();
  });
});
