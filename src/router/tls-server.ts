import { mkdtempSync, rmSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls, { type SecureContext, type SecureVersion, type TLSSocket } from 'node:tls';
import type { Logger } from '../shared/log.js';
import { listenNode } from '../shared/listen.js';
import { uws, type TemplatedApp, type us_listen_socket } from '../shared/uws.js';
import { relayBehavior } from '../proxy/ws-relay.js';
import { TidegateError } from '../shared/errors.js';
import type { Edge } from './edge.js';
import type { H2Server } from './h2-server.js';

/** What the TLS port needs of the `tls:` config (config/tls.ts's TlsContexts). */
export interface TlsCertificates {
  /** The first certificate's chain and key: what a client that sends no SNI name gets. */
  readonly defaultCert: Buffer;
  readonly defaultKey: Buffer;
  readonly minVersion: SecureVersion;
  /** tls.createServer's SNICallback: the context for a name (exact, then wildcard, else the default). */
  sniCallback(servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void;
}

/**
 * The HTTPS port (`--tls-port`): node:tls terminates TLS and ALPN picks the
 * protocol. `h2` connections go to the HTTP/2 server (h2-server.ts);
 * HTTP/1.1 connections (WebSockets included) are piped to a uWS app on a
 * private Unix socket, after a PROXY protocol v2 header naming the client,
 * so they take the same uWS request path as the cleartext port (one
 * HttpResponse shape for ProxyCall) and the pod still learns the client's
 * address. uWS's own SSLApp cannot offer h2 by ALPN: one port for both needs
 * node's TLS in front. docs/architecture.md, "TLS and HTTP/2".
 */
export class TlsServer {
  private readonly server: tls.Server;
  private readonly inner: TemplatedApp;
  private innerSocket: us_listen_socket | null = null;
  private readonly dir: string;
  private readonly innerPath: string;
  private certs: TlsCertificates;
  private readonly open = new Set<Socket>();
  private listening = false;

  constructor(
    edge: Edge,
    private readonly h2: H2Server,
    certs: TlsCertificates,
    private readonly log: Logger,
  ) {
    this.certs = certs;
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'tidegate-tls-'));
    this.innerPath = path.join(this.dir, 'http1.sock');
    this.inner = uws.App().ws('/*', relayBehavior(edge.upgradeTls)).any('/*', edge.handleTls);
    this.server = tls.createServer({
      ALPNProtocols: ['h2', 'http/1.1'],
      cert: certs.defaultCert,
      key: certs.defaultKey,
      minVersion: certs.minVersion,
      SNICallback: (name, cb) => this.certs.sniCallback(name, cb),
    });
    this.server.on('secureConnection', (socket: TLSSocket) => this.accepted(socket));
    this.server.on('tlsClientError', (err, socket) => {
      this.log.debug({ err: err.message, client: socket.remoteAddress }, 'TLS handshake failed');
      socket.destroy();
    });
  }

  /** New certificates (a reload): new handshakes use them, open connections keep theirs. */
  setCertificates(certs: TlsCertificates): void {
    this.server.setSecureContext({ cert: certs.defaultCert, key: certs.defaultKey, minVersion: certs.minVersion });
    this.certs = certs;
  }

  async listen(host: string, port: number): Promise<number> {
    this.innerSocket = await new Promise<us_listen_socket | false>((resolve) => this.inner.listen_unix(resolve, this.innerPath)).then((s) => {
      if (s === false) throw new TidegateError('TG_ERR_LISTEN', `cannot listen on ${this.innerPath} (the TLS port's HTTP/1.1 side)`);
      return s;
    });
    const bound = await listenNode(this.server, host, port, 'TLS port');
    this.listening = true;
    return bound;
  }

  private accepted(socket: TLSSocket): void {
    if (socket.alpnProtocol === 'h2') {
      this.h2.attach(socket);
      return;
    }
    // HTTP/1.1 (ALPN http/1.1, or a client that offered none).
    const inner = net.connect(this.innerPath);
    inner.setNoDelay(true);
    this.open.add(socket);
    inner.write(proxyHeader(socket));
    socket.pipe(inner);
    inner.pipe(socket);
    const done = (): void => {
      this.open.delete(socket);
      socket.destroy();
      inner.destroy();
    };
    socket.once('close', done);
    inner.once('close', done);
    socket.on('error', done);
    inner.on('error', done);
  }

  /** No new connections; open ones go on (their requests drain through the edge). */
  stopListening(): void {
    if (this.listening) this.server.close();
    this.listening = false;
  }

  /** After the drain: the open connections and the inner socket go. */
  destroy(): void {
    this.stopListening();
    for (const s of this.open) s.destroy();
    if (this.innerSocket !== null) uws.us_listen_socket_close(this.innerSocket);
    this.innerSocket = null;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const SIGNATURE = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1');

/**
 * A PROXY protocol v2 header (haproxy's proxy-protocol.txt, §2.2): PROXY
 * command over TCP, source = the TLS client, destination = the TLS port. uWS
 * reads it and reports the source as the proxied remote address.
 */
export function proxyHeader(socket: Socket): Buffer {
  const src = socket.remoteAddress ?? '';
  const dst = socket.localAddress ?? '';
  const v4 = net.isIPv4(src) || src.startsWith('::ffff:');
  const bytes = v4 ? 12 : 36;
  const out = Buffer.alloc(16 + bytes);
  SIGNATURE.copy(out, 0);
  out[12] = 0x21; // version 2, PROXY
  out[13] = v4 ? 0x11 : 0x21; // TCP over IPv4 / IPv6
  out.writeUInt16BE(bytes, 14);
  if (v4) {
    writeV4(out, 16, src);
    writeV4(out, 20, dst);
    out.writeUInt16BE(socket.remotePort ?? 0, 24);
    out.writeUInt16BE(socket.localPort ?? 0, 26);
  } else {
    writeV6(out, 16, src);
    writeV6(out, 32, dst);
    out.writeUInt16BE(socket.remotePort ?? 0, 48);
    out.writeUInt16BE(socket.localPort ?? 0, 50);
  }
  return out;
}

function writeV4(out: Buffer, at: number, address: string): void {
  const text = address.startsWith('::ffff:') ? address.slice(7) : address;
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) out[at + i] = Number(parts[i] ?? 0) & 0xff;
}

function writeV6(out: Buffer, at: number, address: string): void {
  if (!net.isIPv6(address)) return; // zeros: unknown
  const [head = '', tail = ''] = address.split('::') as [string?, string?];
  const h = head === '' ? [] : head.split(':');
  const t = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  for (let i = 0; i < 8; i++) out.writeUInt16BE(parseInt(groups[i] ?? '0', 16) & 0xffff, at + 2 * i);
}
