import { isUtf8 } from 'node:buffer';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';

/**
 * RFC 6455 framing for tidegate's side of a WebSocket towards a pod, where
 * tidegate is the client: it parses what the server sends (unmasked) and
 * masks what it sends. The client side of a relay is uWS's own server, which
 * frames for itself; nothing here touches a socket.
 */

/** Opcodes (RFC 6455 §5.2). */
export const enum Opcode {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xa,
}

/** What the parser reports to. Payload views are valid only during the call (they point into the fed buffer or a reused buffer): copy what you keep. */
export interface FrameSink {
  /**
   * A piece of a data message's payload, as it arrives (a message can be
   * large: it is never gathered whole). `first`: the first piece of a message
   * (its kind in `binary`); `last`: the message's last piece (FIN frame, end
   * of its payload). A zero-length message gives one call with first = last = true.
   */
  onMessagePart(payload: Buffer, binary: boolean, first: boolean, last: boolean): void;
  /** Whole control frames (≤ 125 bytes each, gathered if split across reads). */
  onPing(payload: Buffer): void;
  onPong(payload: Buffer): void;
  /** code: 1005 when the frame had no code; reason: UTF-8 text (may be ''). */
  onClose(code: number, reason: string): void;
}

/** The peer broke RFC 6455; `closeCode` is what to close the connection with (1002, 1007 or 1009). */
export class WsProtocolError extends Error {
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'WsProtocolError';
  }
}

/** Close codes that may appear in a Close frame (§7.4): 1004-1006 and 1015 are reserved or local-only, 1016-2999 unassigned. */
export function isWireCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const MAX_CONTROL_PAYLOAD = 125;
const EMPTY = Buffer.alloc(0);

const enum State {
  Header,
  Data,
  Control,
  /** After a Close frame or a protocol error: nothing more is read. */
  Closed,
}

/**
 * An incremental parser for the frames a server sends, for one connection.
 * Data payloads are passed on as views of the fed buffer as they arrive;
 * only headers (≤ 10 bytes) and control payloads (≤ 125) are ever copied,
 * and only when a read splits them.
 *
 * Strict: anything RFC 6455 forbids throws WsProtocolError, and the parser
 * then reads nothing more (the connection is to be failed). A length not
 * written in its shortest form is accepted (as `ws` does): it cannot make
 * tidegate and the pod disagree on where a frame ends. Text payloads are not
 * checked for UTF-8 here; the close reason is. Bytes after a Close frame are
 * ignored: the server sends nothing after it (§5.5.1).
 */
export class FrameParser {
  private state = State.Header;
  /** The current header, gathered at [0, headerLen) until headerNeed bytes are here (2, 4 or 10). */
  private readonly header = Buffer.alloc(10);
  private headerLen = 0;
  private headerNeed = 2;
  private opcode = Opcode.Continuation;
  private fin = false;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  /** A data message has begun and its FIN frame has not ended. */
  private inMessage = false;
  private binary = false;
  /** No piece of the current message has been reported yet. */
  private firstPiece = true;
  private messageBytes = 0;
  /** A control payload split across reads, gathered at [0, controlLen). */
  private readonly control = Buffer.alloc(MAX_CONTROL_PAYLOAD);
  private controlLen = 0;
  private readonly maxMessageBytes: number;

  constructor(
    private readonly sink: FrameSink,
    options?: { maxMessageBytes?: number },
  ) {
    const max = options?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`maxMessageBytes must be a non-negative integer, got ${max}`);
    this.maxMessageBytes = max;
  }

  /** Feeds bytes as read from the socket, split anywhere. */
  feed(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      switch (this.state) {
        case State.Header:
          at = this.readHeader(data, at);
          break;
        case State.Data:
          at = this.readData(data, at);
          break;
        case State.Control:
          at = this.readControl(data, at);
          break;
        case State.Closed:
          return;
      }
    }
  }

  private readHeader(data: Buffer, at: number): number {
    const header = this.header;
    while (at < data.length) {
      header[this.headerLen++] = data[at++]!;
      if (this.headerLen < this.headerNeed) continue;
      if (this.headerLen === 2) {
        // Everything but an extended length is known from the first two bytes: refuse early.
        const extra = this.checkStart(header[0]!, header[1]!);
        if (extra > 0) {
          this.headerNeed = 2 + extra;
          continue;
        }
      }
      this.startFrame(this.payloadLength());
      return at;
    }
    return at;
  }

  /** Checks the first two header bytes; returns how many extended-length bytes follow (0, 2 or 8). */
  private checkStart(b0: number, b1: number): number {
    if ((b0 & 0x70) !== 0) throw this.fail(1002, 'reserved bits set (no extension was negotiated)');
    if ((b1 & 0x80) !== 0) throw this.fail(1002, 'masked frame from a server');
    const opcode = (b0 & 0x0f) as Opcode; // any of 16 values: the switch refuses the undefined ones
    const fin = (b0 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    switch (opcode) {
      case Opcode.Continuation:
        if (!this.inMessage) throw this.fail(1002, 'continuation frame with no message begun');
        break;
      case Opcode.Text:
      case Opcode.Binary:
        if (this.inMessage) throw this.fail(1002, 'new data frame inside a fragmented message');
        break;
      case Opcode.Close:
      case Opcode.Ping:
      case Opcode.Pong:
        if (!fin) throw this.fail(1002, 'fragmented control frame');
        if (length7 > MAX_CONTROL_PAYLOAD) throw this.fail(1002, 'control frame longer than 125 bytes');
        break;
      default:
        throw this.fail(1002, `unknown opcode 0x${(b0 & 0x0f).toString(16)}`);
    }
    this.opcode = opcode;
    this.fin = fin;
    return length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
  }

  private payloadLength(): number {
    const header = this.header;
    if (this.headerNeed === 2) return header[1]! & 0x7f;
    if (this.headerNeed === 4) return header.readUInt16BE(2);
    const high = header.readUInt32BE(2);
    if (high >= 0x80000000) throw this.fail(1002, '64-bit payload length with its top bit set');
    // Exact up to 2^53; anything larger is far above any maxMessageBytes and refused as such.
    return high * 0x100000000 + header.readUInt32BE(6);
  }

  private startFrame(length: number): void {
    this.headerLen = 0;
    this.headerNeed = 2;
    this.remaining = length;
    if ((this.opcode & 0x8) !== 0) {
      this.controlLen = 0;
      this.state = State.Control;
      if (length === 0) this.endControl(EMPTY);
      return;
    }
    if (this.opcode !== Opcode.Continuation) {
      this.inMessage = true;
      this.binary = this.opcode === Opcode.Binary;
      this.firstPiece = true;
      this.messageBytes = 0;
    }
    // Refused from its header alone, before any of its payload is passed on.
    if (length > this.maxMessageBytes - this.messageBytes) throw this.fail(1009, `message larger than ${this.maxMessageBytes} bytes`);
    this.messageBytes += length;
    if (length > 0) {
      this.state = State.Data;
      return;
    }
    this.state = State.Header;
    if (!this.fin) return; // an empty fragment has nothing to report; `first` waits for the next piece
    this.inMessage = false;
    const first = this.firstPiece;
    this.firstPiece = false;
    this.sink.onMessagePart(EMPTY, this.binary, first, true);
  }

  private readData(data: Buffer, at: number): number {
    const n = Math.min(this.remaining, data.length - at);
    this.remaining -= n;
    const first = this.firstPiece;
    this.firstPiece = false;
    let last = false;
    if (this.remaining === 0) {
      this.state = State.Header;
      last = this.fin;
      if (last) this.inMessage = false;
    }
    this.sink.onMessagePart(data.subarray(at, at + n), this.binary, first, last);
    return at + n;
  }

  private readControl(data: Buffer, at: number): number {
    const n = Math.min(this.remaining, data.length - at);
    if (this.controlLen === 0 && n === this.remaining) {
      this.remaining = 0;
      this.endControl(data.subarray(at, at + n)); // whole in this read: no copy
      return at + n;
    }
    data.copy(this.control, this.controlLen, at, at + n);
    this.controlLen += n;
    this.remaining -= n;
    if (this.remaining === 0) this.endControl(this.control.subarray(0, this.controlLen));
    return at + n;
  }

  private endControl(payload: Buffer): void {
    this.state = State.Header;
    if (this.opcode === Opcode.Ping) this.sink.onPing(payload);
    else if (this.opcode === Opcode.Pong) this.sink.onPong(payload);
    else {
      this.state = State.Closed;
      if (payload.length === 0) this.sink.onClose(1005, '');
      else this.sink.onClose(...this.readClose(payload));
    }
  }

  private readClose(payload: Buffer): [code: number, reason: string] {
    if (payload.length === 1) throw this.fail(1002, 'close frame of 1 byte');
    const code = payload.readUInt16BE(0);
    if (!isWireCloseCode(code)) throw this.fail(1002, `close code ${code} is not allowed on the wire`);
    const reason = payload.subarray(2);
    if (!isUtf8(reason)) throw this.fail(1007, 'close reason is not UTF-8');
    return [code, reason.toString('utf8')];
  }

  private fail(closeCode: number, message: string): WsProtocolError {
    this.state = State.Closed;
    return new WsProtocolError(closeCode, message);
  }
}

/**
 * Mask keys must be unpredictable (§5.3, §10.3): they come from the CSPRNG,
 * 4 KiB at a time (1024 keys per syscall), each 4 bytes used once.
 */
const MASK_POOL_SIZE = 4096;
const maskPool = Buffer.allocUnsafeSlow(MASK_POOL_SIZE);
let maskAt = MASK_POOL_SIZE; // empty until the first frame

/**
 * A frame as a client sends it: masked with a fresh key. Always one Buffer
 * (header + masked payload): the payload must be copied anyway, since masking
 * may not touch the caller's bytes, so XORing it in behind the header costs
 * no extra copy, and one buffer is one write. The array leaves callers one
 * shape to write, should a form without masking ever be added.
 */
export function encodeFrame(opcode: Opcode, payload: Uint8Array, fin = true): Buffer[] {
  const length = payload.length;
  if ((opcode & 0x8) !== 0) {
    if (opcode !== Opcode.Close && opcode !== Opcode.Ping && opcode !== Opcode.Pong) throw new RangeError(`unknown opcode ${opcode}`);
    if (length > MAX_CONTROL_PAYLOAD) throw new RangeError(`control frame payload of ${length} bytes (at most 125)`);
    if (!fin) throw new RangeError('control frames cannot be fragmented');
  } else if (opcode > Opcode.Binary) throw new RangeError(`unknown opcode ${opcode}`);

  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const keyAt = 2 + lengthBytes;
  const payloadAt = keyAt + 4;
  // Every byte is written below, so the buffer needs no zeroing.
  const out = Buffer.allocUnsafe(payloadAt + length);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (lengthBytes === 0) out[1] = 0x80 | length;
  else if (lengthBytes === 2) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    out.writeUInt32BE(length >>> 0, 6);
  }
  if (maskAt === MASK_POOL_SIZE) {
    randomFillSync(maskPool);
    maskAt = 0;
  }
  maskPool.copy(out, keyAt, maskAt, maskAt + 4);
  maskAt += 4;
  maskInto(payload, out, payloadAt, keyAt);
  return [out];
}

/** XORs `src` with the key at out[keyAt, keyAt+4) into out from `at`, four bytes a round with the key in locals. */
function maskInto(src: Uint8Array, out: Buffer, at: number, keyAt: number): void {
  const k0 = out[keyAt]!;
  const k1 = out[keyAt + 1]!;
  const k2 = out[keyAt + 2]!;
  const k3 = out[keyAt + 3]!;
  const length = src.length;
  const whole = length - (length & 3);
  let i = 0;
  for (; i < whole; i += 4) {
    out[at + i] = src[i]! ^ k0;
    out[at + i + 1] = src[i + 1]! ^ k1;
    out[at + i + 2] = src[i + 2]! ^ k2;
    out[at + i + 3] = src[i + 3]! ^ k3;
  }
  for (; i < length; i++) out[at + i] = src[i]! ^ out[keyAt + (i & 3)]!;
}

/** Where a close payload is put together before encodeFrame copies it out (synchronously, so one serves all). */
const closeScratch = Buffer.allocUnsafe(MAX_CONTROL_PAYLOAD);

/**
 * A Close frame. The reason is cut to the 123 bytes of UTF-8 that fit, never
 * inside a character. 1005 ("no code") gives a Close frame with no payload,
 * as the parser reports one, so a close can be passed on as it came; it has
 * no room for a reason. Other codes not allowed on the wire throw RangeError.
 */
export function encodeClose(code: number, reason: string): Buffer[] {
  if (code === 1005) {
    if (reason !== '') throw new RangeError('a close with no code (1005) cannot carry a reason');
    return encodeFrame(Opcode.Close, EMPTY);
  }
  if (!Number.isInteger(code) || !isWireCloseCode(code)) throw new RangeError(`close code ${code} is not allowed on the wire`);
  closeScratch.writeUInt16BE(code, 0);
  // Buffer#write stops before a character that does not fit whole.
  const reasonBytes = closeScratch.write(reason, 2, 'utf8');
  return encodeFrame(Opcode.Close, closeScratch.subarray(0, 2 + reasonBytes));
}

const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A Sec-WebSocket-Key: 16 random bytes, base64 (§4.1). */
export function newWebSocketKey(): string {
  return randomBytes(16).toString('base64');
}

/** The Sec-WebSocket-Accept a server must answer for `key` (§4.2.2). */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + HANDSHAKE_GUID).digest('base64');
}
