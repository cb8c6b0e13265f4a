import { uws, type HttpRequest, type HttpResponse, type us_socket_context_t, type WebSocket, type WebSocketBehavior } from '../shared/uws.js';
import type { TidegateError } from '../shared/errors.js';
import type { Tunnel, TunnelHandler } from '../upstream/dispatcher.js';
import { encodeClose, encodeFrame, FrameParser, isWireCloseCode, Opcode, WsProtocolError, type FrameSink } from '../upstream/ws-frames.js';

/** The largest message either side may send (a client's is gathered whole by uWS; a pod's is streamed). */
export const MAX_WS_MESSAGE = 32 * 1024 * 1024;
/** Pod bytes are read again once the client's send buffer is below this… */
const CLIENT_LOW = 256 * 1024;
/** …and reading stops once it passes this. */
const CLIENT_HIGH = 1024 * 1024;
/**
 * uWS drops a send beyond its maxBackpressure: room for the high mark plus
 * what one pod read can add before the pause takes effect.
 */
const CLIENT_MAX_BACKPRESSURE = 8 * 1024 * 1024;
/**
 * Client bytes the pod has not read yet beyond which the client's next
 * message closes it (1013, try again later): uWS.js v20.30 cannot pause a
 * WebSocket's reads, so this bounds what a client can make the edge hold for
 * a slow pod (checked before a message is written: one message of any
 * allowed size still goes to a pod that keeps up).
 */
const POD_MAX_QUEUED = 16 * 1024 * 1024;
/** After our close frame, how long the pod has to close its side before the connection is cut. */
const CLOSE_WAIT_MS = 5000;
/** How often a paused pod's client is looked at, in case uWS's drain event did not come. */
const RECHECK_MS = 250;

/**
 * Relays whose pod is paused for a slow client. uWS calls drain only when a
 * writable event finds backpressure to write, so bytes flushed by another
 * path leave a relay waiting for an event that never comes; one timer for
 * all of them looks again, and runs only while some pod is paused.
 */
const paused = new Set<WsRelay>();
let recheck: NodeJS.Timeout | null = null;

function watchPaused(relay: WsRelay): void {
  paused.add(relay);
  recheck ??= setInterval(() => {
    for (const r of paused) r.drain();
    if (paused.size === 0 && recheck !== null) {
      clearInterval(recheck);
      recheck = null;
    }
  }, RECHECK_MS).unref();
}

/** What the uWS upgrade handler must read before it returns (its req is gone afterwards). */
export interface ClientUpgrade {
  readonly key: string;
  readonly protocol: string;
  readonly extensions: string;
  readonly context: us_socket_context_t;
}

export function readClientUpgrade(req: HttpRequest, context: us_socket_context_t): ClientUpgrade {
  return {
    key: req.getHeader('sec-websocket-key'),
    protocol: req.getHeader('sec-websocket-protocol'),
    extensions: req.getHeader('sec-websocket-extensions'),
    context,
  };
}

/** A uWS WebSocket's user data: the relay it belongs to. */
export interface RelayData {
  relay: WsRelay;
}

/** The request a relay belongs to (a ProxyCall). */
export interface RelayOwner {
  /** A message (or a piece of one) went through; `toPod`: from the client. */
  relayed(toPod: boolean, bytes: number): void;
  /** Both sides are closed (or cut): called once. `code` is the close code the client got or sent. */
  relayEnded(code: number): void;
}

/**
 * One WebSocket relayed between a client (uWS's WebSocket server, which
 * parses the client's frames) and a pod (a tunnel after the pod's 101, whose
 * frames ws-frames.ts parses; tidegate is the pod's client, so its frames
 * are masked). Messages, pings and close codes pass both ways; the pod is
 * paused while the client reads slowly, and a client that outruns a slow pod
 * by more than POD_MAX_QUEUED is closed.
 */
export class WsRelay implements TunnelHandler, FrameSink {
  private ws: WebSocket<RelayData> | null = null;
  private readonly parser: FrameParser;
  /** Pod messages that came before the client's socket opened (copies). */
  private early: { payload: Buffer; binary: boolean; first: boolean; last: boolean }[] | null = null;
  private podPaused = false;
  /** The pod sent its close frame (we answered it). */
  private podClosed = false;
  private ended = false;
  private closeCode = 1005;

  constructor(
    private readonly owner: RelayOwner,
    private readonly tunnel: Tunnel,
  ) {
    this.parser = new FrameParser(this, { maxMessageBytes: MAX_WS_MESSAGE });
  }

  // ---- the client's side (uWS behaviour handlers) ----

  open(ws: WebSocket<RelayData>): void {
    this.ws = ws;
    const early = this.early;
    this.early = null;
    if (early !== null) for (const m of early) this.onMessagePart(m.payload, m.binary, m.first, m.last);
  }

  message(data: ArrayBuffer, isBinary: boolean): void {
    if (this.tunnel.queued > POD_MAX_QUEUED) {
      this.goAway(1013, 'the app is not reading');
      return;
    }
    const payload = new Uint8Array(data);
    this.owner.relayed(true, payload.length);
    this.send(encodeFrame(isBinary ? Opcode.Binary : Opcode.Text, payload));
  }

  ping(data: ArrayBuffer): void {
    this.send(encodeFrame(Opcode.Ping, new Uint8Array(data)));
  }

  pong(data: ArrayBuffer): void {
    this.send(encodeFrame(Opcode.Pong, new Uint8Array(data)));
  }

  drain(): void {
    const ws = this.ws;
    if (this.podPaused && ws !== null && ws.getBufferedAmount() < CLIENT_LOW) {
      this.podPaused = false;
      paused.delete(this);
      this.tunnel.resume();
    }
  }

  /** uWS's close handler: the client closed, or we did (ws.end / ws.close). The socket is gone. */
  clientClosed(code: number, message: ArrayBuffer): void {
    this.ws = null;
    if (this.ended) return;
    this.closeCode = code;
    if (!this.podClosed) {
      // Passed on as the client said it.
      this.send(closeFrame(code, Buffer.from(message).toString()));
      const tunnel = this.tunnel;
      setTimeout(() => tunnel.destroy(), CLOSE_WAIT_MS).unref();
    }
    this.tunnel.end();
    this.end();
  }

  /** Closes both sides with `code` (drain: 1001, idle timeout: 1001). */
  goAway(code: number, reason: string): void {
    if (this.ended) return;
    const ws = this.ws;
    if (ws !== null) ws.end(code, reason); // calls clientClosed at once
    else {
      this.send(encodeClose(code, reason));
      this.tunnel.end();
      this.closeCode = code;
      this.end();
    }
  }

  // ---- the pod's side (FrameSink, TunnelHandler) ----

  onTunnelData(chunk: Buffer): void {
    try {
      this.parser.feed(chunk);
    } catch (err) {
      if (!(err instanceof WsProtocolError)) throw err;
      // The pod broke the protocol: it hears why, the client gets 1011.
      this.podClosed = true;
      this.send(encodeClose(err.closeCode, err.message));
      this.tunnel.end();
      this.closeClient(1011, 'the app broke the WebSocket protocol');
    }
  }

  onTunnelDrain(): void {}

  onTunnelEnd(err: TidegateError | null): void {
    if (this.ended) return;
    this.podClosed = true;
    this.closeClient(1011, err === null ? 'the app closed the connection' : 'the connection to the app failed');
  }

  onMessagePart(payload: Buffer, binary: boolean, first: boolean, last: boolean): void {
    const ws = this.ws;
    if (ws === null) {
      if (!this.ended) (this.early ??= []).push({ payload: Buffer.from(payload), binary, first, last });
      return;
    }
    this.owner.relayed(false, payload.length);
    if (first && last) ws.send(payload, binary);
    else if (first) ws.sendFirstFragment(payload, binary);
    else if (last) ws.sendLastFragment(payload);
    else ws.sendFragment(payload);
    if (!this.podPaused && ws.getBufferedAmount() > CLIENT_HIGH) {
      this.podPaused = true;
      watchPaused(this);
      this.tunnel.pause();
    }
  }

  onPing(payload: Buffer): void {
    this.ws?.ping(payload);
  }

  /** uWS.js cannot send a pong of its own choosing; the client answers our pings itself, and uWS answers the client's. */
  onPong(): void {}

  onClose(code: number, reason: string): void {
    if (this.podClosed) return;
    this.podClosed = true;
    // The closing handshake: the pod's code echoed to it, then passed to the client.
    this.send(closeFrame(code, reason));
    this.tunnel.end();
    this.closeClient(code, reason);
  }

  private closeClient(code: number, reason: string): void {
    const ws = this.ws;
    if (ws === null) {
      this.closeCode = code;
      this.end();
      return;
    }
    // 1005 (no code) is never sent: an empty close frame instead.
    if (code === 1005) ws.end();
    else ws.end(code, reason);
  }

  private send(frames: Buffer[]): void {
    for (const f of frames) this.tunnel.write(f);
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.early = null;
    paused.delete(this);
    this.owner.relayEnded(this.closeCode);
  }
}

/** A close frame for the pod: codes that are never sent on the wire (1005 none, 1006 abnormal, 1015 TLS) make an empty one. */
function closeFrame(code: number, reason: string): Buffer[] {
  return isWireCloseCode(code) ? encodeClose(code, reason) : encodeFrame(Opcode.Close, new Uint8Array(0));
}

/** The uWS WebSocket route of an edge or a queue-proxy: `upgrade` routes the request; the rest go to its relay. */
export function relayBehavior(upgrade: (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => void): WebSocketBehavior<RelayData> {
  return {
    maxPayloadLength: MAX_WS_MESSAGE,
    maxBackpressure: CLIENT_MAX_BACKPRESSURE,
    closeOnBackpressureLimit: 0,
    // The revision's idleTimeoutSeconds is tidegate's own (ProxyCall's deadline), not uWS's.
    idleTimeout: 0,
    sendPingsAutomatically: false,
    compression: uws.DISABLED,
    upgrade,
    open: (ws) => ws.getUserData().relay.open(ws),
    message: (ws, data, isBinary) => ws.getUserData().relay.message(data, isBinary),
    drain: (ws) => ws.getUserData().relay.drain(),
    ping: (ws, data) => ws.getUserData().relay.ping(data),
    pong: (ws, data) => ws.getUserData().relay.pong(data),
    close: (ws, code, message) => ws.getUserData().relay.clientClosed(code, message),
  };
}
