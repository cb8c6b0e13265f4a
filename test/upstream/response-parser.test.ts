import { describe, expect, it } from 'vitest';
import { BodyMode, ResponseParser, type ResponseHead, type ResponseSink, parseChunkSize } from '../../src/upstream/response-parser.js';

class Recorder implements ResponseSink {
  heads: ResponseHead[] = [];
  /** What HeadScan.writeTo hands uWS (which frames it as "HTTP/1.1 " + it + CRLF). */
  written: string[] = [];
  body = '';
  ends = 0;
  onResponseHead(h: ResponseHead) {
    this.heads.push(h);
    const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');
    h.scan.writeTo({ writeStatus: (s) => this.written.push(text(s)) });
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
    p.eof();
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
  ];
  for (const [name, raw] of bad) {
    it(`rejects ${name} with TG_ERR_UPSTREAM_PROTOCOL`, () => {
      const p = new ResponseParser(new Recorder());
      p.expect(false);
      expect(() => p.feed(Buffer.from(raw!))).toThrow(expect.objectContaining({ code: 'TG_ERR_UPSTREAM_PROTOCOL' }));
    });
  }

  it('reports an incomplete body at EOF as not done', () => {
    const p = new ResponseParser(new Recorder());
    p.expect(false);
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(p.eof()).toBe(false);
  });

  it('parses chunk sizes strictly', () => {
    expect(parseChunkSize('1a')).toBe(26);
    expect(parseChunkSize('ff; name=value')).toBe(255);
    expect(() => parseChunkSize('-1')).toThrow();
    expect(() => parseChunkSize('')).toThrow();
    expect(() => parseChunkSize('1'.repeat(13))).toThrow();
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
