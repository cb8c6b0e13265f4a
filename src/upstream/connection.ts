import net from 'node:net';
import { TidegateError } from '../shared/errors.js';
import { ResponseParser, type ResponseSink } from './response-parser.js';
import { readBuffer, returnSlab, SLAB_SIZE, takeSlab } from './buffers.js';
import { readRaw, writeRaw } from './raw-socket.js';
import type { UpstreamPool } from './pool.js';

/** The side that uses a connection for one request at a time (an Exchange). */
export interface ConnectionUser extends ResponseSink {
  /** The socket failed or closed before the response completed. */
  onConnectionError(err: TidegateError, gotResponseBytes: boolean): void;
  /** The socket's write buffer drained (request-body backpressure). */
  onUpstreamDrain(): void;
  /** Runs `fn` with the client's writes corked, so one upstream read makes one client write. */
  cork(fn: () => void): void;
}

/** Request bytes queued in a socket beyond which the client is paused. */
const MAX_QUEUED = 256 * 1024;

/**
 * Connections whose writes are held until the end of this event-loop turn.
 * The requests that one turn of uWS reads go out to the pods together, so a
 * pod woken by the first finds the rest waiting instead of being woken (and
 * preempting tidegate on a shared core) once per request.
 */
const held: UpstreamConnection[] = [];
function flushHeld(): void {
  for (let i = 0; i < held.length; i++) held[i]!.flush();
  held.length = 0;
}

const NULL_SINK: ResponseSink = { onResponseHead() {}, onResponseBody() {}, onResponseEnd() {} };

/**
 * One keep-alive socket to an upstream, carrying one request at a time.
 * Response bytes are read into the shared read buffer and go straight to the
 * user through the parser; request-body bytes go out from recycled slabs.
 */
export class UpstreamConnection {
  readonly socket: net.Socket;
  private parser = new ResponseParser(NULL_SINK);
  private user: ConnectionUser | null = null;
  private gotBytes = false;
  private lastError: NodeJS.ErrnoException | null = null;
  private dead = false;
  private data: Buffer | null = null;
  /** Created once per connection: feeds `this.data` to the parser inside the user's cork. */
  private readonly feedData = (): void => {
    try {
      this.parser.feed(this.data!);
    } catch (err) {
      this.feedError = err;
    }
  };
  private feedError: unknown = null;
  /** A body-less request's head, waiting for the end of the turn (see `held`). */
  private heldHead: string | null = null;
  private isHeld = false;
  /** Requests served so far: a failure on a reused connection may be a keep-alive race. */
  uses = 0;
  /** While idle in its pool: when it must no longer be reused (epoch ms). */
  idleUntil = 0;

  /** Slabs handed to the socket, in write order: each write's callback returns the oldest. */
  private slabs: Buffer[] = [];
  private readonly slabWritten = (): void => {
    const slab = this.slabs.shift();
    if (slab !== undefined) returnSlab(slab);
  };

  constructor(private pool: UpstreamPool) {
    const socket = net.connect({
      host: pool.host,
      port: pool.port,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (n: number, buf: Uint8Array): boolean => {
          this.onData((buf as Buffer).subarray(0, n));
          return true; // backpressure pauses the socket explicitly
        },
      },
    });
    this.socket = socket;
    readRaw(socket, (n) => this.onData(readBuffer.subarray(0, n)));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.lastError = err;
    });
    socket.on('close', () => this.onClose());
    socket.on('drain', () => this.user?.onUpstreamDrain());
  }

  /**
   * Starts a request: its head goes out at the end of this turn, straight to
   * the socket's handle when it has no body (`bodyFollows` false), else
   * corked with the first body bytes the caller writes next.
   */
  start(user: ConnectionUser, head: string, isHead: boolean, bodyFollows: boolean): boolean {
    this.user = user;
    this.gotBytes = false;
    this.uses++;
    this.parser.sink = user;
    this.parser.expect(isHead);
    if (!this.isHeld) {
      this.isHeld = true;
      held.push(this);
      if (held.length === 1) setImmediate(flushHeld);
    }
    if (!bodyFollows) {
      this.heldHead = head;
      return true;
    }
    if (!this.socket.writableCorked) this.socket.cork();
    this.socket.write(head, 'utf8');
    return this.socket.writableLength < MAX_QUEUED;
  }

  /** Sends what start() held. */
  flush(): void {
    this.isHeld = false;
    const head = this.heldHead;
    this.heldHead = null;
    if (head !== null && !this.dead && !writeRaw(this.socket, head)) this.socket.write(head, 'utf8');
    if (this.socket.writableCorked) this.socket.uncork();
  }

  /**
   * Writes and says whether the caller may keep writing. Node's write()
   * answers false for any chunk above its 16 KiB high-water mark even when the
   * kernel took it all at once; pausing the client then costs a pause/resume
   * round per request body. What matters is what is still queued.
   */
  write(chunk: Buffer | string): boolean {
    this.socket.write(chunk);
    return this.socket.writableLength < MAX_QUEUED;
  }

  /** Like write(), for bytes whose memory the caller will reuse (a uWS body chunk): they are copied into slabs first. */
  writeCopy(bytes: Uint8Array): boolean {
    for (let at = 0; at < bytes.length; at += SLAB_SIZE) {
      const n = Math.min(SLAB_SIZE, bytes.length - at);
      const slab = takeSlab();
      slab.set(n === bytes.length ? bytes : bytes.subarray(at, at + n));
      this.slabs.push(slab);
      this.socket.write(n === SLAB_SIZE ? slab : slab.subarray(0, n), this.slabWritten);
    }
    return this.socket.writableLength < MAX_QUEUED;
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
   * The user is finished with the connection: back to the pool, or closed.
   * Only a response that ended exactly where its framing said lets the
   * connection carry another request (`parser.reusable`: no byte after it).
   */
  finish(reusable: boolean, idleTimeoutMs: number): void {
    this.user = null;
    this.parser.sink = NULL_SINK;
    if (reusable && !this.dead && this.parser.reusable) {
      this.socket.resume();
      this.pool.release(this, idleTimeoutMs);
    } else this.destroy();
  }

  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    this.user = null;
    this.socket.destroy();
    this.pool.forget(this);
  }

  private onData(data: Buffer): void {
    const user = this.user;
    if (!user) {
      // Bytes on an idle connection belong to no request: the peer is confused.
      this.destroy();
      return;
    }
    this.gotBytes = true;
    this.data = data;
    user.cork(this.feedData);
    this.data = null;
    if (this.feedError !== null) {
      const err = this.feedError;
      this.feedError = null;
      this.user = null;
      this.destroy();
      this.data = null;
      user.onConnectionError(err instanceof TidegateError ? err : new TidegateError('TG_ERR_UPSTREAM_PROTOCOL', err instanceof Error ? err.message : 'unparseable response'), true);
    }
  }

  private onClose(): void {
    this.data = null;
    const user = this.user;
    this.dead = true;
    this.pool.forget(this);
    if (!user) return;
    // A body that ends with the connection ends only by the pod's FIN: a reset
    // (or any socket error) cuts it, and the client must see it cut, not complete.
    if (this.parser.eof(this.lastError === null)) return;
    this.user = null;
    const code = this.lastError?.code;
    const err =
      code === 'ECONNREFUSED'
        ? new TidegateError('TG_ERR_UPSTREAM_REFUSED', `connection to ${this.pool.address} refused`)
        : new TidegateError('TG_ERR_UPSTREAM_RESET', `connection to ${this.pool.address} ${code ? `failed (${code})` : 'closed'} before the response completed`);
    user.onConnectionError(err, this.gotBytes);
  }
}
