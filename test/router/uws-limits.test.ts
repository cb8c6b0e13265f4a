// What uWebSockets.js v20.30 refuses before tidegate sees a request. The
// README's "Known limitations" lists exactly these; each case here keeps one
// line of that list true (and fails when a newer uWS build changes it).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startStaticEdge, type TestEdge } from '../support/serve.js';
import { rawRequest } from '../support/raw-http.js';

let app: Upstream;
let edge: TestEdge;

beforeAll(async () => {
  app = await startUpstream('app');
  edge = await startStaticEdge(app.address);
});

afterAll(async () => {
  await edge?.close();
  await app?.close();
});

const H = 'Host: app.example.com\r\n';
/** uWS closes a connection it has no answer for after ~10 s of it sending nothing. */
const UWS_IDLE_MS = 10_000;

function headers(n: number): string {
  return Array.from({ length: n }, (_, i) => `x-h${i}: v\r\n`).join('');
}

/** Sends a body at `bytesPerSecond`; resolves with what came back and when the server closed. */
function slowUpload(port: number, total: number, bytesPerSecond: number): Promise<{ text: string; ms: number; sent: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let sent = 0;
    socket.write(`POST /slow HTTP/1.1\r\n${H}Content-Length: ${total}\r\n\r\n`);
    const tick = setInterval(() => {
      const n = Math.min(bytesPerSecond / 10, total - sent);
      if (n > 0 && !socket.destroyed) {
        socket.write(Buffer.alloc(n, 97));
        sent += n;
      }
    }, 100);
    const giveUp = setTimeout(() => socket.destroy(), UWS_IDLE_MS + 8000);
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) socket.destroy(); // answered: that is all this needs
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(tick);
      clearTimeout(giveUp);
      resolve({ text, ms: Date.now() - started, sent });
    });
  });
}

describe('what uWebSockets.js v20.30 refuses (README: Known limitations)', () => {
  it('closes at once, unanswered: pipelined requests, chunk extensions, Content-Length with Transfer-Encoding, a ten-digit Content-Length', async () => {
    const cases = [
      `GET /a HTTP/1.1\r\n${H}\r\nGET /b HTTP/1.1\r\n${H}\r\n`,
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;name=value\r\nabc\r\n0\r\n\r\n`,
      `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
      `POST / HTTP/1.1\r\n${H}Content-Length: 1000000000\r\n\r\nabc`,
    ];
    const before = app.seen.length;
    for (const bytes of cases) {
      const r = await rawRequest(edge.port, bytes, 2000);
      expect(r.closed, bytes).toBe(true);
      expect(r.text, bytes).toBe('');
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(app.seen.slice(before).filter((s) => s.url === '/b' || s.method === 'POST')).toEqual([]);
  });

  it(
    'leaves unanswered until its idle timeout (~10 s): HTTP/1.0, no Host, 49 or more headers, uploads slower than ~16 KB/s',
    async () => {
      const before = app.seen.length;
      const started = Date.now();
      const [http10, noHost, fortyNine, slow] = await Promise.all([
        rawRequest(edge.port, `GET /http10 HTTP/1.0\r\n${H}\r\n`, UWS_IDLE_MS + 5000),
        rawRequest(edge.port, `GET /nohost HTTP/1.1\r\n\r\n`, UWS_IDLE_MS + 5000),
        rawRequest(edge.port, `GET /many HTTP/1.1\r\n${H}${headers(48)}\r\n`, UWS_IDLE_MS + 5000),
        slowUpload(edge.port, 400_000, 8000),
      ]);
      for (const r of [http10, noHost, fortyNine]) {
        expect(r.text).toBe('');
        expect(r.closed).toBe(true);
      }
      expect(Date.now() - started).toBeGreaterThan(UWS_IDLE_MS * 0.8);
      // The slow upload was cut about 10 s in, long before its 50 s at 8 KB/s, with no answer.
      expect(slow.text).toBe('');
      expect(slow.sent).toBeLessThan(400_000);
      expect(slow.ms).toBeGreaterThan(UWS_IDLE_MS * 0.8);
      expect(slow.ms).toBeLessThan(UWS_IDLE_MS + 5000);
      expect(app.seen.slice(before).filter((s) => s.url === '/http10' || s.url === '/nohost' || s.url === '/many')).toEqual([]);
    },
    UWS_IDLE_MS + 15_000,
  );

  it('serves 48 headers (Host included) and an upload at ~40 KB/s', async () => {
    const r = await rawRequest(edge.port, `GET / HTTP/1.1\r\n${H}${headers(47)}\r\n`);
    expect(r.status).toBe(200);
    const up = await slowUpload(edge.port, 40_000, 40_000);
    expect(up.text).toMatch(/^HTTP\/1\.1 200 /);
  });
});
