/**
 * gRPC end to end through a real `serve`: @grpc/grpc-js clients over TLS
 * (ALPN h2) and h2c, tidegate, and gRPC pods it runs itself (test/fixtures/
 * grpc-app.mjs, `protocol: h2c`). Every call kind both ways, a weighted
 * split over 2,000 calls, a revision woken from zero by its first call,
 * deadlines (the client's and tidegate's own timeoutSeconds), 16 MiB
 * streamed each way, cancellation reaching the pod, and tidegate's own
 * errors as gRPC statuses.
 */
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternByte } from '../fixtures/grpc-service.mjs';
import { makeCertificates, type TestCertificates } from '../support/certs.js';
import { grpcClient, type EchoClient, type EchoMessage } from '../support/grpc-client.js';
import { startEdge, type TestEdge } from '../support/serve.js';
import { waitForValue } from '../support/wait.js';

const APP = path.resolve('test/fixtures/grpc-app.mjs');

let certs: TestCertificates;
let edge: TestEdge;
const clients: EchoClient[] = [];

const MIN1 = '        annotations: { autoscaling.knative.dev/min-scale: "1" }\n';

function config(): string {
  const revision = (name: string, extra = '') => `      - name: ${name}
        protocol: h2c
        command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(APP)}]
        env: { REVISION_NAME: ${name} }
${extra}`;
  return `domain: example.com
tls:
  certificates:
    - hosts: ["*.example.com"]
      cert: ${JSON.stringify(certs.leaf.cert)}
      key: ${JSON.stringify(certs.leaf.key)}
autoscaler:
  stable-window: 6s
  scale-to-zero-grace-period: 1s
  enable-scale-to-zero: true
  allow-zero-initial-scale: true
  initial-scale: 1
services:
  - name: echo
    revisions:
${revision('echo-a', MIN1)}${revision('echo-b', MIN1)}    traffic:
      - { revisionName: echo-a, percent: 30 }
      - { revisionName: echo-b, percent: 70 }
  - name: slow
    revisions:
${revision('slow-1', MIN1 + '        timeoutSeconds: 1\n')}    traffic: [{ revisionName: slow-1, percent: 100 }]
  - name: cold
    revisions:
${revision('cold-1', '        annotations: { autoscaling.knative.dev/initial-scale: "0" }\n')}    traffic: [{ revisionName: cold-1, percent: 100 }]
`;
}

/** A client of `service` over TLS (SNI and :authority = its host) or h2c. */
function client(service: string, over: 'tls' | 'h2c'): EchoClient {
  const host = `${service}.example.com`;
  const c =
    over === 'tls'
      ? grpcClient(`127.0.0.1:${edge.tlsPort}`, { tls: { ca: certs.ca, servername: host }, authority: host })
      : grpcClient(`127.0.0.1:${edge.h2cPort}`, { authority: host });
  clients.push(c);
  return c;
}

function statusOf(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  return promise.then(
    () => {
      throw new Error('the call succeeded; it should have failed');
    },
    (err: grpc.ServiceError) => err,
  );
}

beforeAll(async () => {
  certs = await makeCertificates(['*.example.com']);
  edge = await startEdge(config(), { tlsPort: 0, h2cPort: 0 });
  await waitForValue(() => [edge.edge.revision('echo-a')?.readyPods, edge.edge.revision('echo-b')?.readyPods, edge.edge.revision('slow-1')?.readyPods], (r) => r.every((n) => n === 1), 20_000, 'the gRPC pods');
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await edge?.close();
  certs?.cleanup();
});

describe.each(['tls', 'h2c'] as const)('gRPC through tidegate over %s', (over) => {
  it('unary, server-streaming, client-streaming and bidi calls reach a pod of the service and come back whole', async () => {
    const c = client('echo', over);
    const payload = Buffer.from([0, 1, 2, 255]);
    const reply = await c.unary({ text: 'hi', payload });
    expect(reply.text).toBe('hi');
    expect(reply.payload).toEqual(payload);
    expect(['echo-a', 'echo-b']).toContain(reply.revision);
    expect(reply.authority).toBe('echo.example.com');

    const stream = await c.serverStream({ count: 10, size: 1000 });
    expect(stream.map((m) => m.index)).toEqual([...Array(10).keys()]);
    expect(await c.clientStream(Array.from({ length: 50 }, (_, i) => ({ i, payload: Buffer.alloc(1000, i) })))).toMatchObject({ messages: 50, bytes: 50_000 });
    const echoes = await c.bidi(Array.from({ length: 10 }, (_, i) => ({ i })));
    expect(echoes.map((m) => m.i)).toEqual([...Array(10).keys()]);
  });

  it("passes the pod's gRPC status and message through (trailers)", async () => {
    const err = await statusOf(client('echo', over).fail(grpc.status.RESOURCE_EXHAUSTED, 'no more, thanks'));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toBe('no more, thanks');
  });

  it('streams 16 MiB each way, every byte intact', async () => {
    const c = client('echo', over);
    const got = await c.serverStream({ count: 256, size: 64 * 1024 });
    expect(got.reduce((n, m) => n + m.payload!.length, 0)).toBe(16 * 1024 * 1024);
    expect(got[255]!.payload!.every((b, i) => b === patternByte(255, i))).toBe(true);
    const up: EchoMessage[] = Array.from({ length: 16 }, (_, i) => ({ i, payload: Buffer.alloc(1024 * 1024, i) }));
    expect(await c.clientStream(up)).toMatchObject({ messages: 16, bytes: 16 * 1024 * 1024 });
  });

  it("a client deadline is DEADLINE_EXCEEDED and the pod's call is cancelled", async () => {
    const c = client('slow', over);
    const before = await c.wasCancelled();
    expect((await statusOf(c.sleep(5_000, { deadlineMs: 200 }))).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const after = await waitForValue(() => c.wasCancelled(), (n) => n.cancelled > before.cancelled, 3_000, 'the pod to see the cancel');
    expect(after.sleeping).toBe(0);
  });

  it("tidegate's own timeoutSeconds is DEADLINE_EXCEEDED, marked upstream-timeout", async () => {
    const c = client('slow', over);
    const err = await statusOf(c.sleep(3_000));
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(err.metadata.get('x-tidegate-error')).toEqual(['upstream-timeout']);
  });

  it('a cancelled call reaches the pod as a cancel', async () => {
    const c = client('slow', over);
    const before = await c.wasCancelled();
    const abort = new AbortController();
    const call = statusOf(c.sleep(5_000, { signal: abort.signal }));
    try {
      await waitForValue(() => c.wasCancelled(), (n) => n.sleeping === 1, 3_000, 'the Sleep to start');
    } finally {
      abort.abort();
    }
    expect((await call).code).toBe(grpc.status.CANCELLED);
    const after = await waitForValue(() => c.wasCancelled(), (n) => n.cancelled > before.cancelled, 3_000, 'the pod to see the cancel');
    expect(after).toMatchObject({ byClient: before.byClient + 1, sleeping: 0 });
  });

  it('an unknown host is UNIMPLEMENTED with X-Tidegate-Error router-no-route', async () => {
    const err = await statusOf(client('nope', over).unary({}));
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(err.metadata.get('x-tidegate-error')).toEqual(['router-no-route']);
  });
});

describe('gRPC routing', () => {
  it('a 30/70 split holds within 3 points over 2,000 calls', async () => {
    const c = client('echo', 'h2c');
    const counts: Record<string, number> = {};
    for (let batch = 0; batch < 20; batch++) {
      const replies = await Promise.all(Array.from({ length: 100 }, () => c.unary({})));
      for (const r of replies) counts[String(r.revision)] = (counts[String(r.revision)] ?? 0) + 1;
    }
    expect((counts['echo-a'] ?? 0) + (counts['echo-b'] ?? 0)).toBe(2000);
    expect(Math.abs((counts['echo-a'] ?? 0) / 2000 - 0.3)).toBeLessThanOrEqual(0.03);
  }, 60_000);

  it('a revision at zero is woken by its first gRPC call, which is answered', async () => {
    expect(edge.edge.revision('cold-1')?.readyPods).toBe(0);
    const started = performance.now();
    const reply = await client('cold', 'tls').unary({ text: 'wake' }, { deadlineMs: 20_000 });
    expect(reply).toMatchObject({ text: 'wake', revision: 'cold-1' });
    expect(performance.now() - started).toBeLessThan(20_000);
  }, 30_000);
});
