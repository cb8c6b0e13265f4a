import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { closed, nextMessage, opened, WsClients } from '../support/ws-client.js';
import { freePort } from '../support/ports.js';
import { getMetrics, startEdge, startStaticEdge, waitFor, type TestEdge } from '../support/serve.js';
import { alive, appConfig, delay, HOST, revisionStatus, type RevisionOptions } from '../e2e/harness.js';
import { descendants, HAVE_DIST } from '../e2e/serve-process.js';

// An open WebSocket through the edge, over its whole life with real pods:
// local pods (the actuator's child processes) running test/fixtures/ws-echo-app.mjs,
// woken from zero, kept from scaling to zero, killed, and behind a queue-proxy.

const WS_APP = path.resolve('test/fixtures/ws-echo-app.mjs');
/** A managed revision whose pods run the WebSocket echo app. */
const wsAppConfig = (rev: RevisionOptions = {}) => appConfig({ command: [process.execPath, WS_APP], ...rev });

const ws = new WsClients();

afterEach(() => ws.terminateAll());

function connect(port: number, protocols: string[] = []): WebSocket {
  return ws.connect(port, '/chat', { host: HOST, protocols });
}

/** Sends `data` and checks the same bytes come back, text as text and binary as binary. */
async function echoes(c: WebSocket, data: string | Buffer): Promise<void> {
  const binary = typeof data !== 'string';
  const got = nextMessage(c);
  c.send(data, { binary });
  const m = await got;
  expect(m.isBinary).toBe(binary);
  expect(m.data.equals(Buffer.from(data))).toBe(true);
}

/** The echo app's pid (straight to the pod, not through the edge). */
async function appPid(address: string): Promise<number> {
  const res = await request(`http://${address}/pid`);
  return Number(await res.body.text());
}

/** One sample of a Prometheus text exposition, or null when absent. */
function sample(text: string, name: string, labels: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('a WebSocket to a managed revision at zero', () => {
  let edge: TestEdge;

  beforeAll(async () => {
    // timeoutSeconds 5: the WebSocket held below stays open well past it.
    edge = await startEdge(wsAppConfig({ minScale: 0, maxScale: 1, timeoutSeconds: 5 }));
  });

  afterAll(async () => {
    await edge?.close();
  });

  it('wakes the revision, and the echo, subprotocol and close code go through', async () => {
    expect((await revisionStatus(edge.adminPort)).readyPods).toBe(0);
    expect(edge.actuator.currentScale('app-1')).toBe(0);

    const c = connect(edge.port, ['chat', 'other']);
    await opened(c);
    expect(c.protocol).toBe('chat');
    expect((await revisionStatus(edge.adminPort)).readyPods).toBe(1);
    await echoes(c, 'hello through a cold start');
    await echoes(c, Buffer.from([0, 1, 2, 254, 255]));

    const end = closed(c);
    c.send('close:4000:done'); // the app closes with this code and reason
    expect(await end).toEqual({ code: 4000, reason: 'done' });
  });

  it('stays up while a WebSocket is open, well past when an idle revision goes, and goes once it closes', async () => {
    const zero = async () => {
      const rev = await revisionStatus(edge.adminPort);
      return rev.readyPods === 0 && rev.pods.length === 0 && edge.actuator.currentScale('app-1') === 0;
    };
    // The baseline: one short WebSocket (waking the revision if it is at zero), then idle, the
    // revision goes to zero after the stable window (6 s) and the grace period (1 s).
    const first = connect(edge.port);
    await opened(first);
    const firstEnd = closed(first);
    first.close();
    await firstEnd;
    const idleSince = Date.now();
    await waitFor(zero, 20_000, 'the idle revision to scale to zero');
    const idleToZeroMs = Date.now() - idleSince;

    const c = connect(edge.port);
    await opened(c);
    const openedAt = Date.now();
    await echoes(c, 'awake again');
    const pod = (await revisionStatus(edge.adminPort)).pods[0]!;
    const pid = await appPid(pod.address);

    // Held open (and idle) for 5 s longer than the idle revision took to go.
    const holdMs = Math.max(idleToZeroMs, 7000) + 5000;
    const seen = new Set<string>();
    while (Date.now() - openedAt < holdMs) {
      const rev = await revisionStatus(edge.adminPort);
      seen.add(`ready ${rev.readyPods}, pods ${rev.pods.map((p) => `${p.id} in flight ${p.inFlight}`).join(' ')}, alive ${alive(pid)}`);
      await delay(250);
    }
    expect([...seen]).toEqual([`ready 1, pods ${pod.id} in flight 1, alive true`]);
    // What the autoscaler reads counts it as one request in flight for every whole period it was open
    // (in the activator's share: it came through the buffer, as any request to a revision at zero does).
    const perPeriod = new Map<number, number>();
    for (const st of await edge.store.readStats('app-1', openedAt + 1500)) perPeriod.set(st.time, (perPeriod.get(st.time) ?? 0) + st.concurrency);
    expect(perPeriod.size).toBeGreaterThanOrEqual(Math.floor(holdMs / 1000) - 3);
    expect(Math.min(...perPeriod.values())).toBeGreaterThanOrEqual(0.99);
    // Neither the idle stretch nor timeoutSeconds (5 s) cut it.
    expect(c.readyState).toBe(WebSocket.OPEN);
    await echoes(c, 'still here');

    const end = closed(c);
    c.close(1000, 'bye');
    expect(await end).toEqual({ code: 1000, reason: 'bye' });
    await waitFor(zero, 20_000, 'the revision to scale to zero once the WebSocket closed');
    await waitFor(() => !alive(pid), 5000, 'the pod process to exit');
  }, 60_000);
});

/** The queue-proxy admin port of a local pod, from the command line the actuator gave it. */
function queueProxyAdminPort(podId: string): number {
  for (const pid of descendants(process.pid)) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    if (args.includes('queue-proxy') && args[args.indexOf('--pod-id') + 1] === podId) return Number(args[args.indexOf('--admin-port') + 1]);
  }
  throw new Error(`no queue-proxy process for pod ${podId}`);
}

describe.skipIf(!HAVE_DIST)('a WebSocket through a queue-proxy (needs dist/: npm run build)', () => {
  let edge: TestEdge;

  beforeAll(async () => {
    edge = await startEdge(wsAppConfig({ queueProxy: true, containerConcurrency: 1, minScale: 1, maxScale: 1, initialScale: 1 }));
    await waitFor(async () => (await revisionStatus(edge.adminPort)).readyPods === 1, 15_000, 'one ready pod');
  });

  afterAll(async () => {
    await edge?.close();
  });

  it('echoes, and the queue-proxy counts the open WebSocket as a request in flight until it closes', async () => {
    const pod = (await revisionStatus(edge.adminPort)).pods[0]!;
    const admin = `http://127.0.0.1:${queueProxyAdminPort(pod.id)}`;
    const inFlight = async () => sample(await (await request(`${admin}/metrics`)).body.text(), 'tidegate_pod_inflight_requests', `revision="app-1",pod="${pod.id}"`);
    expect(await inFlight()).toBe(0);

    const c = connect(edge.port, ['chat']);
    await opened(c);
    expect(c.protocol).toBe('chat');
    await echoes(c, 'through the queue-proxy');
    await echoes(c, Buffer.alloc(100_000, 9));
    const openedAt = Date.now();
    expect(await inFlight()).toBe(1);
    // Its time-weighted concurrency (what the autoscaler reads): a whole period with the WebSocket open reads 1.
    const stats = async () => (JSON.parse(await (await request(`${admin}/stats`)).body.text()) as { stats: { time: number; concurrency: number }[] }).stats;
    await waitFor(async () => (await stats()).some((s) => s.time > openedAt + 1000), 5000, 'a whole stats period with the WebSocket open');
    const whole = (await stats()).filter((s) => s.time > openedAt + 1000);
    expect(Math.min(...whole.map((s) => s.concurrency))).toBeGreaterThanOrEqual(0.99);

    const end = closed(c);
    c.send('close:4002:from the app');
    expect(await end).toEqual({ code: 4002, reason: 'from the app' });
    await waitFor(async () => (await inFlight()) === 0, 3000, 'the queue-proxy to count the WebSocket out');
  });
});

describe('a WebSocket whose pod is killed', () => {
  let edge: TestEdge;

  beforeAll(async () => {
    edge = await startEdge(wsAppConfig({ containerConcurrency: 1, minScale: 1, maxScale: 1, initialScale: 1 }));
    await waitFor(async () => (await revisionStatus(edge.adminPort)).readyPods === 1, 15_000, 'one ready pod');
  });

  afterAll(async () => {
    await edge?.close();
  });

  it('closes the client with 1011 (or 1006) and gives the pod slot back', async () => {
    const pod = (await revisionStatus(edge.adminPort)).pods[0]!;
    const pid = await appPid(pod.address);
    const c = connect(edge.port);
    await opened(c);
    await echoes(c, 'before the kill');
    const rev = edge.edge.revision('app-1')!;
    expect(rev.throttler.inFlightOf(pod.id)).toBe(1);
    expect(rev.openWebSockets).toBe(1);
    await waitFor(async () => sample(await getMetrics(edge.adminPort), 'tidegate_pod_inflight_requests', `revision="app-1",pod="${pod.id}"`) === 1, 3000, 'the in-flight gauge to show the WebSocket');

    const end = closed(c);
    process.kill(pid, 'SIGKILL');
    const { code } = await end;
    expect([1011, 1006]).toContain(code);
    expect(rev.throttler.inFlightOf(pod.id)).toBe(0);
    expect(rev.openWebSockets).toBe(0);
    // The scrape says so too: no in-flight request left on any pod of the revision.
    await waitFor(async () => !/^tidegate_pod_inflight_requests\{revision="app-1",[^}]*\} [1-9]/m.test(await getMetrics(edge.adminPort)), 3000, 'no pod of app-1 with a request in flight');

    // The replacement pod takes a new WebSocket (containerConcurrency 1: nothing else holds its slot).
    await waitFor(async () => (await revisionStatus(edge.adminPort)).pods.some((p) => p.ready && p.id !== pod.id), 15_000, 'a replacement pod');
    const again = connect(edge.port);
    await opened(again);
    await echoes(again, 'after the kill');
  });
});

describe('WebSocket metrics', () => {
  let app: ChildProcess;
  let edge: TestEdge;

  beforeAll(async () => {
    // The echo app as a static pod: this test starts (and stops) its process.
    const port = await freePort();
    app = spawn(process.execPath, [WS_APP], { env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' }, stdio: 'ignore' });
    await waitFor(async () => {
      try {
        return (await (await request(`http://127.0.0.1:${port}/`)).body.text()) === 'ok';
      } catch {
        return false;
      }
    }, 5000, 'the echo app to listen');
    edge = await startStaticEdge(`127.0.0.1:${port}`);
  });

  afterAll(async () => {
    await edge?.close();
    app?.kill('SIGKILL');
  });

  it('count the messages and payload bytes relayed each way', async () => {
    const c = connect(edge.port);
    await opened(c);
    const sent: (string | Buffer)[] = ['a'.repeat(10), 'b'.repeat(100), 'c'.repeat(1000), Buffer.alloc(2048, 1), Buffer.alloc(5, 2)];
    for (const m of sent) await echoes(c, m);
    const echoedBytes = sent.reduce((n, m) => n + Buffer.byteLength(m), 0); // 3163
    // One more message to the app, which it answers with a close frame, not a message.
    const end = closed(c);
    c.send('close:4000:x');
    expect((await end).code).toBe(4000);

    const text = await getMetrics(edge.adminPort);
    const m = (name: string, direction: string) => sample(text, name, `revision="app-1",direction="${direction}"`);
    expect({
      messagesToApp: m('tidegate_websocket_messages_total', 'to_app'),
      bytesToApp: m('tidegate_websocket_bytes_total', 'to_app'),
      messagesToClient: m('tidegate_websocket_messages_total', 'to_client'),
      bytesToClient: m('tidegate_websocket_bytes_total', 'to_client'),
    }).toEqual({ messagesToApp: 6, bytesToApp: echoedBytes + 'close:4000:x'.length, messagesToClient: 5, bytesToClient: echoedBytes });
  });

  // Set by serve's 1 s periodic (updateGauges), not at scrape: hence the waits.
  it('show an open WebSocket in tidegate_websockets_open, and 0 once it closes', async () => {
    const c = connect(edge.port);
    await opened(c);
    const open = async () => sample(await getMetrics(edge.adminPort), 'tidegate_websockets_open', 'revision="app-1"');
    await waitFor(async () => (await open()) === 1, 3000, 'tidegate_websockets_open 1');
    const end = closed(c);
    c.close();
    await end;
    await waitFor(async () => (await open()) === 0, 3000, 'tidegate_websockets_open 0');
  });
});
