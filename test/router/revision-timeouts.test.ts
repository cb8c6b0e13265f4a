import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startEdge, startStaticEdge, type TestEdge } from '../support/serve.js';

/**
 * Knative's three per-revision timeouts at the edge (DESIGN.md "Timeouts"),
 * each counted from the request's arrival, through a real edge to a real
 * app. The app's stalls (4 s) are far past the 1 s timeouts, so a loaded
 * machine cannot blur which one answered.
 */

/** ?stall=MS before the head; ?drip=N: the head and N chunks 300 ms apart; ?after=MS: a stall after the first chunk. */
function slowApp(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const stall = Number(url.searchParams.get('stall') ?? 0);
  const drip = Number(url.searchParams.get('drip') ?? 0);
  const after = Number(url.searchParams.get('after') ?? 0);
  const timers: NodeJS.Timeout[] = [];
  res.on('close', () => timers.forEach(clearTimeout));
  timers.push(
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      if (after > 0) {
        res.write('first\n');
        timers.push(setTimeout(() => res.end('late\n'), after));
        return;
      }
      let sent = 0;
      const tick = () => {
        if (sent === drip) return res.end('done\n');
        sent++;
        res.write(`chunk ${sent}\n`);
        timers.push(setTimeout(tick, 300));
      };
      tick();
    }, stall),
  );
}

interface Answer {
  status: number;
  error: string | undefined;
  body: string;
  /** The body ended early: the connection closed before the response was complete. */
  cut: boolean;
  ms: number;
}

function get(edge: TestEdge, path: string): Promise<Answer> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ port: edge.port, host: '127.0.0.1', path, headers: { host: 'app.example.com' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      const done = (cut: boolean) => resolve({ status: res.statusCode ?? 0, error: res.headers['x-tidegate-error'] as string | undefined, body, cut, ms: Date.now() - t0 });
      res.on('end', () => done(false));
      res.on('aborted', () => done(true));
      res.on('error', () => done(true));
    });
    req.on('error', reject);
  });
}

describe('timeoutSeconds runs from arrival, the activator buffer wait included', () => {
  let edge: TestEdge;
  beforeAll(async () => {
    // A pod that starts and never listens: every request waits in the activator buffer (buffer-timeout is 60 s).
    edge = await startEdge(`domain: example.com
services:
  - name: app
    revisions:
      - name: app-1
        command: ["${process.execPath}", "-e", "setInterval(() => {}, 1000)"]
        timeoutSeconds: 1
`);
  });
  afterAll(async () => {
    await edge?.close();
  });

  it('a request still buffered when timeoutSeconds passes gets 504 activator-timeout', async () => {
    const a = await get(edge, '/');
    expect(a).toMatchObject({ status: 504, error: 'activator-timeout' });
    expect(a.ms).toBeGreaterThanOrEqual(900);
    expect(a.ms).toBeLessThan(3500);
    expect(edge.edge.revision('app-1')!.throttler.queued).toBe(0);
  });
});

describe('timeoutSeconds at the pod', () => {
  let app: Upstream;
  let edge: TestEdge;
  beforeAll(async () => {
    app = await startUpstream('app', slowApp);
    edge = await startStaticEdge(app.address, { revision: ['timeoutSeconds: 1'] });
  });
  afterAll(async () => {
    await edge?.close();
    await app?.close();
  });

  it('no complete response within timeoutSeconds: 504 upstream-timeout', async () => {
    const a = await get(edge, '/?stall=4000');
    expect(a).toMatchObject({ status: 504, error: 'upstream-timeout' });
    expect(a.ms).toBeLessThan(3500);
  });
});

describe('responseStartTimeoutSeconds and idleTimeoutSeconds', () => {
  let app: Upstream;
  let edge: TestEdge;
  beforeAll(async () => {
    app = await startUpstream('app', slowApp);
    edge = await startStaticEdge(app.address, { revision: ['timeoutSeconds: 30', 'responseStartTimeoutSeconds: 1', 'idleTimeoutSeconds: 2'] });
  });
  afterAll(async () => {
    await edge?.close();
    await app?.close();
  });

  it('no response byte within responseStartTimeoutSeconds: 504 upstream-response-start-timeout', async () => {
    const a = await get(edge, '/?stall=4000');
    expect(a).toMatchObject({ status: 504, error: 'upstream-response-start-timeout' });
    expect(a.ms).toBeGreaterThanOrEqual(900);
    expect(a.ms).toBeLessThan(3500);
  });

  it('a response that goes quiet longer than idleTimeoutSeconds after it began: the connection is closed', async () => {
    const a = await get(edge, '/?after=6000');
    expect(a.status).toBe(200);
    expect(a.body).toBe('first\n');
    expect(a.cut).toBe(true);
    expect(a.ms).toBeGreaterThanOrEqual(1900);
    expect(a.ms).toBeLessThan(5500);
  });

  it('a response whose bytes keep coming is not idle, however long it takes in all', async () => {
    const a = await get(edge, '/?drip=10');
    expect(a).toMatchObject({ status: 200, cut: false });
    expect(a.body).toContain('chunk 10\ndone\n');
    expect(a.ms).toBeGreaterThan(2000);
  });
});

describe('idleTimeoutSeconds before the response began', () => {
  let app: Upstream;
  let edge: TestEdge;
  beforeAll(async () => {
    app = await startUpstream('app', slowApp);
    edge = await startStaticEdge(app.address, { revision: ['timeoutSeconds: 30', 'idleTimeoutSeconds: 1'] });
  });
  afterAll(async () => {
    await edge?.close();
    await app?.close();
  });

  it('nothing either way for idleTimeoutSeconds and no response yet: 504 upstream-idle-timeout', async () => {
    const a = await get(edge, '/?stall=4000');
    expect(a).toMatchObject({ status: 504, error: 'upstream-idle-timeout' });
    expect(a.ms).toBeGreaterThanOrEqual(900);
    expect(a.ms).toBeLessThan(3500);
  });
});
