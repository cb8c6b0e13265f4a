import http2, { type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../shared/log.js';
import { listenNode } from '../shared/listen.js';
import type { Edge } from './edge.js';

/**
 * The HTTP/2 listener: `--h2c-port` (cleartext, prior knowledge) and the
 * TLS connections whose ALPN chose `h2` (tls-server.ts hands them over with
 * attach). Each stream is one request through the edge (Edge.stream), the
 * same path as an HTTP/1.1 request. uWebSockets.js has no HTTP/2, so this is
 * node:http2; it runs on the main event loop only.
 */
export class H2Server {
  private readonly server: Http2Server;
  private readonly sessions = new Set<Http2Session>();
  private listening = false;

  constructor(
    private readonly edge: Edge,
    private readonly log: Logger,
  ) {
    // The edge's own limits apply per request (max-header-size, max-body-size); these bound a session.
    this.server = http2.createServer({ maxSessionMemory: 64, settings: { maxConcurrentStreams: 1000 } });
    this.server.on('session', (session) => this.track(session));
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const socket = stream.session?.socket;
      if (socket === undefined) return;
      this.edge.stream(stream, headers, stream.session!.encrypted === true, clientAddress(socket.remoteAddress));
    });
    this.server.on('sessionError', (err) => this.log.debug({ err: err.message }, 'HTTP/2 session error'));
  }

  private track(session: Http2Session): void {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    session.on('error', () => undefined); // 'close' follows; the streams report their own ends
  }

  /** Binds `--h2c-port` exclusively; resolves with the port, or rejects with TG_ERR_LISTEN. */
  async listen(host: string, port: number): Promise<number> {
    const bound = await listenNode(this.server, host, port, 'HTTP/2 cleartext port');
    this.listening = true;
    return bound;
  }

  /** A TLS connection whose ALPN chose h2: served like an h2c connection, marked encrypted. */
  attach(socket: TLSSocket | Socket): void {
    this.server.emit('connection', socket);
  }

  /** No new connections; every session gets GOAWAY (its open streams finish). */
  stopListening(): void {
    if (this.listening) this.server.close();
    this.listening = false;
    for (const s of this.sessions) if (!s.closed) s.close();
  }

  /** After the drain: whatever is still open is torn down. */
  destroy(): void {
    this.stopListening();
    for (const s of this.sessions) s.destroy();
  }
}

/** node's text for an IPv4 peer on a dual-stack socket is ::ffff:a.b.c.d; the log and X-Forwarded-For get a.b.c.d. */
function clientAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
