import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startStaticEdge, type TestEdge } from '../support/serve.js';
import { rawRequest, type RawResult } from '../support/raw-http.js';

// Issue 9, finding 2: a refused request (400/413/431, answered with
// Connection: close) followed in the same write by a second request. uWS
// parses both from one read; the second one was forwarded and answered on the
// connection the 400 had just declared closed. Now nothing after a refusal is
// dispatched: the connection ends after the refusal, or (when the second
// request is read while the refusal is still pending) uWS closes it at once,
// unanswered, as it does for every pipelined request.

let app: Upstream;
let edge: TestEdge;

beforeAll(async () => {
  app = await startUpstream('app');
  edge = await startStaticEdge(app.address, { limits: ['max-body-size: 1Ki'] });
});

afterAll(async () => {
  await edge?.close();
  await app?.close();
});

const H = 'Host: app.example.com\r\n';
const SMUGGLED = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;
const chunk = 'a'.repeat(600);

// [what, refused request, status, X-Tidegate-Error]
const refused: [string, string, number, string][] = [
  ['two differing Content-Length headers', `POST /bad HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 44\r\n\r\nhello`, 400, 'edge-smuggling'],
  ['Transfer-Encoding: chunked, identity', `POST /bad HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`, 400, 'edge-smuggling'],
  ['two Transfer-Encoding headers', `POST /bad HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400, 'edge-smuggling'],
  ['two Host headers', `GET /bad HTTP/1.1\r\n${H}${H}\r\n`, 400, 'edge-bad-request'],
  ['a 17 KiB header', `GET /bad HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, 431, 'edge-headers-too-large'],
  ['a declared body over the limit', `POST /bad HTTP/1.1\r\n${H}Content-Length: 2048\r\n\r\n${'b'.repeat(2048)}`, 413, 'edge-body-too-large'],
  ['a chunked body that grows past the limit', `POST /bad HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`, 413, 'edge-body-too-large'],
];

/** The responses in a raw reply, by their status lines. */
function statusLines(r: RawResult): string[] {
  return r.text.match(/HTTP\/1\.1 \d{3}/g) ?? [];
}

const settle = () => new Promise((r) => setTimeout(r, 150));

describe('nothing read after a refusal is forwarded (raw sockets)', () => {
  for (const [what, bytes, status, hop] of refused) {
    it(`${what}: ${status} then end of connection`, async () => {
      const r = await rawRequest(edge.port, bytes, 1500);
      expect(statusLines(r)).toEqual([`HTTP/1.1 ${status}`]);
      expect(r.headers['x-tidegate-error']).toBe(hop);
      expect(r.headers['connection']).toBe('close');
      expect(r.closed).toBe(true);
    });

    it(`${what}, with a request pipelined behind it: at most the ${status}, then end of connection; the pod never sees the second request`, async () => {
      const seen = app.seen.length;
      const r = await rawRequest(edge.port, bytes + SMUGGLED, 1500);
      expect(r.closed).toBe(true);
      // Either the refusal alone or nothing at all (uWS closes a connection on which a
      // request arrives while one is pending, before the refusal is written).
      const lines = statusLines(r);
      expect(lines.length).toBeLessThanOrEqual(1);
      if (lines.length === 1) {
        expect(lines).toEqual([`HTTP/1.1 ${status}`]);
        expect(r.headers['x-tidegate-error']).toBe(hop);
      }
      expect(r.text).not.toContain('smuggled');
      await settle();
      expect(app.seen.slice(seen).map((s) => s.url)).not.toContain('/smuggled');
    });
  }

  it('a refusal with nothing behind it still ends the connection (control: a good request keeps it open)', async () => {
    const good = await rawRequest(edge.port, `GET /fine HTTP/1.1\r\n${H}\r\n`, 300);
    expect(statusLines(good)).toEqual(['HTTP/1.1 200']);
    expect(good.closed).toBe(false);
  });

  it('keeps serving after all of that', async () => {
    expect((await edge.get('app.example.com')).status).toBe(200);
  });
});
