/**
 * The gRPC test app, client → app with no tidegate between: what the
 * proxying tests build on must itself be right (every call kind, a 16 MiB
 * stream byte for byte, deadlines, cancellation seen by the app, statuses).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternByte } from '../fixtures/grpc-service.mjs';
import { grpcClient, type EchoClient, type EchoMessage } from '../support/grpc-client.js';
import { freePort } from '../support/ports.js';
import { waitForValue } from '../support/wait.js';

const APP = path.resolve('test/fixtures/grpc-app.mjs');

let app: ChildProcess;
let port: number;
let client: EchoClient;

async function startApp(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [APP], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`grpc-app.mjs exited ${code}: ${err}`)));
  });
  return child;
}

const exited = (child: ChildProcess): Promise<number | null> => new Promise((r) => child.once('exit', (code) => r(code)));

function statusOf(promise: Promise<unknown>): Promise<{ code: grpc.status; details: string }> {
  return promise.then(
    () => {
      throw new Error('the call succeeded; it should have failed');
    },
    (err: grpc.ServiceError) => ({ code: err.code, details: err.details }),
  );
}

beforeAll(async () => {
  port = await freePort();
  app = await startApp({ PORT: String(port), REVISION_NAME: 'echo-00001' });
  client = grpcClient(`127.0.0.1:${port}`);
});

afterAll(async () => {
  client?.close();
  if (app && app.exitCode === null) {
    const gone = exited(app);
    app.kill('SIGTERM');
    await gone;
  }
});

describe('grpc-app: every call kind', () => {
  it('Unary echoes the message with its revision, port and authority, payload bytes intact', async () => {
    const payload = Buffer.from([0, 1, 2, 255, 254]);
    const reply = await client.unary({ text: 'hi', n: 7, payload });
    expect(reply).toMatchObject({ text: 'hi', n: 7, revision: 'echo-00001', port, authority: `127.0.0.1:${port}` });
    expect(reply.payload).toEqual(payload);
  });

  it('Unary shows the request metadata when asked', async () => {
    const reply = await client.unary({ echoMetadata: true }, { metadata: { 'x-test': 'yes' } });
    expect(reply.metadata).toMatchObject({ 'x-test': 'yes' });
  });

  it('a client with an authority sends it as :authority', async () => {
    const other = grpcClient(`127.0.0.1:${port}`, { authority: 'echo.example.com' });
    try {
      expect((await other.unary({})).authority).toBe('echo.example.com');
    } finally {
      other.close();
    }
  });

  it('ServerStream sends 16 MiB in 256 messages of 64 KiB, every byte as patterned', async () => {
    const size = 64 * 1024;
    const got = await client.serverStream({ count: 256, size });
    expect(got).toHaveLength(256);
    let bytes = 0;
    got.forEach((m, index) => {
      expect(m.index).toBe(index);
      const p = m.payload!;
      expect(p.length).toBe(size);
      bytes += p.length;
      for (const i of [0, 1, size >> 1, size - 1]) expect(p[i]).toBe(patternByte(index, i));
    });
    expect(bytes).toBe(16 * 1024 * 1024);
    // One message checked in full: no byte anywhere shifted.
    const last = got[255]!.payload!;
    expect(last.every((b, i) => b === patternByte(255, i))).toBe(true);
  });

  it('ClientStream counts the messages and payload bytes it received', async () => {
    const messages: EchoMessage[] = Array.from({ length: 100 }, (_, i) => ({ i, payload: Buffer.alloc(10_000, i) }));
    expect(await client.clientStream(messages)).toMatchObject({ messages: 100, bytes: 1_000_000, revision: 'echo-00001' });
  });

  it('Bidi echoes each message as it comes, in order', async () => {
    const messages: EchoMessage[] = Array.from({ length: 20 }, (_, i) => ({ i, payload: Buffer.alloc(i * 100, 7) }));
    const got = await client.bidi(messages);
    expect(got.map((m) => m.i)).toEqual(messages.map((m) => m.i));
    expect(got.map((m) => m.payload?.length ?? 0)).toEqual(messages.map((m) => m.payload!.length));
  });

  it('Fail passes its status code and message through', async () => {
    expect(await statusOf(client.fail(grpc.status.RESOURCE_EXHAUSTED, 'no more, thanks'))).toEqual({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'no more, thanks' });
    expect((await statusOf(client.fail(grpc.status.NOT_FOUND, ''))).code).toBe(grpc.status.NOT_FOUND);
  });
});

describe('grpc-app: deadlines and cancellation', () => {
  it('Sleep answers after its time, and an answered Sleep is not counted cancelled', async () => {
    const before = await client.wasCancelled();
    const started = performance.now();
    expect(await client.sleep(100)).toMatchObject({ slept: 100, revision: 'echo-00001' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    // grpc-js emits 'cancelled' at every stream close, answered or not (this
    // counted each answered Sleep as cancelled by the client, sleeping -1):
    // give that close time to arrive, then the counts must be as before.
    await new Promise((r) => setTimeout(r, 50));
    expect(await client.wasCancelled()).toEqual({ ...before, sleeping: 0 });
  });

  it('a Sleep past its deadline fails DEADLINE_EXCEEDED, and the app counts it cancelled by the deadline', async () => {
    const before = await client.wasCancelled();
    const started = performance.now();
    expect((await statusOf(client.sleep(5_000, { deadlineMs: 200 }))).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(performance.now() - started).toBeLessThan(2_000);
    const after = await waitForValue(() => client.wasCancelled(), (c) => c.cancelled > before.cancelled, 3_000, 'the app to see the cancel');
    expect(after.byDeadline).toBe(before.byDeadline + 1);
    expect(after.sleeping).toBe(0);
  });

  it('a Sleep the client cancels fails CANCELLED, and the app sees the cancel from the client', async () => {
    const before = await client.wasCancelled();
    const abort = new AbortController();
    const call = statusOf(client.sleep(5_000, { signal: abort.signal }));
    try {
      await waitForValue(() => client.wasCancelled(), (c) => c.sleeping === 1, 3_000, 'the Sleep to start');
    } finally {
      // Also when the wait failed: no 5 s call left running past the test.
      abort.abort();
    }
    expect((await call).code).toBe(grpc.status.CANCELLED);
    const after = await waitForValue(() => client.wasCancelled(), (c) => c.cancelled > before.cancelled, 3_000, 'the app to see the cancel');
    expect(after).toMatchObject({ byClient: before.byClient + 1, byDeadline: before.byDeadline, sleeping: 0 });
  });
});

describe('grpc-app: process', () => {
  it('answers with K_REVISION when REVISION_NAME is unset, "unknown" with neither', async () => {
    const env = { ...process.env };
    delete env.REVISION_NAME;
    delete env.K_REVISION;
    for (const [extra, want] of [[{ K_REVISION: 'kn-00002' }, 'kn-00002'], [{}, 'unknown']] as const) {
      const p = await freePort();
      const child = spawn(process.execPath, [APP], { env: { ...env, ...extra, PORT: String(p) }, stdio: ['ignore', 'pipe', 'pipe'] });
      await new Promise<void>((r) => child.stdout.on('data', (c: Buffer) => (c.toString().includes('listening on') ? r() : undefined)));
      const c = grpcClient(`127.0.0.1:${p}`);
      try {
        expect((await c.unary({})).revision).toBe(want);
      } finally {
        c.close();
        const gone = exited(child);
        child.kill('SIGTERM');
        expect(await gone).toBe(0);
      }
    }
  });

  it('on SIGTERM finishes the call in flight, then exits 0', async () => {
    const p = await freePort();
    const child = await startApp({ PORT: String(p) });
    const c = grpcClient(`127.0.0.1:${p}`);
    try {
      const call = c.sleep(300);
      await waitForValue(() => c.wasCancelled(), (s) => s.sleeping === 1, 3_000, 'the Sleep to start');
      const gone = exited(child);
      child.kill('SIGTERM');
      expect(await call).toMatchObject({ slept: 300 });
      expect(await gone).toBe(0);
    } finally {
      c.close();
    }
  });

  it('refuses to start without PORT', async () => {
    const env = { ...process.env };
    delete env.PORT;
    const child = spawn(process.execPath, [APP], { env, stdio: 'ignore' });
    expect(await exited(child)).toBe(2);
  });
});
