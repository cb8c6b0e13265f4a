/**
 * `tls.http2: false` through a real `serve`: the TLS port is uWS's own TLS
 * (HTTP/1.1, also for a client that offers h2), and a renewed certificate
 * file reaches new handshakes without a restart, as on the ALPN port
 * (tls-serve.test.ts). Certificates from openssl, client node:https.
 */
import https from 'node:https';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificates, renewInPlace, type TestCertificates } from '../support/certs.js';
import { getMetrics, metricValue, startEdge, type TestEdge } from '../support/serve.js';
import { HAVE_DIST } from './serve-process.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { waitFor, waitForValue } from '../support/wait.js';

let certs: TestCertificates;
let pod: Upstream;
let edge: TestEdge;

const config = (): string => `domain: example.com
tls:
  certificates:
    - hosts: [app.example.com]
      cert: ${JSON.stringify(certs.leaf.cert)}
      key: ${JSON.stringify(certs.leaf.key)}
  http2: false
services:
  - name: app
    hosts: [app.example.com]
    revisions:
      - name: app-1
        endpoints: ["${pod.address}"]
    traffic: [{ revisionName: app-1, percent: 100 }]
`;

/** GET over TLS on a connection of its own, offering h2 and http/1.1 by ALPN; status, the protocol agreed, the served certificate's serial. */
function get(edge: TestEdge): Promise<{ status: number; alpn: string | false | null; serial: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port: edge.tlsPort!, path: '/', servername: 'app.example.com', headers: { host: 'app.example.com' }, ca: certs.ca, agent: false, ALPNProtocols: ['h2', 'http/1.1'] } as https.RequestOptions,
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const serial = socket.getPeerCertificate().serialNumber;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, alpn: socket.alpnProtocol, serial }));
      },
    );
    req.on('error', reject);
  });
}

beforeAll(async () => {
  certs = await makeCertificates(['app.example.com']);
  pod = await startUpstream('pod-a');
  edge = await startEdge(config(), { tlsPort: 0 });
  await waitFor(() => edge.edge.revision('app-1')?.readyPods === 1, 5000, 'static pod');
}, 30_000);

afterAll(async () => {
  await edge?.close();
  await pod?.close();
  certs?.cleanup();
});

describe('serve with tls.http2: false', () => {
  it('serves HTTPS/1.1 on uWS, also to a client that offers h2', async () => {
    expect(await get(edge)).toMatchObject({ status: 200, alpn: false });
    expect(pod.seen.at(-1)?.headers['x-forwarded-proto']).toBe('https');
  });

  it('a renewed certificate file is served to new handshakes without a restart', async () => {
    const renewed = await certs.issue(['app.example.com'], { name: 'renewed' });
    const want = renewInPlace(certs.leaf, renewed);
    await waitForValue(() => get(edge).then((r) => r.serial), (s) => s === want, 10_000, 'the renewed certificate');
    expect((await get(edge)).status).toBe(200);
  });
});

const OK_200 = /^tidegate_requests_total\{.*code="200"/;

describe.skipIf(!HAVE_DIST)('serve --workers 2 with tls.http2: false', () => {
  it('every loop serves the TLS port, and a renewed certificate reaches every loop', async () => {
    const edge = await startEdge(config(), { tlsPort: 0, workers: 2 });
    try {
      await waitFor(() => edge.edge.revision('app-1')?.readyPods === 1, 5000, 'static pod');
      const statuses = await Promise.all(Array.from({ length: 40 }, () => get(edge).then((r) => r.status)));
      expect(statuses).toEqual(Array(40).fill(200));
      // The other loop served some (the main loop's own counter has fewer than 40)…
      expect(metricValue(await edge.metrics.registry.metrics(), OK_200)).toBeLessThan(40);
      // …and all 40 are counted once the loops report.
      await waitFor(async () => metricValue(await getMetrics(edge.adminPort), OK_200) === 40, 5000, '40 requests counted');
      const renewed = await certs.issue(['app.example.com'], { name: 'renewed-again' });
      const want = renewInPlace(certs.leaf, renewed);
      const everyConnection = async (): Promise<boolean> => (await Promise.all(Array.from({ length: 20 }, () => get(edge)))).every((r) => r.status === 200 && r.serial === want);
      await waitForValue(everyConnection, (all) => all, 10_000, 'the renewed certificate on every loop');
    } finally {
      await edge.close();
    }
  }, 30_000);
});
