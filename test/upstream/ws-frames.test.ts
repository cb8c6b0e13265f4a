import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { acceptFor, encodeClose, encodeFrame, FrameParser, newWebSocketKey, Opcode, WsProtocolError, type FrameSink } from '../../src/upstream/ws-frames.js';
import { seededRandom } from '../support/seeded-random.js';
import { waitFor } from '../support/wait.js';

// --- A server's side, written here independently of the code under test ---

interface ServerFrameOptions {
  fin?: boolean;
  /** RSV1-3 as the bits 0x40, 0x20, 0x10. */
  rsv?: number;
  maskKey?: Buffer;
  /** Says this length in the header instead of the payload's own. */
  declaredLength?: bigint;
}

/** An unmasked frame as a server writes it, with the shortest length form unless `declaredLength` says otherwise. */
function serverFrame(opcode: number, payload: Uint8Array | string = '', o: ServerFrameOptions = {}): Buffer {
  let body = Buffer.from(payload);
  const length = o.declaredLength ?? BigInt(body.length);
  const b0 = ((o.fin ?? true) ? 0x80 : 0) | (o.rsv ?? 0) | opcode;
  const maskBit = o.maskKey ? 0x80 : 0;
  let header: Buffer;
  if (length < 126n) header = Buffer.from([b0, maskBit | Number(length)]);
  else if (length < 0x10000n) {
    header = Buffer.from([b0, maskBit | 126, 0, 0]);
    header.writeUInt16BE(Number(length), 2);
  } else {
    header = Buffer.from([b0, maskBit | 127, 0, 0, 0, 0, 0, 0, 0, 0]);
    header.writeBigUInt64BE(length, 2);
  }
  if (o.maskKey) {
    const key = o.maskKey;
    body = Buffer.from(body.map((b, i) => b ^ key[i % 4]!));
    header = Buffer.concat([header, key]);
  }
  return Buffer.concat([header, body]);
}

function closePayload(code: number, reason: Uint8Array | string = ''): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

interface ClientFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  key: Buffer;
  /** 7, 16 or 64: how the length was written. */
  lengthForm: number;
  payload: Buffer;
}

/** Decodes exactly one masked frame, as a server would (RFC 6455 §5.2, §5.3). */
function decodeClientFrame(frame: Buffer): ClientFrame {
  const length7 = frame[1]! & 0x7f;
  let at = 2;
  let length: number;
  let lengthForm = 7;
  if (length7 === 126) {
    length = frame.readUInt16BE(2);
    at = 4;
    lengthForm = 16;
  } else if (length7 === 127) {
    length = Number(frame.readBigUInt64BE(2));
    at = 10;
    lengthForm = 64;
  } else length = length7;
  const masked = (frame[1]! & 0x80) !== 0;
  const key = masked ? frame.subarray(at, at + 4) : Buffer.alloc(4);
  if (masked) at += 4;
  expect(frame.length).toBe(at + length); // one whole frame, nothing more
  const payload = Buffer.alloc(length);
  for (let i = 0; i < length; i++) payload[i] = frame[at + i]! ^ key[i % 4]!;
  return { fin: (frame[0]! & 0x80) !== 0, rsv: frame[0]! & 0x70, opcode: frame[0]! & 0x0f, masked, key: Buffer.from(key), lengthForm, payload };
}

function onlyBuffer(frames: Buffer[]): Buffer {
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

// --- What a parser reports, with the piece-by-piece contract checked as it goes ---

type Event =
  | { kind: 'message'; binary: boolean; data: string }
  | { kind: 'ping' | 'pong'; data: string }
  | { kind: 'close'; code: number; reason: string };

/** Gathers message pieces (checking first/last/binary) into whole messages; payloads as hex so that comparisons print well. */
class Recorder implements FrameSink {
  readonly events: Event[] = [];
  /** Every piece as [bytes, first, last], for tests about how a message arrives. */
  readonly parts: [number, boolean, boolean][] = [];
  private open: Buffer[] | null = null;
  private openBinary = false;

  onMessagePart(payload: Buffer, binary: boolean, first: boolean, last: boolean): void {
    this.parts.push([payload.length, first, last]);
    if (first !== (this.open === null)) throw new Error(`first=${first} while a message was ${this.open ? '' : 'not '}open`);
    if (first) {
      this.open = [];
      this.openBinary = binary;
    } else if (binary !== this.openBinary) throw new Error('message kind changed between pieces');
    this.open!.push(Buffer.from(payload)); // views are valid only during the call
    if (last) {
      this.events.push({ kind: 'message', binary, data: Buffer.concat(this.open!).toString('hex') });
      this.open = null;
    }
  }
  onPing(payload: Buffer): void {
    this.events.push({ kind: 'ping', data: payload.toString('hex') });
  }
  onPong(payload: Buffer): void {
    this.events.push({ kind: 'pong', data: payload.toString('hex') });
  }
  onClose(code: number, reason: string): void {
    this.events.push({ kind: 'close', code, reason });
  }
}

const hex = (s: Uint8Array | string): string => Buffer.from(s).toString('hex');

function parse(pieces: Buffer[], options?: { maxMessageBytes?: number }): Recorder {
  const recorder = new Recorder();
  const parser = new FrameParser(recorder, options);
  for (const piece of pieces) parser.feed(piece);
  return recorder;
}

/** The stream cut in two at every point, and one byte at a time. */
function everySplit(bytes: Buffer): Buffer[][] {
  const splits: Buffer[][] = [];
  for (let i = 0; i <= bytes.length; i++) splits.push([bytes.subarray(0, i), bytes.subarray(i)]);
  splits.push([...bytes].map((b) => Buffer.from([b])));
  return splits;
}

/** Parses the stream whole, then at every split, and expects the same events each time. */
function expectEventsAtEverySplit(bytes: Buffer, expected: Event[]): void {
  expect(parse([bytes]).events).toEqual(expected);
  for (const pieces of everySplit(bytes)) expect(parse(pieces).events, `split ${pieces.map((p) => p.length).join('+')}`).toEqual(expected);
}

function pattern(length: number, seed = 1): Buffer {
  const random = seededRandom(seed);
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = Math.floor(random() * 256);
  return b;
}

function protocolError(fn: () => void): WsProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WsProtocolError);
    return e as WsProtocolError;
  }
  throw new Error('no WsProtocolError was thrown');
}

// --- Parsing ---

describe('FrameParser', () => {
  it('reports small frames of each kind the same way however the stream is split', () => {
    const stream = Buffer.concat([
      serverFrame(Opcode.Text, 'héllo'),
      serverFrame(Opcode.Binary, Buffer.from([0, 1, 2, 255])),
      serverFrame(Opcode.Text),
      serverFrame(Opcode.Binary),
      serverFrame(Opcode.Ping, 'p'),
      serverFrame(Opcode.Pong),
      serverFrame(Opcode.Close, closePayload(1000, 'bye')),
    ]);
    expectEventsAtEverySplit(stream, [
      { kind: 'message', binary: false, data: hex('héllo') },
      { kind: 'message', binary: true, data: '000102ff' },
      { kind: 'message', binary: false, data: '' },
      { kind: 'message', binary: true, data: '' },
      { kind: 'ping', data: hex('p') },
      { kind: 'pong', data: '' },
      { kind: 'close', code: 1000, reason: 'bye' },
    ]);
  });

  it('gives a zero-length message as one piece with first and last', () => {
    const r = parse([serverFrame(Opcode.Binary)]);
    expect(r.parts).toEqual([[0, true, true]]);
  });

  it('reads payload lengths in the 7-, 16- and 64-bit forms, in any split near the header and the end', () => {
    for (const [length, lengthByte] of [
      [0, 0],
      [125, 125],
      [126, 126],
      [65535, 126],
      [65536, 127],
      [1024 * 1024, 127],
    ] as const) {
      const payload = pattern(length, length);
      const frame = serverFrame(Opcode.Binary, payload);
      expect(frame[1]! & 0x7f).toBe(lengthByte);
      const expected: Event[] = [{ kind: 'message', binary: true, data: payload.toString('hex') }];
      const cuts = new Set<number>();
      for (let i = 0; i <= Math.min(frame.length, 16); i++) cuts.add(i);
      for (let i = Math.max(0, frame.length - 3); i <= frame.length; i++) cuts.add(i);
      for (const cut of cuts) expect(parse([frame.subarray(0, cut), frame.subarray(cut)]).events, `length ${length}, cut ${cut}`).toEqual(expected);
    }
  });

  it('passes a large message on piece by piece as it arrives, never gathered', () => {
    const payload = pattern(1024 * 1024);
    const frame = serverFrame(Opcode.Binary, payload);
    const pieces: Buffer[] = [];
    for (let at = 0; at < frame.length; at += 16 * 1024) pieces.push(frame.subarray(at, at + 16 * 1024));
    const r = parse(pieces);
    expect(r.events).toEqual([{ kind: 'message', binary: true, data: payload.toString('hex') }]);
    expect(r.parts.length).toBe(pieces.length);
    expect(r.parts.every(([n]) => n <= 16 * 1024)).toBe(true);
    expect(r.parts[0]![1]).toBe(true);
    expect(r.parts.at(-1)![2]).toBe(true);
  });

  it('joins fragmented text and binary messages, with control frames between their fragments', () => {
    const stream = Buffer.concat([
      serverFrame(Opcode.Text, 'hel', { fin: false }),
      serverFrame(Opcode.Ping, 'x'),
      serverFrame(Opcode.Continuation, Buffer.from('l\xc3', 'latin1'), { fin: false }), // 'é' cut between fragments
      serverFrame(Opcode.Continuation, '', { fin: false }),
      serverFrame(Opcode.Pong),
      serverFrame(Opcode.Continuation, Buffer.from('\xa9o', 'latin1')),
      serverFrame(Opcode.Binary, Buffer.from([1]), { fin: false }),
      serverFrame(Opcode.Continuation, Buffer.from([2, 3])),
    ]);
    expectEventsAtEverySplit(stream, [
      { kind: 'ping', data: hex('x') },
      { kind: 'pong', data: '' },
      { kind: 'message', binary: false, data: hex('helléo') },
      { kind: 'message', binary: true, data: '010203' },
    ]);
    // The empty fragment adds no piece; the FIN fragment's end is the only `last`.
    expect(parse([stream]).parts).toEqual([
      [3, true, false],
      [2, false, false],
      [2, false, true],
      [1, true, false],
      [2, false, true],
    ]);
  });

  it('ends a fragmented message on an empty FIN fragment with an empty last piece, or one empty piece if all were empty', () => {
    expect(parse([Buffer.concat([serverFrame(Opcode.Text, 'ab', { fin: false }), serverFrame(Opcode.Continuation)])]).parts).toEqual([
      [2, true, false],
      [0, false, true],
    ]);
    const empty = parse([Buffer.concat([serverFrame(Opcode.Text, '', { fin: false }), serverFrame(Opcode.Continuation, '', { fin: false }), serverFrame(Opcode.Continuation)])]);
    expect(empty.parts).toEqual([[0, true, true]]);
    expect(empty.events).toEqual([{ kind: 'message', binary: false, data: '' }]);
  });

  it('gathers control frames split across reads, up to 125 bytes', () => {
    const ping = pattern(125, 7);
    const reason = 'a reason with ü in it';
    const stream = Buffer.concat([serverFrame(Opcode.Ping, ping), serverFrame(Opcode.Pong, 'pong!'), serverFrame(Opcode.Close, closePayload(4999, reason))]);
    expectEventsAtEverySplit(stream, [
      { kind: 'ping', data: ping.toString('hex') },
      { kind: 'pong', data: hex('pong!') },
      { kind: 'close', code: 4999, reason },
    ]);
  });

  it('reports a close frame with no payload as code 1005 and an empty reason', () => {
    expect(parse([serverFrame(Opcode.Close)]).events).toEqual([{ kind: 'close', code: 1005, reason: '' }]);
  });

  it('accepts every close code allowed on the wire', () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999]) {
      expect(parse([serverFrame(Opcode.Close, closePayload(code))]).events).toEqual([{ kind: 'close', code, reason: '' }]);
    }
  });

  it('reads nothing after a close frame', () => {
    const r = parse([Buffer.concat([serverFrame(Opcode.Close, closePayload(1001)), serverFrame(Opcode.Text, 'late')]), serverFrame(Opcode.Ping)]);
    expect(r.events).toEqual([{ kind: 'close', code: 1001, reason: '' }]);
  });

  it('accepts a length not written in its shortest form', () => {
    const in16 = Buffer.concat([Buffer.from([0x81, 126, 0, 3]), Buffer.from('abc')]);
    const in64 = Buffer.concat([Buffer.from([0x81, 127, 0, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('abc')]);
    expect(parse([in16, in64]).events).toEqual([
      { kind: 'message', binary: false, data: hex('abc') },
      { kind: 'message', binary: false, data: hex('abc') },
    ]);
  });
});

describe('FrameParser refuses what RFC 6455 forbids', () => {
  const textStart = serverFrame(Opcode.Text, 'a', { fin: false });
  const cases: [string, Buffer, number][] = [
    ['a masked frame', serverFrame(Opcode.Text, 'hi', { maskKey: Buffer.from([1, 2, 3, 4]) }), 1002],
    ['RSV1 set', serverFrame(Opcode.Text, 'hi', { rsv: 0x40 }), 1002],
    ['RSV2 set', serverFrame(Opcode.Binary, 'hi', { rsv: 0x20 }), 1002],
    ['RSV3 set on a ping', serverFrame(Opcode.Ping, '', { rsv: 0x10 }), 1002],
    ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): [string, Buffer, number] => [`opcode 0x${op.toString(16)}`, serverFrame(op, 'x'), 1002]),
    ['a ping of 126 bytes', serverFrame(Opcode.Ping, Buffer.alloc(126)), 1002],
    ['a close of 126 bytes', serverFrame(Opcode.Close, closePayload(1000, 'r'.repeat(124))), 1002],
    ['a fragmented ping', serverFrame(Opcode.Ping, 'x', { fin: false }), 1002],
    ['a fragmented pong', serverFrame(Opcode.Pong, '', { fin: false }), 1002],
    ['a fragmented close', serverFrame(Opcode.Close, closePayload(1000), { fin: false }), 1002],
    ['a continuation with no message begun', serverFrame(Opcode.Continuation, 'x'), 1002],
    ['a continuation after a finished message', Buffer.concat([serverFrame(Opcode.Text, 'done'), serverFrame(Opcode.Continuation, 'x')]), 1002],
    ['a text frame inside a fragmented message', Buffer.concat([textStart, serverFrame(Opcode.Text, 'b')]), 1002],
    ['a binary frame inside a fragmented message', Buffer.concat([textStart, serverFrame(Opcode.Binary, 'b')]), 1002],
    ['a 64-bit length with the top bit set', serverFrame(Opcode.Binary, '', { declaredLength: 1n << 63n }), 1002],
    ['a close frame of 1 byte', serverFrame(Opcode.Close, Buffer.from([3])), 1002],
    ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535].map((code): [string, Buffer, number] => [`close code ${code}`, serverFrame(Opcode.Close, closePayload(code)), 1002]),
    ...[[0xff], [0xc3], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]].map((bytes): [string, Buffer, number] => [
      `a close reason of ${hex(Buffer.from(bytes))}`,
      serverFrame(Opcode.Close, closePayload(1000, Buffer.concat([Buffer.from('ok'), Buffer.from(bytes)]))),
      1007,
    ]),
  ];

  it.each(cases)('%s', (_name, bytes, closeCode) => {
    expect(protocolError(() => parse([bytes])).closeCode).toBe(closeCode);
    expect(protocolError(() => parse([...bytes].map((b) => Buffer.from([b])))).closeCode).toBe(closeCode);
  });

  it('refuses a bad frame from its header alone and reads nothing more after', () => {
    const recorder = new Recorder();
    const parser = new FrameParser(recorder);
    parser.feed(serverFrame(Opcode.Ping, 'before'));
    expect(protocolError(() => parser.feed(Buffer.from([0x83, 0x05]))).closeCode).toBe(1002); // opcode 3, its 5 payload bytes not sent
    parser.feed(serverFrame(Opcode.Text, 'after'));
    expect(recorder.events).toEqual([{ kind: 'ping', data: hex('before') }]);
  });
});

describe('FrameParser maxMessageBytes', () => {
  it('allows a message of exactly the limit, in one frame or several', () => {
    expect(parse([serverFrame(Opcode.Binary, Buffer.alloc(10))], { maxMessageBytes: 10 }).events).toHaveLength(1);
    const split = Buffer.concat([serverFrame(Opcode.Binary, Buffer.alloc(4), { fin: false }), serverFrame(Opcode.Continuation, Buffer.alloc(6))]);
    expect(parse([split], { maxMessageBytes: 10 }).events).toHaveLength(1);
    // The limit is per message: the next one starts from zero.
    expect(parse([split, split], { maxMessageBytes: 10 }).events).toHaveLength(2);
  });

  it('refuses a frame over the limit with 1009 from its header, before any of its payload', () => {
    const frame = serverFrame(Opcode.Text, 'x'.repeat(11));
    const r = new Recorder();
    const parser = new FrameParser(r, { maxMessageBytes: 10 });
    expect(protocolError(() => parser.feed(frame.subarray(0, 2))).closeCode).toBe(1009);
    expect(r.parts).toEqual([]);
  });

  it('refuses 1009 when the fragments together pass the limit, after passing on the ones that fit', () => {
    const r = new Recorder();
    const parser = new FrameParser(r, { maxMessageBytes: 10 });
    parser.feed(serverFrame(Opcode.Binary, Buffer.alloc(6), { fin: false }));
    parser.feed(serverFrame(Opcode.Continuation, Buffer.alloc(4), { fin: false }));
    expect(protocolError(() => parser.feed(serverFrame(Opcode.Continuation, Buffer.alloc(1)))).closeCode).toBe(1009);
    expect(r.parts).toEqual([
      [6, true, false],
      [4, false, false],
    ]);
  });

  it('defaults to 64 MiB, and refuses a huge declared length with 1009', () => {
    const header = (length: bigint): Buffer => serverFrame(Opcode.Binary, '', { declaredLength: length });
    expect(() => parse([header(64n * 1024n * 1024n)])).not.toThrow(); // its payload has not come yet
    expect(protocolError(() => parse([header(64n * 1024n * 1024n + 1n)])).closeCode).toBe(1009);
    expect(protocolError(() => parse([header((1n << 63n) - 1n)])).closeCode).toBe(1009);
  });

  it('rejects a limit that is not a non-negative integer', () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity]) expect(() => new FrameParser(new Recorder(), { maxMessageBytes: bad })).toThrow(RangeError);
  });
});

// --- Encoding ---

describe('encodeFrame', () => {
  it('masks every payload with the length in its shortest form, restoring it exactly and leaving the caller’s bytes alone', () => {
    for (const [length, form] of [
      [0, 7],
      [1, 7],
      [3, 7],
      [4, 7],
      [5, 7],
      [125, 7],
      [126, 16],
      [65535, 16],
      [65536, 64],
      [1024 * 1024 + 3, 64],
    ] as const) {
      const payload = pattern(length, length + 1);
      const before = Buffer.from(payload);
      const frame = decodeClientFrame(onlyBuffer(encodeFrame(Opcode.Binary, payload)));
      expect(frame).toMatchObject({ fin: true, rsv: 0, opcode: Opcode.Binary, masked: true, lengthForm: form });
      expect(frame.payload.equals(before), `length ${length}`).toBe(true);
      expect(payload.equals(before)).toBe(true);
    }
  });

  it('reads a Uint8Array view at its own offset', () => {
    const backing = new Uint8Array([9, 9, 104, 105, 33, 9]);
    const frame = decodeClientFrame(onlyBuffer(encodeFrame(Opcode.Text, backing.subarray(2, 5))));
    expect(frame.payload.toString()).toBe('hi!');
    expect([...backing]).toEqual([9, 9, 104, 105, 33, 9]);
  });

  it('writes FIN and the opcode for fragments and control frames', () => {
    expect(decodeClientFrame(onlyBuffer(encodeFrame(Opcode.Text, Buffer.from('a'), false)))).toMatchObject({ fin: false, opcode: Opcode.Text });
    expect(decodeClientFrame(onlyBuffer(encodeFrame(Opcode.Continuation, Buffer.from('b'))))).toMatchObject({ fin: true, opcode: Opcode.Continuation });
    const ping = decodeClientFrame(onlyBuffer(encodeFrame(Opcode.Ping, Buffer.alloc(125, 1))));
    expect(ping).toMatchObject({ fin: true, opcode: Opcode.Ping, masked: true });
    expect(ping.payload.equals(Buffer.alloc(125, 1))).toBe(true);
  });

  it('uses a fresh key for every frame, past the end of the random pool', () => {
    const keys: string[] = [];
    for (let i = 0; i < 3000; i++) keys.push(decodeClientFrame(onlyBuffer(encodeFrame(Opcode.Binary, Buffer.from([i & 255])))).key.toString('hex'));
    for (let i = 1; i < keys.length; i++) expect(keys[i]).not.toBe(keys[i - 1]);
    // A pool reused instead of refilled would repeat after 1024 keys; random 32-bit keys almost never collide.
    expect(new Set(keys).size).toBeGreaterThan(2990);
  });

  it('refuses frames RFC 6455 forbids a client to send', () => {
    expect(() => encodeFrame(Opcode.Ping, Buffer.alloc(126))).toThrow(RangeError);
    expect(() => encodeFrame(Opcode.Close, Buffer.alloc(2), false)).toThrow(RangeError);
    expect(() => encodeFrame(3 as Opcode, Buffer.alloc(1))).toThrow(RangeError);
    expect(() => encodeFrame(0xb as Opcode, Buffer.alloc(1))).toThrow(RangeError);
  });
});

describe('encodeClose', () => {
  const reasonOf = (frames: Buffer[]): { code: number; reason: Buffer } => {
    const { opcode, payload } = decodeClientFrame(onlyBuffer(frames));
    expect(opcode).toBe(Opcode.Close);
    return { code: payload.readUInt16BE(0), reason: payload.subarray(2) };
  };

  it('writes the code and the reason, which FrameParser reads back', () => {
    const { payload } = decodeClientFrame(onlyBuffer(encodeClose(1000, 'bye')));
    expect(payload.toString('hex')).toBe('03e8' + hex('bye'));
    expect(parse([serverFrame(Opcode.Close, payload)]).events).toEqual([{ kind: 'close', code: 1000, reason: 'bye' }]);
  });

  it('cuts a long reason to 123 bytes of UTF-8, never inside a character', () => {
    for (const [reason, kept] of [
      ['a'.repeat(121) + 'é', 'a'.repeat(121) + 'é'], // 123 bytes: fits whole
      ['a'.repeat(122) + 'é', 'a'.repeat(122)], // é would end at byte 124
      ['a'.repeat(120) + '😀', 'a'.repeat(120)], // a 4-byte character at bytes 121-124
      ['€'.repeat(42), '€'.repeat(41)], // 3-byte characters: 41 fill 123 exactly
      ['x'.repeat(500), 'x'.repeat(123)],
    ]) {
      const r = reasonOf(encodeClose(4000, reason!));
      expect(r.code).toBe(4000);
      expect(r.reason.toString('utf8')).toBe(kept);
    }
  });

  it('writes no payload for 1005 (no code), and refuses codes not allowed on the wire', () => {
    expect(decodeClientFrame(onlyBuffer(encodeClose(1005, ''))).payload.length).toBe(0);
    expect(() => encodeClose(1005, 'why')).toThrow(RangeError);
    for (const code of [0, 999, 1004, 1006, 1015, 2999, 5000, 1000.5]) expect(() => encodeClose(code, ''), `code ${code}`).toThrow(RangeError);
  });
});

describe('handshake keys', () => {
  it('answers RFC 6455’s example key with its accept value (§1.3)', () => {
    expect(acceptFor('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('makes keys of 16 random bytes in base64', () => {
    const a = newWebSocketKey();
    expect(a).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(Buffer.from(a, 'base64')).toHaveLength(16);
    expect(newWebSocketKey()).not.toBe(a);
  });
});

// --- Against a real server ---

/** The part of the `ws` package (a dependency of the uWS build, without types here) this test uses. */
interface WsPeer {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): void;
  send(data: Buffer, options: { binary: boolean }): void;
}
interface WsServer {
  on(event: 'connection', listener: (peer: WsPeer) => void): void;
  once(event: 'listening', listener: () => void): void;
  address(): AddressInfo;
  close(callback: () => void): void;
}

describe('against the ws package', () => {
  it('handshakes, exchanges masked frames with an echoing server, and closes', async () => {
    const { WebSocketServer } = createRequire(import.meta.url)('ws') as { WebSocketServer: new (options: { host: string; port: number }) => WsServer };
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => server.once('listening', r));
    const serverSaw: { binary: boolean; data: string }[] = [];
    let serverClose: { code: number; reason: string } | null = null;
    server.on('connection', (peer) => {
      peer.on('message', (data, isBinary) => {
        serverSaw.push({ binary: isBinary, data: data.toString('hex') });
        peer.send(data, { binary: isBinary });
      });
      peer.on('close', (code, reason) => (serverClose = { code, reason: reason.toString() }));
    });

    const recorder = new Recorder();
    const parser = new FrameParser(recorder);
    const key = newWebSocketKey();
    const socket = net.connect(server.address().port, '127.0.0.1');
    let head = Buffer.alloc(0);
    let headText = '';
    let ended = false;
    socket.on('data', (d: Buffer) => {
      if (headText !== '') return parser.feed(d);
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headText = head.subarray(0, end).toString('latin1');
      parser.feed(head.subarray(end + 4));
    });
    socket.on('end', () => (ended = true));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    try {
      socket.write(`GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      await waitFor(() => headText !== '', 5000, 'the handshake response');
      expect(headText).toMatch(/^HTTP\/1\.1 101 /);
      expect(headText.toLowerCase()).toContain(`sec-websocket-accept: ${acceptFor(key).toLowerCase()}`);

      const big = pattern(70_000, 3);
      const medium = pattern(300, 4);
      for (const frames of [
        encodeFrame(Opcode.Text, Buffer.from('héllo wörld')),
        encodeFrame(Opcode.Text, Buffer.from('frag'), false),
        encodeFrame(Opcode.Ping, Buffer.from('mid')),
        encodeFrame(Opcode.Continuation, Buffer.from('mented')),
        encodeFrame(Opcode.Binary, big),
        encodeFrame(Opcode.Binary, medium),
      ])
        for (const b of frames) socket.write(b);
      const echoes: Event[] = [
        { kind: 'message', binary: false, data: hex('héllo wörld') },
        { kind: 'pong', data: hex('mid') },
        { kind: 'message', binary: false, data: hex('fragmented') },
        { kind: 'message', binary: true, data: big.toString('hex') },
        { kind: 'message', binary: true, data: medium.toString('hex') },
      ];
      await waitFor(() => recorder.events.length >= echoes.length, 5000, 'the echoes');
      expect(recorder.events).toEqual(echoes);
      expect(serverSaw).toEqual(echoes.filter((e) => e.kind === 'message').map(({ binary, data }) => ({ binary, data })));

      for (const b of encodeClose(1000, 'bye')) socket.write(b);
      await waitFor(() => recorder.events.length > echoes.length && ended, 5000, "the server's close frame and FIN");
      expect(recorder.events.at(-1)).toEqual({ kind: 'close', code: 1000, reason: 'bye' });
      expect(serverClose).toEqual({ code: 1000, reason: 'bye' });
    } finally {
      socket.destroy();
      await closed;
      await new Promise<void>((r) => server.close(r));
    }
  });
});
