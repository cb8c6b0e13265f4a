/**
 * The TLS port with `tls.http2: false` (router/uws-tls-server.ts): uWS's own
 * TLS in front of the edge. SNI by exact name, by wildcard and to the first
 * certificate; HTTP/1.1 for a client that asks for h2; the pod sees
 * X-Forwarded-Proto https and the peer's own address (a PROXY header the
 * client sends inside TLS is not believed); wss:// relayed; reloads swap
 * named certificates in place and the default one by a second listener,
 * with new connections succeeding throughout; a port in use is refused.
 * Certificates from openssl (test/support/certs.ts); clients node:https,
 * curl, ws, raw TLS sockets.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsConfig } from '../../src/config/types.js';
import { UwsTlsServer } from '../../src/router/uws-tls-server.js';
import { proxyHeader } from '../../src/router/tls-server.js';
import { silentLogger } from '../../src/shared/log.js';
import { makeCertificates, serialOf, type LeafFiles, type TestCertificates } from '../support/certs.js';
import { startBareEdge, type BareEdge } from '../support/bare-edge.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { echoOverTls, startEchoPod } from '../support/ws-client.js';

const run = promisify(execFile);

const CONFIG = `domain: example.com
services:
  - name: app
    hosts: [app.example.com, api.other.test, unknown.example.org]
    revisions:
      - name: app-1
        endpoints: ["127.0.0.1:1"]
    traffic: [{ revisionName: app-1, percent: 100 }]
`;

let certs: TestCertificates;
let other: LeafFiles;
let pod: Upstream;
let bare: BareEdge;
let front: UwsTlsServer;
let port: number;

/** The `tls:` section as config/tls.ts reads it: these leaves, in order, with http2: false. */
function tlsConfig(...leaves: { leaf: LeafFiles; hosts: string[] }[]): TlsConfig {
  return {
    minVersion: 'TLSv1.2',
    redirectHttp: false,
    http2: false,
    certificates: leaves.map(({ leaf, hosts }) => ({
      hosts,
      certFile: leaf.cert,
      keyFile: leaf.key,
      certPem: readFileSync(leaf.cert, 'utf8'),
      keyPem: readFileSync(leaf.key, 'utf8'),
      notBefore: leaf.notBefore.getTime(),
      notAfter: leaf.notAfter.getTime(),
    })),
  };
}

/** GET over TLS to `at` sending `servername` as SNI (none when empty: given as '', since node's agent would take it from Host otherwise) and Host; status, body and the served certificate's serial. */
function get(servername: string, urlPath = '/', at = port): Promise<{ status: number; body: string; serial: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port: at, path: urlPath, servername, headers: { host: servername || 'app.example.com' }, ca: certs.ca, agent: false, checkServerIdentity: () => undefined },
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const serial = socket.getPeerCertificate().serialNumber;
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial, alpn: socket.alpnProtocol }));
      },
    );
    req.on('error', reject);
  });
}

beforeAll(async () => {
  certs = await makeCertificates(['app.example.com']);
  other = await certs.issue(['*.other.test'], { name: 'other' });
  pod = await startUpstream('pod-a');
  bare = await startBareEdge(CONFIG);
  bare.setPods('app-1', [pod.address]);
  front = new UwsTlsServer(bare.edge, tlsConfig({ leaf: certs.leaf, hosts: ['app.example.com'] }, { leaf: other, hosts: ['*.other.test'] }), silentLogger);
  port = await front.listen('127.0.0.1', 0);
}, 30_000);

afterAll(async () => {
  front?.destroy();
  bare?.close();
  await pod?.close();
  certs?.cleanup();
});

describe('the TLS port on uWS (tls.http2: false)', () => {
  it('SNI picks the certificate: an exact name, a one-label wildcard, the first for an unknown name or none', async () => {
    const [app, wild] = [serialOf(certs.leaf.cert), serialOf(other.cert)];
    expect(await get('app.example.com')).toMatchObject({ status: 200, body: 'pod-a\n', serial: app });
    expect(await get('api.other.test')).toMatchObject({ status: 200, body: 'pod-a\n', serial: wild });
    expect(await get('unknown.example.org')).toMatchObject({ status: 200, serial: app });
    expect(await get('')).toMatchObject({ status: 200, serial: app });
  });

  it('the pod sees X-Forwarded-Proto https and the peer address; a client asking for h2 gets HTTP/1.1', async () => {
    const before = pod.seen.length;
    expect((await get('app.example.com', '/seen')).alpn).toBe(false);
    const seen = pod.seen[before]!;
    expect(seen.url).toBe('/seen');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(String(seen.headers['forwarded'])).toContain('proto=https');
    const { stdout } = await run('curl', ['-sS', '--http2', '--cacert', certs.caFile, '--resolve', `app.example.com:${port}:127.0.0.1`, '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `https://app.example.com:${port}/`]);
    expect(stdout).toBe('1.1 200');
  });

  it("a client's own PROXY header inside TLS cannot set the address the pod sees", async () => {
    const before = pod.seen.length;
    const spoof = proxyHeader({ remoteAddress: '10.9.9.9', localAddress: '10.0.0.1', remotePort: 1, localPort: 2 } as net.Socket);
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'app.example.com', ca: certs.ca });
    await new Promise((r) => socket.once('secureConnect', r));
    socket.write(Buffer.concat([spoof, Buffer.from('GET /spoofed HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n')]));
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('close', r));
    expect(pod.seen.slice(before).filter((r) => r.headers['x-forwarded-for'] !== '127.0.0.1')).toEqual([]);
    expect((await get('app.example.com')).status).toBe(200);
  });

  it('relays a WebSocket over TLS (wss://)', async () => {
    const echoPod = await startEchoPod();
    bare.setPods('app-1', [echoPod.address]);
    try {
      expect(await echoOverTls(port, certs.ca, 'over uws tls')).toBe('over uws tls');
    } finally {
      bare.setPods('app-1', [pod.address]);
      await echoPod.close();
    }
  });

  it('a reload that keeps the certificates keeps serving them; a host added to one is served by it', async () => {
    const [app, wild] = [serialOf(certs.leaf.cert), serialOf(other.cert)];
    const same = tlsConfig({ leaf: certs.leaf, hosts: ['app.example.com'] }, { leaf: other, hosts: ['*.other.test'] });
    front.setCertificates(same);
    expect(await get('app.example.com')).toMatchObject({ status: 200, serial: app });
    expect(await get('api.other.test')).toMatchObject({ status: 200, serial: wild });
    expect((await get('extra.example.net')).serial).toBe(app); // unknown: the first certificate
    front.setCertificates(tlsConfig({ leaf: certs.leaf, hosts: ['app.example.com'] }, { leaf: other, hosts: ['*.other.test', 'extra.example.net'] }));
    expect((await get('extra.example.net')).serial).toBe(wild);
    expect(await get('api.other.test')).toMatchObject({ status: 200, serial: wild });
    front.setCertificates(same);
    expect((await get('extra.example.net')).serial).toBe(app);
    expect(await get('app.example.com')).toMatchObject({ status: 200, serial: app });
  });

  it('reloads: a named certificate swaps in place, the first one by a second listener; new connections succeed throughout', async () => {
    const renewedOther = await certs.issue(['*.other.test'], { name: 'other-renewed' });
    const renewedApp = await certs.issue(['app.example.com'], { name: 'app-renewed' });
    let failures = 0;
    let done = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        const names = ['app.example.com', 'api.other.test', ''];
        const r = await get(names[done % 3]!).catch(() => null);
        if (r === null || r.status !== 200) failures++;
        done++;
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    front.setCertificates(tlsConfig({ leaf: certs.leaf, hosts: ['app.example.com'] }, { leaf: renewedOther, hosts: ['*.other.test'] }));
    await new Promise((r) => setTimeout(r, 100));
    expect((await get('api.other.test')).serial).toBe(serialOf(renewedOther.cert));
    front.setCertificates(tlsConfig({ leaf: renewedApp, hosts: ['app.example.com'] }, { leaf: renewedOther, hosts: ['*.other.test'] }));
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await load;
    expect(failures).toBe(0);
    expect(done).toBeGreaterThan(10);
    expect((await get('app.example.com')).serial).toBe(serialOf(renewedApp.cert));
    expect((await get('')).serial).toBe(serialOf(renewedApp.cert));
    expect((await get('api.other.test')).serial).toBe(serialOf(renewedOther.cert));
  });

  it('a new first certificate given before listen is the one served once listening', async () => {
    const renewedApp = await certs.issue(['app.example.com'], { name: 'app-before-listen' });
    const second = new UwsTlsServer(bare.edge, tlsConfig({ leaf: certs.leaf, hosts: ['app.example.com'] }), silentLogger);
    try {
      second.setCertificates(tlsConfig({ leaf: renewedApp, hosts: ['app.example.com'] }));
      const at = await second.listen('127.0.0.1', 0);
      expect((await get('', '/', at)).serial).toBe(serialOf(renewedApp.cert));
      expect((await get('unknown.test', '/', at)).serial).toBe(serialOf(renewedApp.cert));
      expect((await get('app.example.com', '/', at)).serial).toBe(serialOf(renewedApp.cert));
    } finally {
      second.destroy();
    }
  });

  it('refuses a port another program holds, naming it', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const taken = (holder.address() as net.AddressInfo).port;
    const second = new UwsTlsServer(bare.edge, tlsConfig({ leaf: certs.leaf, hosts: ['app.example.com'] }), silentLogger);
    try {
      await expect(second.listen('127.0.0.1', taken)).rejects.toThrow(`cannot listen on 127.0.0.1:${taken} (TLS port): address already in use`);
    } finally {
      second.destroy();
      await new Promise((r) => holder.close(r));
    }
  });

  it('cleartext HTTP, a garbage ClientHello and a handshake cut halfway are closed; the port serves on', async () => {
    const before = pod.seen.length;
    const closes = (bytes: Buffer, end: boolean): Promise<string> =>
      new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => (end ? s.end(bytes) : s.write(bytes)));
        let got = '';
        s.on('data', (c: Buffer) => (got += c.toString('latin1')));
        s.on('error', () => undefined);
        s.on('close', () => resolve(got));
        if (!end) setTimeout(() => s.destroy(), 200);
      });
    const plain = await closes(Buffer.from('GET / HTTP/1.1\r\nHost: app.example.com\r\n\r\n'), true);
    expect(plain.startsWith('HTTP/1.1 200')).toBe(false);
    await closes(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00]), Buffer.alloc(64, 0xff)]), true);
    await closes(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]), false); // a ClientHello that never finishes
    expect(pod.seen.length).toBe(before);
    expect((await get('app.example.com')).status).toBe(200);
  });

  it('refuses TLSv1.1 (uWS accepts TLSv1.2 and up)', async () => {
    const attempt = tls.connect({ host: '127.0.0.1', port, servername: 'app.example.com', ca: certs.ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
    await expect(new Promise((resolve, reject) => attempt.once('secureConnect', resolve).once('error', reject))).rejects.toThrow(/version|handshake|alert|socket/i);
    attempt.destroy();
  });
});
