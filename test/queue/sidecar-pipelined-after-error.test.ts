import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueProxyHandle } from '../../src/queue/sidecar.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { rawRequest } from '../support/raw-http.js';
import { waitFor } from '../support/serve.js';
import { startTestQueueProxy } from '../support/queue-proxy.js';

// Issue 9, finding 2, at the queue-proxy: it refuses requests with the same
// code as the edge, so a request pipelined behind a refusal must not reach
// the app either (test/router/pipelined-after-error.test.ts has the edge's).

let app: Upstream;
let qp: QueueProxyHandle;

beforeAll(async () => {
  app = await startUpstream('app');
  qp = await startTestQueueProxy(app.address, { podId: 'pod-p' });
  await waitFor(() => qp.ready(), 5000, 'queue-proxy ready');
});

afterAll(async () => {
  await qp?.shutdown();
  await app?.close();
});

const H = 'Host: app.example.com\r\n';
const SMUGGLED = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;

describe('queue-proxy: nothing read after a refusal reaches the app (raw sockets)', () => {
  const cases: [string, string, number][] = [
    ['two differing Content-Length headers', `POST /bad HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 44\r\n\r\nhello`, 400],
    ['two Host headers', `GET /bad HTTP/1.1\r\n${H}${H}\r\n`, 400],
    ['a 17 KiB header', `GET /bad HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, 431],
  ];
  for (const [what, bytes, status] of cases) {
    it(`${what}: at most the ${status}, then end of connection; the app never sees the pipelined request`, async () => {
      const seen = app.seen.length;
      const r = await rawRequest(qp.port, bytes + SMUGGLED, 1500);
      expect(r.closed).toBe(true);
      const lines = r.text.match(/HTTP\/1\.1 \d{3}/g) ?? [];
      expect(lines.length).toBeLessThanOrEqual(1);
      if (lines.length === 1) expect(lines).toEqual([`HTTP/1.1 ${status}`]);
      await new Promise((res) => setTimeout(res, 150));
      expect(app.seen.slice(seen).map((s) => s.url)).not.toContain('/smuggled');
    });
  }

  it('the refusal alone is answered and ends the connection', async () => {
    const r = await rawRequest(qp.port, cases[1]![1], 1500);
    expect(r.status).toBe(400);
    expect(r.closed).toBe(true);
  });
});
