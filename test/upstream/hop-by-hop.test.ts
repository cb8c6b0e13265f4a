import { describe, expect, it } from 'vitest';
import { connectionTokens, dropHeader, isHopByHop, isHopByHopName, nameBytes, sameName } from '../../src/upstream/hop-by-hop.js';

// The one hop-by-hop helper every path uses (requests and responses): which
// names never cross a hop, by string and by bytes off the wire.

const HOP_BY_HOP = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'http2-settings'];

describe('isHopByHop (lower-case names)', () => {
  const rows: [string, boolean][] = [
    ...HOP_BY_HOP.map((n): [string, boolean] => [n, true]),
    ['proxy-anything', true],
    ['proxy-', true],
    ['proxy', false],
    ['content-length', false],
    ['host', false],
    ['x-connection', false],
    ['connections', false],
    ['tee', false],
    ['t', false],
    ['x-proxy-foo', false],
    ['', false],
  ];
  for (const [name, want] of rows) it(`${JSON.stringify(name)} → ${want}`, () => expect(isHopByHop(name)).toBe(want));
});

describe('isHopByHopName (bytes, any case)', () => {
  const rows: [string, boolean][] = [
    ...HOP_BY_HOP.map((n): [string, boolean] => [n, true]),
    ...HOP_BY_HOP.map((n): [string, boolean] => [n.toUpperCase(), true]),
    ['Connection', true],
    ['Keep-Alive', true],
    ['TE', true],
    ['Te', true],
    ['HTTP2-Settings', true],
    ['Proxy-Foo', true],
    ['PROXY-', true],
    ['Proxy', false],
    ['Date', false],
    ['Content-Length', false],
    ['Keep-Alivf', false],
    ['X-Connection', false],
    ['Proxy_Foo', false],
    ['Prox', false],
  ];
  for (const [name, want] of rows) {
    it(`${JSON.stringify(name)} → ${want}`, () => {
      // Inside a larger buffer, as on the wire: only buf[s, s + len) counts.
      const buf = Buffer.from(`HTTP/1.1 200 OK\r\n${name}: v\r\n`, 'latin1');
      expect(isHopByHopName(buf, 17, name.length)).toBe(want);
    });
  }

  it('looks only at the given length', () => {
    const buf = Buffer.from('connectionx', 'latin1');
    expect(isHopByHopName(buf, 0, 10)).toBe(true);
    expect(isHopByHopName(buf, 0, 11)).toBe(false);
    expect(isHopByHopName(Buffer.from('xte', 'latin1'), 1, 2)).toBe(true);
  });
});

describe('sameName folds case with | 0x20', () => {
  // Every character of the hop-by-hop names has the 0x20 bit set, so exactly
  // two bytes match each: itself and itself less 0x20. For a letter that is
  // its upper case; for '-' and '2' a control byte (CR, 0x12), which is not a
  // token byte, and names are checked to be tokens before they get here.
  const chars = [...new Set(HOP_BY_HOP.join(''))].sort();
  for (const c of chars) {
    const code = c.charCodeAt(0);
    it(`${JSON.stringify(c)} matches bytes 0x${(code - 0x20).toString(16)} and 0x${code.toString(16)} only`, () => {
      const matching: number[] = [];
      for (let b = 0; b < 256; b++) if (sameName(Uint8Array.of(b), 0, nameBytes(c))) matching.push(b);
      expect(matching).toEqual([code - 0x20, code]);
    });
  }

  it('among token bytes, each character matches only itself in either case', () => {
    const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (const c of chars) {
      const matching = [...TCHAR].filter((t) => sameName(nameBytes(t), 0, nameBytes(c)));
      expect(matching, c).toEqual(c >= 'a' && c <= 'z' ? [c, c.toUpperCase()] : [c]);
    }
  });
});

describe('connectionTokens', () => {
  const rows: [string, string[] | null][] = [
    ['close', null],
    ['keep-alive', null],
    ['Keep-Alive', null],
    ['CLOSE', null],
    ['', null],
    [' , ,', null],
    ['close, keep-alive', null],
    ['x-foo', ['x-foo']],
    ['close, X-Foo', ['x-foo']],
    ['X-Foo , x-bar,X-FOO', ['x-foo', 'x-bar']],
    ['upgrade', ['upgrade']],
    // Framing and routing names are never taken (issue 9, finding 1).
    ['content-length', null],
    ['Content-Length, Transfer-Encoding, Host', null],
    ['host, x-a', ['x-a']],
    ['keep-alive, TE', ['te']],
  ];
  for (const [value, want] of rows) {
    it(`${JSON.stringify(value)} → ${want === null ? 'null' : want.join(' ')}`, () => {
      const got = connectionTokens(value);
      expect(got === null ? null : [...got]).toEqual(want);
    });
  }
});

describe('dropHeader', () => {
  const rows: [string, string | null, boolean][] = [
    ['connection', null, true],
    ['transfer-encoding', null, true],
    ['proxy-x', null, true],
    ['x-foo', null, false],
    ['x-foo', 'x-foo', true],
    ['x-bar', 'x-foo', false],
    ['x-foo', 'close, X-Foo', true],
    ['content-length', 'content-length', false],
    ['host', 'host', false],
    ['keep-alive', 'close', true],
  ];
  for (const [name, connection, want] of rows) {
    it(`${name} with Connection: ${connection ?? '(none)'} → ${want ? 'dropped' : 'kept'}`, () => {
      expect(dropHeader(name, connection === null ? null : connectionTokens(connection))).toBe(want);
    });
  }
});
