import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TlsCertificate, TlsConfig } from '../config/types.js';
import type { Logger } from '../shared/log.js';
import { ensurePortFree, freePort } from '../shared/listen.js';
import { listenOn, uws, type TemplatedApp, type us_listen_socket } from '../shared/uws.js';
import { relayBehavior } from '../proxy/ws-relay.js';
import type { Edge } from './edge.js';

/**
 * The HTTPS port with `tls.http2: false`: uWebSockets.js's own TLS (SSLApp),
 * HTTP/1.1 and WebSocket only, with no node:tls in front and no bridge, so
 * about half the CPU per HTTPS/1.1 request of the ALPN port (tls-server.ts).
 * uWS offers no ALPN: a client that asks for h2 gets HTTP/1.1.
 *
 * SNI: every host of every certificate is one uWS server name (a "*." name
 * matches one more label; names match as the client sends them, so an
 * upper-case name gets the default), each with its own router holding the
 * edge's handlers; the first certificate is also the app's own, the one a
 * client with no name or an unknown one gets. uWS reads certificates
 * from files only, so the PEMs read and checked at load are written to a
 * new 0700 directory for the moment uWS reads them, then removed.
 *
 * With `--workers`, every event loop runs one (edge-worker.ts joins the
 * port the main loop bound), so HTTPS/1.1 uses every core.
 *
 * A reload swaps the server names in place (open connections keep theirs).
 * The app's own certificate cannot be changed, so when the first
 * certificate changes a new app takes the port: it listens beside the old
 * one (both with SO_REUSEPORT, the port checked free first like any other
 * port) and the old listen socket closes; the old app serves its open
 * connections until they end.
 */
export class UwsTlsServer {
  private app: TemplatedApp;
  /** The apps a reload replaced: kept referenced while their connections live. */
  private readonly retired: TemplatedApp[] = [];
  private socket: us_listen_socket | null = null;
  private host = '';
  private port = 0;
  /** The app's server names, each with the chain and key it serves (as pemOf gives them). */
  private names = new Map<string, string>();
  /** The first certificate's chain and key, as the app's own certificate was made from. */
  private own: string;

  constructor(
    private readonly edge: Edge,
    tls: TlsConfig,
    private readonly log: Logger,
  ) {
    const { app, own, names } = this.build(tls);
    this.app = app;
    this.own = own;
    this.names = names;
  }

  /**
   * Binds host:port with SO_REUSEPORT and resolves with the port. `join`: the
   * port is already this serve's (another event loop of `--workers` bound
   * it); otherwise it is checked free of other programs first.
   */
  async listen(host: string, port: number, join = false): Promise<number> {
    const target = port === 0 && !join ? await freePort(host) : port;
    if (!join) await ensurePortFree(host, target, 'TLS port');
    this.socket = await listenOn(this.app, host, target, 'TLS port', false);
    this.host = host;
    this.port = uws.us_socket_local_port(this.socket);
    return this.port;
  }

  /** A reloaded `tls:`: new handshakes get the new certificates, open connections keep theirs. */
  setCertificates(tls: TlsConfig): void {
    if (ownOf(tls) === this.own) {
      this.names = this.sync(this.app, this.names, tls);
      return;
    }
    const { app, own, names } = this.build(tls);
    // Listening: the new app takes the port beside the old one, then the old one lets go.
    // Not listening (yet, or any more): the new app is the one listen() opens.
    if (this.socket !== null) {
      let next: us_listen_socket | false = false;
      (app.listen as unknown as (h: string, p: number, o: number, cb: (s: us_listen_socket | false) => void) => void).call(app, this.host, this.port, 0, (s) => (next = s));
      if (next === false) {
        this.log.error({ port: this.port }, 'the TLS port could not take the new default certificate (a second listener on the port was refused); the old one keeps serving until a restart');
        return;
      }
      uws.us_listen_socket_close(this.socket);
      this.socket = next;
    }
    this.retired.push(this.app);
    this.app = app;
    this.own = own;
    this.names = names;
  }

  stopListening(): void {
    if (this.socket !== null) uws.us_listen_socket_close(this.socket);
    this.socket = null;
  }

  destroy(): void {
    this.stopListening();
  }

  private build(tls: TlsConfig): { app: TemplatedApp; own: string; names: Map<string, string> } {
    const first = tls.certificates[0];
    if (first === undefined) throw new TypeError('a TlsConfig has at least one certificate');
    const app = this.routed(this.withFiles(first, (files) => uws.SSLApp(files)));
    return { app, own: ownOf(tls), names: this.sync(app, new Map(), tls) };
  }

  /** The edge's handlers on `app`'s current router: uWS keeps one router per server name, chosen by the SNI name. */
  private routed(app: TemplatedApp): TemplatedApp {
    return app.ws('/*', relayBehavior(this.edge.upgradeSecure)).any('/*', this.edge.handleSecure);
  }

  /**
   * Makes `app`'s server names those of `tls` (the first entry that lists a
   * host has it), each with its router; `current`: what `app` has now. Only
   * names that are new or whose certificate changed are (re)added, and only
   * names gone or changed are removed: a reload that leaves the
   * certificates alone touches nothing (uWS prints a debug line on stdout
   * for each name it adds or removes).
   */
  private sync(app: TemplatedApp, current: ReadonlyMap<string, string>, tls: TlsConfig): Map<string, string> {
    const wanted = new Map<string, TlsCertificate>();
    for (const c of tls.certificates) for (const h of c.hosts) if (!wanted.has(h)) wanted.set(h, c);
    for (const [host, pem] of current) {
      const c = wanted.get(host);
      if (c === undefined || pemOf(c) !== pem) app.removeServerName(host);
    }
    const next = new Map<string, string>();
    const toAdd = new Map<TlsCertificate, string[]>();
    for (const [host, c] of wanted) {
      const pem = pemOf(c);
      next.set(host, pem);
      if (current.get(host) === pem) continue;
      const hosts = toAdd.get(c);
      if (hosts === undefined) toAdd.set(c, [host]);
      else hosts.push(host);
    }
    for (const [c, hosts] of toAdd) {
      this.withFiles(c, (files) => {
        for (const h of hosts) this.routed(app.addServerName(h, files).domain(h));
      });
    }
    return next;
  }

  /** `fn` with the certificate's chain and key as files uWS can read, in a new owner-only directory removed afterwards. */
  private withFiles<T>(c: TlsCertificate, fn: (files: { cert_file_name: string; key_file_name: string }) => T): T {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tidegate-tls-'));
    try {
      const cert = path.join(dir, 'cert.pem');
      const key = path.join(dir, 'key.pem');
      writeFileSync(cert, c.certPem, { mode: 0o600 });
      writeFileSync(key, c.keyPem, { mode: 0o600 });
      return fn({ cert_file_name: cert, key_file_name: key });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function pemOf(c: TlsCertificate): string {
  return `${c.certPem}\n${c.keyPem}`;
}

function ownOf(tls: TlsConfig): string {
  const first = tls.certificates[0];
  return first === undefined ? '' : pemOf(first);
}
