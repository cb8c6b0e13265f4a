/**
 * The TLS port (router/tls-server.ts) in front of the edge: ALPN picks
 * HTTP/2 or HTTP/1.1 on one port, HTTP/1.1 (WebSockets too) reaches the uWS
 * app through the PROXY v2 bridge with the client's address, pods see
 * X-Forwarded-Proto https, and new certificates apply to new handshakes
 * while requests keep flowing. Real certificates (openssl), real clients
 * (node:https, node:http2, curl, ws).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { H2Server } from '../../src/router/h2-server.js';
import { proxyHeader, TlsServer, type TlsCertificates } from '../../src/router/tls-server.js';
import { silentLogger } from '../../src/shared/log.js';
import { startBareEdge, type BareEdge } from '../support/bare-edge.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { echoOverTls, startEchoPod } from '../support/ws-client.js';

const run = promisify(execFile);

const CONFIG = `domain: example.com
services:
  - name: app
    revisions:
      - name: app-1
        endpoints: ["127.0.0.1:1"]
    traffic: [{ revisionName: app-1, percent: 100 }]
`;

let dir: string;
let pod: Upstream;
let bare: BareEdge;
let h2: H2Server;
let front: TlsServer;
let port: number;
let certA: { cert: Buffer; key: Buffer };
let certB: { cert: Buffer; key: Buffer };

/** A self-signed certificate for app.example.com, with `cn` to tell two apart. */
async function selfSigned(name: string, cn: string): Promise<{ cert: Buffer; key: Buffer }> {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}-key.pem`);
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=DNS:app.example.com']);
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

function certificates(c: { cert: Buffer; key: Buffer }): TlsCertificates {
  const ctx = tls.createSecureContext({ cert: c.cert, key: c.key });
  return { defaultCert: c.cert, defaultKey: c.key, minVersion: 'TLSv1.2', sniCallback: (_name, cb) => cb(null, ctx) };
}

/** An HTTPS/1.1 GET trusting `ca`; resolves with status, body and the certificate's CN. */
function httpsGet(urlPath: string, ca: Buffer, agent?: https.Agent): Promise<{ status: number; body: string; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: urlPath, servername: 'app.example.com', headers: { host: 'app.example.com' }, ca, agent: agent ?? false }, (res) => {
      const cn = String((res.socket as tls.TLSSocket).getPeerCertificate().subject?.CN ?? '');
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cn }));
    });
    req.on('error', reject);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tidegate-tls-test-'));
  [certA, certB] = await Promise.all([selfSigned('a', 'cert-a'), selfSigned('b', 'cert-b')]);
  pod = await startUpstream('pod-a');
  bare = await startBareEdge(CONFIG);
  bare.setPods('app-1', [pod.address]);
  h2 = new H2Server(bare.edge, silentLogger);
  front = new TlsServer(bare.edge, h2, certificates(certA), silentLogger);
  port = await front.listen('127.0.0.1', 0);
});

afterAll(async () => {
  front?.destroy();
  h2?.destroy();
  bare?.close();
  await pod?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the TLS port', () => {
  it('serves HTTPS/1.1; the pod sees X-Forwarded-Proto https and the client address', async () => {
    const before = pod.seen.length;
    const r = await httpsGet('/over-tls', certA.cert);
    expect(r.status).toBe(200);
    expect(r.body).toBe('pod-a\n');
    expect(r.cn).toBe('cert-a');
    const seen = pod.seen[before]!;
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(String(seen.headers['forwarded'])).toContain('proto=https');
  });

  it('serves HTTP/2 on the same port when ALPN offers h2', async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: certA.cert, servername: 'app.example.com' });
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const s = session.request({ ':path': '/h2', ':authority': 'app.example.com' });
        let status = 0;
        let body = '';
        s.on('response', (h) => (status = Number(h[':status'])));
        s.on('data', (c: Buffer) => (body += c.toString()));
        s.on('end', () => resolve({ status, body }));
        s.on('error', reject);
      });
      expect(answer).toEqual({ status: 200, body: 'pod-a\n' });
      expect((session.socket as tls.TLSSocket).alpnProtocol).toBe('h2');
      expect(pod.seen.at(-1)!.headers['x-forwarded-proto']).toBe('https');
      expect(pod.seen.at(-1)!.headers['x-forwarded-for']).toBe('127.0.0.1'); // the stream's own address (the reader's text setting)
    } finally {
      session.close();
    }
  });

  it('answers curl over HTTP/1.1 and HTTP/2', async () => {
    const ca = path.join(dir, 'a.pem');
    const resolve = `app.example.com:${port}:127.0.0.1`;
    const url = `https://app.example.com:${port}/`;
    for (const [flag, version] of [['--http1.1', '1.1'], ['--http2', '2']] as const) {
      const { stdout } = await run('curl', ['-sS', flag, '--cacert', ca, '--resolve', resolve, '-o', '/dev/null', '-w', '%{http_version} %{http_code}', url]);
      expect(stdout).toBe(`${version} 200`);
    }
  });

  it('relays a WebSocket over TLS (wss://)', async () => {
    const echoPod = await startEchoPod();
    bare.setPods('app-1', [echoPod.address]);
    try {
      expect(await echoOverTls(port, certA.cert, 'over tls')).toBe('over tls');
    } finally {
      bare.setPods('app-1', [pod.address]);
      await echoPod.close();
    }
  });

  it('new certificates serve new handshakes while requests keep succeeding', async () => {
    const both = Buffer.concat([certA.cert, certB.cert]);
    let failures = 0;
    let done = 0;
    let stop = false;
    const cns = new Set<string>();
    const load = (async () => {
      while (!stop) {
        const r = await httpsGet('/', both).catch(() => null);
        if (r === null || r.status !== 200) failures++;
        else cns.add(r.cn);
        done++;
      }
    })();
    await new Promise((r) => setTimeout(r, 150));
    front.setCertificates(certificates(certB));
    await new Promise((r) => setTimeout(r, 150));
    stop = true;
    await load;
    expect(failures).toBe(0);
    expect(done).toBeGreaterThan(5);
    expect([...cns].sort()).toEqual(['cert-a', 'cert-b']);
    expect((await httpsGet('/', certB.cert)).cn).toBe('cert-b');
    front.setCertificates(certificates(certA));
  });

  it("a client's own PROXY header inside TLS cannot set the address the pod sees", async () => {
    const before = pod.seen.length;
    const spoof = proxyHeader({ remoteAddress: '10.9.9.9', localAddress: '10.0.0.1', remotePort: 1, localPort: 2 } as never);
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'app.example.com', ca: certA.cert, ALPNProtocols: ['http/1.1'] });
    await new Promise((r) => socket.once('secureConnect', r));
    socket.write(Buffer.concat([spoof, Buffer.from('GET /spoofed HTTP/1.1\r\nHost: app.example.com\r\n\r\n')]));
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('close', r));
    expect(pod.seen.slice(before).filter((r) => r.headers['x-forwarded-for'] === '10.9.9.9')).toEqual([]);
    expect(answer.startsWith('HTTP/1.1 200')).toBe(false);
    expect((await httpsGet('/', certA.cert)).status).toBe(200);
  });

  it('a client that fails the handshake costs nothing else', async () => {
    await expect(httpsGet('/', certB.cert)).rejects.toThrow(/self.signed|unable to verify|certificate/i);
    expect((await httpsGet('/', certA.cert)).status).toBe(200);
  });
});

describe('proxyHeader', () => {
  it('encodes an IPv4 client as PROXY v2 TCP4 with both addresses and ports', () => {
    const h = proxyHeader({ remoteAddress: '::ffff:10.1.2.3', localAddress: '::ffff:127.0.0.1', remotePort: 40000, localPort: 8443 } as never);
    expect(h.subarray(0, 12).toString('latin1')).toBe('\r\n\r\n\0\r\nQUIT\n');
    expect([...h.subarray(12, 16)]).toEqual([0x21, 0x11, 0, 12]);
    expect([...h.subarray(16, 24)]).toEqual([10, 1, 2, 3, 127, 0, 0, 1]);
    expect(h.readUInt16BE(24)).toBe(40000);
    expect(h.readUInt16BE(26)).toBe(8443);
  });

  it('encodes an IPv6 client as TCP6, :: expanded', () => {
    const h = proxyHeader({ remoteAddress: '2001:db8::1', localAddress: '::1', remotePort: 1, localPort: 2 } as never);
    expect([...h.subarray(12, 16)]).toEqual([0x21, 0x21, 0, 36]);
    expect(h.subarray(16, 32).toString('hex')).toBe('20010db8000000000000000000000001');
    expect(h.subarray(32, 48).toString('hex')).toBe('00000000000000000000000000000001');
  });
});
