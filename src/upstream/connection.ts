import net from 'node:net';
import { TidegateError } from '../shared/errors.js';
import { ResponseParser, type ResponseHead, type ResponseSink } from './response-parser.js';
import { SLAB_SIZE } from './buffers.js';
import type { DispatchController, DispatchHandler, Tunnel, TunnelHandler, UpstreamRequest } from './dispatcher.js';
import type { UpstreamPool } from './pool.js';
import type { UpstreamRuntime } from './runtime.js';

/** Request bytes queued in a socket beyond which the caller is told to wait. */
const MAX_QUEUED = 256 * 1024;
/** How long a pod's idle connection is kept when its response did not say (Keep-Alive: timeout=N). */
const DEFAULT_KEEP_ALIVE_MS = 4000;
const LAST_CHUNK = '0\r\n\r\n';

/**
 * One keep-alive HTTP/1.1 socket to an upstream, carrying one request at a
 * time: it is the DispatchController of the request it carries. Response
 * bytes are read into the runtime's shared read buffer and go straight to the
 * handler through the parser; request-body bytes go out from recycled slabs,
 * framed as chunks when the request is chunked.
 */
export class UpstreamConnection implements DispatchController, ResponseSink {
  readonly socket: net.Socket;
  private readonly parser: ResponseParser;
  private handler: DispatchHandler | null = null;
  private gotBytes = false;
  private lastError: NodeJS.ErrnoException | null = null;
  private dead = false;
  private chunked = false;
  private requestDone = false;
  private keepAlive = false;
  private keepAliveMs = DEFAULT_KEEP_ALIVE_MS;
  private data: Buffer | null = null;
  /** How much of `data` the parser took (after a 101, the rest is the tunnel's). */
  private fed = 0;
  /** Created once per connection: feeds `this.data` to the parser inside the handler's cork. */
  private readonly feedData = (): void => {
    try {
      this.fed = this.parser.feed(this.data!);
    } catch (err) {
      this.feedError = err;
    }
  };
  /** A 101 the parser just read, for switchProtocols once the cork is over. */
  private upgradeHead: ResponseHead | null = null;
  /** After a 101: who hears the pod's bytes. The connection never goes back to its pool. */
  private tunnel: TunnelHandler | null = null;
  private feedError: unknown = null;
  /** A body-less request's head, waiting for the end of the turn (UpstreamRuntime.holdWrites). */
  private heldHead: string | null = null;
  private isHeld = false;
  /** While idle in its pool: when it must no longer be reused (clock ms). */
  idleUntil = 0;

  /** Slabs handed to the socket, in write order: each write's callback returns the oldest. */
  private slabs: Buffer[] = [];
  private readonly slabWritten = (): void => {
    const slab = this.slabs.shift();
    if (slab !== undefined) this.runtime.buffers.returnSlab(slab);
  };

  constructor(
    private readonly pool: UpstreamPool,
    private readonly runtime: UpstreamRuntime,
  ) {
    this.parser = new ResponseParser(this, runtime.buffers.heads);
    const read = runtime.buffers.read;
    const socket = net.connect({
      host: pool.host,
      port: pool.port,
      noDelay: true,
      onread: {
        buffer: read,
        callback: (n: number, buf: Uint8Array): boolean => {
          this.onData((buf as Buffer).subarray(0, n));
          return true; // backpressure pauses the socket explicitly
        },
      },
    });
    this.socket = socket;
    runtime.raw?.readRaw(socket, (n) => this.onData(read.subarray(0, n)));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.lastError = err;
    });
    socket.on('close', () => this.onClose());
    socket.on('drain', () => {
      if (this.tunnel !== null) this.tunnel.onTunnelDrain();
      else this.handler?.onRequestDrain();
    });
  }

  /**
   * Starts a request: its head goes out at the end of this turn, straight to
   * the socket's handle when it has no body, else corked with the first body
   * bytes written next.
   */
  start(handler: DispatchHandler, req: UpstreamRequest, extraHeaders: string): void {
    this.handler = handler;
    this.gotBytes = false;
    this.keepAlive = false;
    this.chunked = req.chunked;
    this.requestDone = !req.chunked && req.contentLength <= 0;
    this.parser.expect(req.method === 'HEAD', req.upgrade);
    if (!this.isHeld) {
      this.isHeld = true;
      this.runtime.holdWrites(this);
    }
    const head = `${req.method} ${req.url} HTTP/1.1\r\n${req.headerBlock}${extraHeaders}\r\n`;
    if (this.requestDone) {
      this.heldHead = head;
      return;
    }
    if (!this.socket.writableCorked) this.socket.cork();
    this.socket.write(head, 'utf8');
  }

  /** Sends what start() held. */
  flush(): void {
    this.isHeld = false;
    const head = this.heldHead;
    this.heldHead = null;
    if (head !== null && !this.dead && !this.runtime.raw?.writeRaw(this.socket, head)) this.socket.write(head, 'utf8');
    if (this.socket.writableCorked) this.socket.uncork();
  }

  // ---- DispatchController ----

  /**
   * Body bytes, copied into slabs (the caller's memory is uWS's, reused once
   * it returns); one chunk each when the request is chunked. Node's write()
   * answers false for any chunk above its 16 KiB high-water mark even when
   * the kernel took it all at once, and pausing the client then costs a
   * pause/resume round per request body: what matters is what is still queued.
   */
  write(bytes: Uint8Array): boolean {
    if (bytes.length === 0) return true;
    if (this.chunked) this.socket.write(`${bytes.length.toString(16)}\r\n`);
    const buffers = this.runtime.buffers;
    for (let at = 0; at < bytes.length; at += SLAB_SIZE) {
      const n = Math.min(SLAB_SIZE, bytes.length - at);
      const slab = buffers.takeSlab();
      slab.set(n === bytes.length ? bytes : bytes.subarray(at, at + n));
      this.slabs.push(slab);
      this.socket.write(n === SLAB_SIZE ? slab : slab.subarray(0, n), this.slabWritten);
    }
    if (this.chunked) this.socket.write('\r\n');
    return this.socket.writableLength < MAX_QUEUED;
  }

  end(): void {
    if (this.requestDone) return;
    this.requestDone = true;
    if (this.chunked) this.socket.write(LAST_CHUNK);
  }

  get connecting(): boolean {
    return this.socket.connecting;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  get responseDone(): boolean {
    return this.parser.done;
  }

  /**
   * Back to the pool, or closed. Only an exchange where the request was sent
   * whole and the response ended exactly where its framing said (no byte
   * after it: `parser.reusable`) on a keep-alive connection may carry another.
   */
  release(): void {
    this.handler = null;
    if (this.requestDone && this.keepAlive && !this.dead && this.parser.reusable) {
      this.socket.resume();
      this.pool.release(this, this.keepAliveMs);
    } else this.destroy();
  }

  abort(): void {
    this.destroy();
  }

  // ---- ResponseSink: the parser's events, passed to the handler ----

  onResponseHead(head: ResponseHead): void {
    this.keepAlive = head.keepAlive;
    this.keepAliveMs = head.keepAliveMs >= 0 ? head.keepAliveMs : DEFAULT_KEEP_ALIVE_MS;
    const handler = this.handler;
    if (handler === null) return;
    if (head.status !== 101) {
      handler.onResponseStart(head);
      return;
    }
    // The parser took the 101 only for a request that asked for it (and
    // stops there). The handler hears of it once the read's cork is over:
    // see switchProtocols.
    this.upgradeHead = head;
  }

  /**
   * A 101 goes to the handler outside its cork, because uWS.js (v20.30)
   * cannot upgrade a response inside res.cork() made outside uWS's own
   * callbacks: after the handler, cork() checks whether the socket moved to
   * tell an upgrade happened, but adopting it into the WebSocket context
   * often keeps its address (the WebSocket's data is smaller), so cork() reads
   * HttpResponseData::state from the WebSocket's bytes and, when they happen
   * to look like "Connection: close, answered", shuts the new WebSocket down:
   * the client sees its 101 and then a FIN, no close frame (1006), and its
   * first message is lost (uNetworking/uWebSockets#1928, fixed upstream by
   * #1929). Uncorked, upgrade() writes the 101 itself.
   */
  private switchProtocols(handler: DispatchHandler, head: ResponseHead): void {
    this.handler = null;
    const tunnel = handler.onUpgrade(head, this.asTunnel());
    if (tunnel === null) this.destroy();
    else this.tunnel = tunnel;
  }

  /** The tunnel, as the parser's 101 may just have set it. */
  private get switched(): TunnelHandler | null {
    return this.tunnel;
  }

  private asTunnel(): Tunnel {
    const socket = this.socket;
    return {
      write: (bytes) => this.write(bytes),
      pause: () => socket.pause(),
      resume: () => socket.resume(),
      get queued() {
        return socket.writableLength;
      },
      end: () => socket.end(),
      destroy: () => this.destroy(),
    };
  }

  onResponseBody(chunk: Buffer): void {
    this.handler?.onResponseData(chunk);
  }

  onResponseEnd(): void {
    this.handler?.onResponseEnd();
  }

  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    this.handler = null;
    this.tunnel = null;
    this.socket.destroy();
    this.pool.forget(this);
  }

  private onData(data: Buffer): void {
    if (this.tunnel !== null) {
      this.tunnel.onTunnelData(data);
      return;
    }
    const handler = this.handler;
    if (!handler) {
      // Bytes on an idle connection belong to no request: the peer is confused.
      this.destroy();
      return;
    }
    this.gotBytes = true;
    this.data = data;
    handler.cork(this.feedData);
    this.data = null;
    const upgrade = this.upgradeHead;
    if (upgrade !== null) {
      this.upgradeHead = null;
      this.switchProtocols(handler, upgrade);
    }
    const tunnel = this.switched;
    if (tunnel !== null) {
      // The bytes after the 101, in the same read.
      if (this.fed < data.length) tunnel.onTunnelData(data.subarray(this.fed));
      return;
    }
    if (this.feedError !== null) {
      const err = this.feedError;
      this.feedError = null;
      this.destroy();
      handler.onResponseError(err instanceof TidegateError ? err : new TidegateError('TG_ERR_UPSTREAM_PROTOCOL', err instanceof Error ? err.message : 'unparseable response'), true);
    }
  }

  private onClose(): void {
    this.data = null;
    const handler = this.handler;
    this.dead = true;
    this.pool.forget(this);
    const tunnel = this.tunnel;
    if (tunnel !== null) {
      this.tunnel = null;
      const code = this.lastError?.code;
      tunnel.onTunnelEnd(code === undefined ? null : new TidegateError('TG_ERR_UPSTREAM_RESET', `connection to ${this.pool.address} failed (${code})`));
      return;
    }
    if (!handler) return;
    // A body that ends with the connection ends only by the pod's FIN: a reset
    // (or any socket error) cuts it, and the client must see it cut, not complete.
    if (this.parser.eof(this.lastError === null)) return;
    this.handler = null;
    const code = this.lastError?.code;
    const err =
      code === 'ECONNREFUSED'
        ? new TidegateError('TG_ERR_UPSTREAM_REFUSED', `connection to ${this.pool.address} refused`)
        : new TidegateError('TG_ERR_UPSTREAM_RESET', `connection to ${this.pool.address} ${code ? `failed (${code})` : 'closed'} before the response completed`);
    handler.onResponseError(err, this.gotBytes);
  }
}
