import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startStaticEdge, type TestEdge } from '../support/serve.js';
import { rawRequest } from '../support/raw-http.js';

let app: Upstream;
let edge: TestEdge;

beforeAll(async () => {
  app = await startUpstream('app');
  edge = await startStaticEdge(app.address, { limits: ['max-body-size: 1Ki', 'max-header-size: 8Ki'] });
});

afterAll(async () => {
  await edge?.close();
  await app?.close();
});

const H = 'Host: app.example.com\r\n';

describe('bad input over raw sockets', () => {
  it('a well-formed request works over the same path (control)', async () => {
    const r = await rawRequest(edge.port, `GET / HTTP/1.1\r\n${H}\r\n`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('app\n');
  });

  // uWS's own parser drops these before tidegate sees them: the connection is
  // closed without a response, and nothing reaches the upstream.
  const droppedByParser: [string, string][] = [
    ['Content-Length together with Transfer-Encoding', `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`],
    ['a negative Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`],
  ];
  for (const [name, bytes] of droppedByParser) {
    it(`refuses ${name}: connection closed, nothing forwarded`, async () => {
      const before = app.seen.length;
      const r = await rawRequest(edge.port, bytes);
      expect(r.closed).toBe(true);
      expect(r.status).toBe(0);
      await new Promise((res) => setTimeout(res, 100));
      expect(app.seen.length).toBe(before);
    });
  }

  it('refuses a bad chunk size mid-body: client connection closed, upstream request aborted, no response', async () => {
    // The head is valid, so the request may already be on its way to the pod
    // when uWS meets the bad chunk (or still held in this event-loop turn's
    // batch of writes); either way the edge resets the upstream connection,
    // so the pod never sees a complete (smuggled) request.
    const seenBefore = app.seen.length;
    const abortedBefore = app.aborted;
    const r = await rawRequest(edge.port, `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\nabc\r\n0\r\n\r\n`);
    expect(r.closed).toBe(true);
    expect(r.status).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const reached = app.seen.length - seenBefore;
    expect(reached).toBeLessThanOrEqual(1);
    // Whatever reached the pod was aborted there, never completed.
    expect(app.aborted - abortedBefore).toBe(reached);
  });

  const refused: [string, string, number, string][] = [
    ['duplicate differing Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`, 400, 'edge-smuggling'],
    ['a Transfer-Encoding other than chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, 400, 'edge-smuggling'],
    ['two Host headers', `GET / HTTP/1.1\r\n${H}${H}\r\n`, 400, 'edge-bad-request'],
    ['headers over the limit', `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(9000)}\r\n\r\n`, 431, 'edge-headers-too-large'],
    ['a declared body over the limit', `POST / HTTP/1.1\r\n${H}Content-Length: 2048\r\n\r\n`, 413, 'edge-body-too-large'],
  ];
  for (const [name, bytes, status, hop] of refused) {
    it(`answers ${status} and closes for ${name}`, async () => {
      const before = app.seen.length;
      const r = await rawRequest(edge.port, bytes);
      expect(r.status).toBe(status);
      expect(r.headers['x-tidegate-error']).toBe(hop);
      expect(r.closed).toBe(true);
      expect(app.seen.length).toBe(before);
    });
  }

  it('answers 413 when a chunked body grows past the limit mid-stream', async () => {
    const chunk = 'a'.repeat(600);
    const body = `258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`;
    const r = await rawRequest(edge.port, `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${body}`);
    expect(r.status).toBe(413);
    expect(r.headers['x-tidegate-error']).toBe('edge-body-too-large');
    expect(r.closed).toBe(true);
  });

  it('keeps serving after all of that', async () => {
    const r = await edge.get('app.example.com');
    expect(r.status).toBe(200);
  });
});
