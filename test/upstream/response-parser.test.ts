import { describe, expect, it } from 'vitest';
import { BodyMode, ResponseParser, type ResponseHead, type ResponseSink } from '../../src/upstream/response-parser.js';

class Recorder implements ResponseSink {
  heads: ResponseHead[] = [];
  /** What HeadScan.writeTo hands uWS (which frames it as "HTTP/1.1 " + it + CRLF). */
  written: string[] = [];
  body = '';
  ends = 0;
  onResponseHead(h: ResponseHead) {
    this.heads.push(h);
    const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');
    h.headers.writeTo({ writeStatus: (s) => this.written.push(text(s)) });
  }
  onResponseBody(c: Buffer) {
    this.body += c.toString('latin1');
  }
  onResponseEnd() {
    this.ends++;
  }
}

/** Feeds `text` split at every possible point, so partial reads are covered. */
function parseSplit(text: string, isHead = false): Recorder[] {
  const out: Recorder[] = [];
  for (let cut = 0; cut <= text.length; cut++) {
    const r = new Recorder();
    const p = new ResponseParser(r);
    p.expect(isHead);
    p.feed(Buffer.from(text.slice(0, cut), 'latin1'));
    p.feed(Buffer.from(text.slice(cut), 'latin1'));
    p.eof(true);
    out.push(r);
  }
  return out;
}

describe('ResponseParser', () => {
  const cases: { name: string; raw: string; status: number; body: string; mode: BodyMode; keepAlive: boolean; isHead?: boolean }[] = [
    { name: 'content-length', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello', status: 200, body: 'hello', mode: BodyMode.Length, keepAlive: true },
    { name: 'chunked with extension and trailer', raw: 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n', status: 201, body: 'hello world', mode: BodyMode.Chunked, keepAlive: true },
    { name: 'no body on 204', raw: 'HTTP/1.1 204 No Content\r\n\r\n', status: 204, body: '', mode: BodyMode.None, keepAlive: true },
    { name: 'HEAD ignores content-length', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n', status: 200, body: '', mode: BodyMode.None, keepAlive: true, isHead: true },
    { name: 'until close', raw: 'HTTP/1.1 200 OK\r\n\r\nall of it', status: 200, body: 'all of it', mode: BodyMode.UntilClose, keepAlive: false },
    { name: 'HTTP/1.0 closes', raw: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', status: 200, body: 'ok', mode: BodyMode.Length, keepAlive: false },
    { name: 'connection close', raw: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok', status: 200, body: 'ok', mode: BodyMode.Length, keepAlive: false },
    { name: '100 continue skipped', raw: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx', status: 200, body: 'x', mode: BodyMode.Length, keepAlive: true },
    { name: '102 and 103 skipped', raw: 'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx', status: 200, body: 'x', mode: BodyMode.Length, keepAlive: true },
    { name: 'quoted chunk extensions and checked trailers', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n0003;a="b \\" c";d;e=f\r\nabc\r\n0;z\r\nX-T: 1\r\nX-U:\r\n\r\n', status: 200, body: 'abc', mode: BodyMode.Chunked, keepAlive: true },
    { name: 'HTTP/1.0 keep-alive', raw: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx', status: 200, body: 'x', mode: BodyMode.Length, keepAlive: true },
    { name: 'HTTP/1.0 with a token that only contains keep-alive', raw: 'HTTP/1.0 200 OK\r\nConnection: x-keep-alive\r\nContent-Length: 1\r\n\r\nx', status: 200, body: 'x', mode: BodyMode.Length, keepAlive: false },
    { name: 'close in a second Connection header', raw: 'HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx', status: 200, body: 'x', mode: BodyMode.Length, keepAlive: false },
  ];
  for (const c of cases) {
    it(`parses ${c.name} split anywhere`, () => {
      for (const r of parseSplit(c.raw, c.isHead)) {
        expect(r.heads).toHaveLength(1);
        expect(r.heads[0]!.status).toBe(c.status);
        expect(r.heads[0]!.bodyMode).toBe(c.mode);
        expect(r.heads[0]!.keepAlive).toBe(c.keepAlive);
        expect(r.body).toBe(c.body);
        expect(r.ends).toBe(1);
      }
    });
  }

  it('passes header lines on byte for byte in one write, minus what uWS or the hop rewrites', () => {
    const raw =
      'HTTP/1.1 200 Fine\r\nX-Thing:   A b  \r\nX-Latin: caf\xe9\r\nContent-Length: 0\r\nDate: Mon\r\nX-Empty:\r\n' +
      'Connection: keep-alive, X-Private\r\nx-private: 1\r\nKeep-Alive: timeout=7\r\nProxy-Foo: x\r\nTE: trailers\r\nX-Last: z\r\n\r\n';
    for (const r of parseSplit(raw)) {
      expect(r.written).toEqual(['200 Fine\r\nX-Thing: A b\r\nX-Latin: caf\xe9\r\nX-Empty: \r\nX-Last: z']);
      expect(r.heads[0]!.keepAliveMs).toBe(6000);
    }
  });

  it('serves consecutive responses on one connection', () => {
    const r = new Recorder();
    const p = new ResponseParser(r);
    p.expect(false);
    const consumed = p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na'));
    expect(consumed).toBe(39);
    expect(p.done).toBe(true);
    p.expect(false);
    p.feed(Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nb'));
    expect(r.heads.map((h) => h.status)).toEqual([200, 404]);
    expect(r.body).toBe('ab');
  });

  const bad = [
    ['garbage status line', 'HTTP/9 OK\r\n\r\n'],
    ['bad status code', 'HTTP/1.1 abc OK\r\n\r\n'],
    ['header without colon', 'HTTP/1.1 200 OK\r\nnocolon\r\n\r\n'],
    ['header without a name', 'HTTP/1.1 200 OK\r\n: v\r\n\r\n'],
    ['whitespace before the colon', 'HTTP/1.1 200 OK\r\nX-A : v\r\n\r\n'],
    ['a folded header line', 'HTTP/1.1 200 OK\r\nX-A: v\r\n  more\r\n\r\n'],
    ['a bare LF in a header', 'HTTP/1.1 200 OK\r\nX-A: v\nX-B: w\r\n\r\n'],
    ['a bare CR in a header', 'HTTP/1.1 200 OK\r\nX-A: v\rX-B: w\r\n\r\n'],
    ['a one-digit status', 'HTTP/1.1 2 OK\r\n\r\n'],
    ['conflicting content-length', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'],
    ['negative content-length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
    ['bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['missing CRLF after chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXY'],
    // finding 3
    ['a 101 to a request that asked for no upgrade', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n'],
    ['an interim response that closes the connection', 'HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['an HTTP/1.0 interim response', 'HTTP/1.0 103 Early Hints\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a 101 after a 100', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n'],
    // finding 5: framing
    ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
    ['Transfer-Encoding with Content-Length after it', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n'],
    ['two equal Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx'],
    ['a coding other than chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc'],
    ['chunked not alone', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'],
    ['two Transfer-Encoding headers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['Transfer-Encoding on HTTP/1.0', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    // finding 5: names and values
    ['NUL in a value', 'HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n'],
    ['ESC in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x1bb\r\n\r\n'],
    ['DEL in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x7f\r\n\r\n'],
    ['a control byte in a name', 'HTTP/1.1 200 OK\r\nX-\x01A: v\r\n\r\n'],
    ['a space in a name', 'HTTP/1.1 200 OK\r\nX A: v\r\n\r\n'],
    ['a separator in a name', 'HTTP/1.1 200 OK\r\nX(A): v\r\n\r\n'],
    ['a non-ASCII byte in a name', 'HTTP/1.1 200 OK\r\nX-\xe9: v\r\n\r\n'],
    ['NUL in the reason phrase', 'HTTP/1.1 200 O\0K\r\n\r\n'],
    // finding 5: chunks
    ['a space before the chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 2e\r\n'],
    ['a space after the chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2e \r\n'],
    ['a 0x prefix', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2e\r\n'],
    ['a bare LF after the chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n'],
    ['a bare LF after chunk data', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\n0\r\n\r\n'],
    ['a chunk size of 2^64', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n'],
    ['a chunk size of 2^53', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20000000000000\r\n'],
    ['an empty chunk extension', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;\r\na\r\n0\r\n\r\n'],
    ['a chunk extension with a space', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1; a=b\r\na\r\n0\r\n\r\n'],
    ['a chunk extension without a name', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;=b\r\na\r\n0\r\n\r\n'],
    ['text after a quoted chunk extension', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a="b"c\r\na\r\n0\r\n\r\n'],
    ['a control byte in a quoted chunk extension', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a="\x01"\r\na\r\n0\r\n\r\n'],
    ['a trailer without a colon', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnocolon\r\n\r\n'],
    ['a bare LF in a trailer', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\nY: b\r\n\r\n'],
    ['a Content-Length trailer', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 8\r\n\r\n'],
    ['a control byte in a trailer', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: \x01\r\n\r\n'],
  ];
  for (const [name, raw] of bad) {
    it(`rejects ${name} with TG_ERR_UPSTREAM_PROTOCOL, however it is split`, () => {
      const bytes = Buffer.from(raw!, 'latin1');
      for (let cut = 0; cut <= bytes.length; cut++) {
        const p = new ResponseParser(new Recorder());
        p.expect(false);
        expect(() => {
          p.feed(bytes.subarray(0, cut));
          p.feed(bytes.subarray(cut));
        }, `cut at ${cut}`).toThrow(expect.objectContaining({ code: 'TG_ERR_UPSTREAM_PROTOCOL' }));
      }
    });
  }

  it('finding 5: a response followed by more bytes leaves the connection not reusable, wherever the bytes come', () => {
    const responses = [
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      'HTTP/1.1 204 No Content\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    ];
    for (const raw of responses) {
      const whole = new ResponseParser(new Recorder());
      whole.expect(false);
      expect(whole.feed(Buffer.from(raw))).toBe(raw.length);
      expect([whole.done, whole.reusable]).toEqual([true, true]);
      for (const extra of ['H', 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled']) {
        const text = raw + extra;
        for (let cut = 0; cut <= text.length; cut++) {
          const r = new Recorder();
          const p = new ResponseParser(r);
          let reusableAtEnd: boolean | null = null;
          r.onResponseEnd = () => void (reusableAtEnd = p.reusable);
          p.expect(false);
          const consumed = p.feed(Buffer.from(text.slice(0, cut))) + p.feed(Buffer.from(text.slice(cut)));
          expect(consumed).toBe(raw.length);
          expect([p.done, p.reusable], `${JSON.stringify(text)} cut at ${cut}`).toEqual([true, false]);
          // Already known when the sink hears the end (the connection goes back to its pool then):
          // only when the extra bytes come in a later read is it too late for that, and they are refused then.
          if (cut <= raw.length) expect(reusableAtEnd).toBe(cut === raw.length ? true : false);
        }
      }
    }
  });

  it('finding 5: a body to a HEAD request is extra bytes', () => {
    const p = new ResponseParser(new Recorder());
    p.expect(true);
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    expect([p.done, p.reusable]).toEqual([true, false]);
  });

  it('finding 4: a body without a length ends only at a clean close', () => {
    for (const clean of [true, false]) {
      const r = new Recorder();
      const p = new ResponseParser(r);
      p.expect(false);
      p.feed(Buffer.from('HTTP/1.1 200 OK\r\n\r\npartial'));
      expect(p.eof(clean)).toBe(clean);
      expect([r.body, r.ends]).toEqual(['partial', clean ? 1 : 0]);
    }
  });

  it('finding 5: a head over 64 KiB is refused even when it arrives in one read', () => {
    const filler = Array.from({ length: 700 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(85)}\r\n`).join('');
    const p = new ResponseParser(new Recorder());
    p.expect(false);
    expect(() => p.feed(Buffer.from(`HTTP/1.1 200 OK\r\n${filler}Content-Length: 0\r\n\r\n`))).toThrow(expect.objectContaining({ code: 'TG_ERR_UPSTREAM_PROTOCOL' }));
  });

  it('reports an incomplete body at EOF as not done', () => {
    const p = new ResponseParser(new Recorder());
    p.expect(false);
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(p.eof(true)).toBe(false);
  });

  it('reads chunk sizes in hex of any case, leading zeros allowed, up to 2^53 - 1', () => {
    const r = new Recorder();
    const p = new ResponseParser(r);
    p.expect(false);
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000000000001a\r\n' + 'x'.repeat(26) + '\r\nA\r\n' + 'y'.repeat(10) + '\r\n'));
    expect(r.body).toBe('x'.repeat(26) + 'y'.repeat(10));
    p.feed(Buffer.from('1fffffffffffff\r\nzz'));
    expect(r.body.endsWith('zz')).toBe(true);
    expect(p.done).toBe(false);
  });
});

describe('ResponseParser with bytes trickling in', () => {
  it('parses a 60 KiB head and its body fed a byte at a time, then the next response whole', () => {
    const r = new Recorder();
    const p = new ResponseParser(r);
    p.expect(false);
    const filler = Array.from({ length: 600 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(85)}\r\n`).join('');
    const raw = Buffer.from(`HTTP/1.1 200 OK\r\n${filler}Content-Length: 5\r\n\r\nhello`, 'latin1');
    expect(raw.length).toBeGreaterThan(60_000);
    for (let i = 0; i < raw.length; i++) p.feed(raw.subarray(i, i + 1));
    expect(r.heads).toHaveLength(1);
    expect(r.body).toBe('hello');
    expect(r.written[0]!.split('\r\n')).toHaveLength(601); // the status and every filler line
    p.expect(false);
    p.feed(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'));
    expect(r.heads.map((h) => h.status)).toEqual([200, 204]);
  });

  it('still refuses a head over 64 KiB that never ends', () => {
    const p = new ResponseParser(new Recorder());
    p.expect(false);
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\n'));
    const line = Buffer.from(`X-A: ${'a'.repeat(1000)}\r\n`);
    expect(() => {
      for (let i = 0; i < 80; i++) p.feed(line);
    }).toThrow(expect.objectContaining({ code: 'TG_ERR_UPSTREAM_PROTOCOL' }));
  });
});
