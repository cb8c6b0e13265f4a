import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startByteRecorder, type ByteRecorder } from '../support/byte-recorder.js';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { rawRequest } from '../support/raw-http.js';
import type { QueueProxyHandle } from '../../src/queue/sidecar.js';
import { startTestQueueProxy } from '../support/queue-proxy.js';

// Issue 9, finding 1: a Connection header could name Content-Length (or Host),
// and the edge dropped that header but still streamed the body, so the pod
// read the body as a second request of the attacker's choosing. The request
// a pod receives now always carries tidegate's own framing. The edge and the
// queue-proxy share the request path, so both are tested, each in front of a
// real app behind a relay that records the exact bytes it is sent.

let app: Upstream;
let rec: ByteRecorder;
let edge: TestEdge;
let qp: QueueProxyHandle;

beforeAll(async () => {
  app = await startUpstream('app');
  rec = await startByteRecorder(app.address);
  edge = await startEdge(`
domain: example.com
services:
  - name: app
    revisions:
      - name: app-1
        endpoints: ["${rec.address}"]
    traffic:
      - revisionName: app-1
        percent: 100
`);
  qp = await startTestQueueProxy(rec.address);
  await waitFor(() => edge.edge.revision('app-1')?.readyPods === 1 && qp.ready(), 5000, 'edge pod and queue-proxy ready');
});

afterAll(async () => {
  await edge?.close();
  await qp?.shutdown();
  await rec?.close();
  await app?.close();
});

const H = 'Host: app.example.com\r\n';
const SMUGGLED = `GET /smuggled?sleep=800 HTTP/1.1\r\n${H}\r\n`;

/** The bytes the app was sent while `fn` ran, the requests it parsed, and the client's raw reply. */
async function through(port: number, bytes: string) {
  const fromByte = rec.text().length;
  const fromSeen = app.seen.length;
  const r = await rawRequest(port, bytes, 400);
  // Long enough for a smuggled request to show up at the app if one was sent.
  await new Promise((res) => setTimeout(res, 100));
  const sent = rec.text().slice(fromByte);
  const head = sent.slice(0, sent.indexOf('\r\n\r\n') + 2);
  return { r, sent, head, seen: app.seen.slice(fromSeen) };
}

/** The app's JSON echo of a POST body (its length and hash), from a raw (chunked) reply. */
function echoed(text: string): unknown {
  return JSON.parse(/\{.*\}/.exec(text)?.[0] ?? 'null');
}

/** Occurrences of a header name in a raw head, any case. */
function lines(head: string, name: string): string[] {
  return head.split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name}:`));
}

for (const target of ['edge', 'queue-proxy'] as const) {
  const port = () => (target === 'edge' ? edge.port : qp.port);

  describe(`request framing through the ${target} (raw sockets, recorded bytes)`, () => {
    it('Connection: content-length does not drop the length: the body stays a body, no second request reaches the app', async () => {
      const body = SMUGGLED;
      const { r, head, seen } = await through(port(), `POST /innocent HTTP/1.1\r\n${H}Connection: content-length\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      expect(r.status).toBe(200);
      expect(echoed(r.text)).toMatchObject({ bytes: body.length });
      expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /innocent']);
      expect(lines(head, 'content-length')).toEqual([`content-length: ${body.length}`]);
      expect(lines(head, 'connection')).toEqual([]);
    });

    it('Connection: content-length, transfer-encoding on a chunked body: the app still gets chunked framing and the whole body', async () => {
      const body = SMUGGLED;
      const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
      const { r, head, seen } = await through(port(), `POST /innocent HTTP/1.1\r\n${H}Connection: content-length, transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`);
      expect(r.status).toBe(200);
      expect(echoed(r.text)).toMatchObject({ bytes: body.length });
      expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /innocent']);
      expect(lines(head, 'transfer-encoding')).toEqual(['transfer-encoding: chunked']);
      expect(lines(head, 'content-length')).toEqual([]);
    });

    it('Connection: host does not drop Host', async () => {
      const { r, head, seen } = await through(port(), `GET /hosted HTTP/1.1\r\n${H}Connection: host\r\n\r\n`);
      expect(r.status).toBe(200);
      expect(lines(head, 'host')).toEqual(['host: app.example.com']);
      expect(seen.map((s) => s.headers.host)).toEqual(['app.example.com']);
    });

    it('duplicate equal Content-Length headers reach the app as one', async () => {
      const { r, head, seen } = await through(port(), `POST /twice HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`);
      expect(r.status).toBe(200);
      expect(lines(head, 'content-length')).toEqual(['content-length: 5']);
      expect(seen.map((s) => s.url)).toEqual(['/twice']);
    });

    it('a zero Content-Length is kept as the framing of an empty body', async () => {
      const { r, head } = await through(port(), `POST /empty HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`);
      expect(r.status).toBe(200);
      expect(lines(head, 'content-length')).toEqual(['content-length: 0']);
    });

    it('other names a Connection header lists are still dropped (control)', async () => {
      const { r, head, seen } = await through(port(), `GET /custom HTTP/1.1\r\n${H}Connection: x-hop\r\nX-Hop: 1\r\nX-Kept: 2\r\n\r\n`);
      expect(r.status).toBe(200);
      expect(lines(head, 'x-hop')).toEqual([]);
      expect(seen[0]?.headers['x-kept']).toBe('2');
    });
  });
}
