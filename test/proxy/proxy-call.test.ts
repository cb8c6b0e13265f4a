import { describe, expect, it } from 'vitest';
import type { HttpRequest, HttpResponse } from '../../src/shared/uws.js';
import { TidegateError, type ErrorCode } from '../../src/shared/errors.js';
import { Deadlines } from '../../src/proxy/deadlines.js';
import { ProxyCall, type CallContext } from '../../src/proxy/proxy-call.js';
import { RequestHeadReader, type HeadLimits } from '../../src/proxy/request-head.js';
import { EDGE_RETRY, QUEUE_PROXY_RETRY, type RetryPolicy } from '../../src/proxy/retry.js';
import { UpstreamBuffers } from '../../src/upstream/buffers.js';
import { BodyMode } from '../../src/upstream/response-head.js';
import type { DispatchController, DispatchHandler, Dispatcher, UpstreamRequest, UpstreamResponseHead } from '../../src/upstream/dispatcher.js';
import { FakeClock } from '../support/fake-clock.js';

// ProxyCall's policy (admission, retry, timeouts, the response to the
// client) driven without sockets: a fake uWS request and response, a fake
// dispatcher whose controllers record what they were told, and a subclass
// whose hooks do what each test scripts and log every call. The deadline
// wheel, the head reader and the buffers are the real ones.

const KiB = 1024;
const LIMITS: HeadLimits = { maxHeaderBytes: 16 * KiB, maxBodyBytes: 1024 * KiB };

const text = (bytes: string | Uint8Array): string => (typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('latin1'));

function fakeRequest(method: string, url: string, headers: [string, string][]): HttpRequest {
  const [path = '/', query = ''] = url.split('?');
  const req = {
    forEach: (cb: (name: string, value: string) => void) => headers.forEach(([n, v]) => cb(n, v)),
    getCaseSensitiveMethod: () => method,
    getUrl: () => path,
    getQuery: () => query,
    getHeader: (name: string) => headers.find(([n]) => n === name)?.[1] ?? '',
  };
  return req as unknown as HttpRequest;
}

/** The client's side: what ProxyCall and respond.ts tell a uWS HttpResponse, in order. It never pushes back. */
class FakeResponse {
  readonly log: string[] = [];
  pauses = 0;
  resumes = 0;
  private offset = 0;
  private onAbort: (() => void) | null = null;
  private onBody: ((chunk: ArrayBuffer, isLast: boolean) => void) | null = null;

  writeStatus(status: string | Uint8Array): this {
    this.log.push(`status ${text(status)}`);
    return this;
  }
  writeHeader(name: string, value: string): this {
    this.log.push(`header ${name}: ${value}`);
    return this;
  }
  write(chunk: Uint8Array): boolean {
    this.log.push(`write ${text(chunk)}`);
    return true;
  }
  tryEnd(chunk: Uint8Array, total: number): [boolean, boolean] {
    this.offset += chunk.length;
    this.log.push(`tryEnd ${text(chunk)} of ${total}`);
    return [true, this.offset >= total];
  }
  getWriteOffset(): number {
    return this.offset;
  }
  end(body = '', close = false): this {
    this.log.push(`end ${body}`.trimEnd() + (close ? ' and close' : ''));
    return this;
  }
  /** Logs its arguments as given: uWS.js reads an explicit undefined as a length. */
  endWithoutBody(...args: unknown[]): this {
    this.log.push(`endWithoutBody(${args.map(String).join(', ')})`);
    return this;
  }
  close(): this {
    this.log.push('close');
    return this;
  }
  onWritable(): this {
    return this;
  }
  onAborted(cb: () => void): this {
    this.onAbort = cb;
    return this;
  }
  onData(cb: (chunk: ArrayBuffer, isLast: boolean) => void): this {
    this.onBody = cb;
    return this;
  }
  pause(): void {
    this.pauses++;
  }
  resume(): void {
    this.resumes++;
  }
  cork(fn: () => void): this {
    fn();
    return this;
  }
  getRemoteAddress(): ArrayBuffer {
    return Uint8Array.from([127, 0, 0, 1]).buffer;
  }
  getRemoteAddressAsText(): ArrayBuffer {
    return Uint8Array.from(Buffer.from('127.0.0.1')).buffer;
  }

  /** The client sends body bytes. Like uWS, the memory is reused once the callback returns: anything kept must be a copy. */
  send(body: string, isLast = false): void {
    const bytes = Uint8Array.from(Buffer.from(body));
    this.onBody!(bytes.buffer, isLast);
    bytes.fill(0x23); // '#'
  }

  /** The client goes away. */
  abort(): void {
    this.onAbort!();
  }

  get statuses(): string[] {
    return this.log.filter((l) => l.startsWith('status ')).map((l) => l.slice(7));
  }

  /** The value last written for a header. */
  header(name: string): string | undefined {
    const prefix = `header ${name}: `;
    return this.log.filter((l) => l.startsWith(prefix)).pop()?.slice(prefix.length);
  }
}

/** One dispatched request, as the fake pod's side sees it. */
class FakeController implements DispatchController {
  readonly written: Buffer[] = [];
  ended = false;
  released = 0;
  aborted = 0;
  pauses = 0;
  resumes = 0;
  responseDone = false;
  constructor(public connecting: boolean) {}

  write(bytes: Uint8Array): boolean {
    this.written.push(Buffer.from(bytes)); // the caller may reuse the memory
    return true;
  }
  end(): void {
    this.ended = true;
  }
  pause(): void {
    this.pauses++;
  }
  resume(): void {
    this.resumes++;
  }
  release(): void {
    this.released++;
  }
  abort(): void {
    this.aborted++;
  }
  get body(): string {
    return Buffer.concat(this.written).toString('latin1');
  }
}

interface Dispatched {
  readonly request: UpstreamRequest;
  readonly extraHeaders: string;
  readonly handler: DispatchHandler;
  readonly ctl: FakeController;
}

class FakeDispatcher implements Dispatcher {
  readonly calls: Dispatched[] = [];
  /** Whether the controllers it hands out are still connecting. */
  connecting = false;

  dispatch(request: UpstreamRequest, extraHeaders: string, handler: DispatchHandler): DispatchController {
    const ctl = new FakeController(this.connecting);
    this.calls.push({ request, extraHeaders, handler, ctl });
    return ctl;
  }
  close(): void {}

  get last(): Dispatched {
    return this.calls.at(-1)!;
  }
}

function responseHead(status: number, o: { mode?: BodyMode; length?: number; headers?: Record<string, string> } = {}): UpstreamResponseHead {
  const headers = o.headers ?? {};
  return {
    status,
    bodyMode: o.mode ?? BodyMode.Length,
    contentLength: o.length ?? -1,
    headers: {
      writeTo: (target) => target.writeStatus(Buffer.from([String(status), ...Object.entries(headers).map(([n, v]) => `${n}: ${v}`)].join('\r\n'))),
      find: (name) => headers[text(name)] ?? null,
    },
  };
}

/** The pod answers, as a dispatcher reports it: head, body, end, inside cork. */
function answer(d: Dispatched, head: UpstreamResponseHead, body = ''): void {
  d.handler.cork(() => {
    d.handler.onResponseStart(head);
    if (body !== '') d.handler.onResponseData(Buffer.from(body));
    d.ctl.responseDone = true;
    d.handler.onResponseEnd();
  });
}

/** The try fails; `gotResponse`: some response byte had arrived. */
function failTry(d: Dispatched, code: ErrorCode, gotResponse = false): void {
  d.handler.onResponseError(new TidegateError(code, `the fake pod: ${code}`), gotResponse);
}

/** A ProxyCall whose slots are pod names and whose hooks do what the test scripted, each call logged. */
class PodCall extends ProxyCall<string> {
  readonly log: string[] = [];
  /** What acquire hands out, in order. */
  free: string[] = [];
  waitError: TidegateError | null = null;
  /** What podFailed answers: whether the try counts against the limit. */
  failureCounts = true;
  mayWait = false;
  deadlineCalls = 0;

  constructor(
    res: FakeResponse,
    req: HttpRequest,
    ctx: CallContext,
    private readonly pods: Dispatcher,
    now: number,
    limits: HeadLimits,
  ) {
    super(res as unknown as HttpResponse, req, limits, ctx, now);
  }

  /** The owner's hop header lines (the edge's, after the activator buffer). */
  setHopHeaders(lines: string): void {
    this.extraHeaders = lines;
  }

  protected acquire(avoid: string | null): string | null {
    const slot = this.free.shift() ?? null;
    this.log.push(`acquire${avoid !== null ? ` avoiding ${avoid}` : ''} → ${slot ?? 'none'}`);
    return slot;
  }
  protected wait(avoid: string | null): TidegateError | null {
    this.log.push(`wait${avoid !== null ? ` avoiding ${avoid}` : ''}`);
    return this.waitError;
  }
  protected dispatcherFor(slot: string): Dispatcher {
    this.log.push(`dispatch ${slot}`);
    return this.pods;
  }
  protected releaseSlot(slot: string): void {
    this.log.push(`release ${slot}`);
  }
  protected podFailed(slot: string, err: TidegateError): boolean {
    this.log.push(`podFailed ${slot} ${err.code}`);
    return this.failureCounts;
  }
  protected canWait(): boolean {
    return this.mayWait;
  }
  protected retrying(failed: string, next: string | null): void {
    this.log.push(`retrying ${failed} → ${next ?? 'wait'}`);
  }
  protected waitTimeout(): TidegateError {
    return new TidegateError('TG_ERR_ACTIVATOR_TIMEOUT', 'no pod took the request within timeoutSeconds');
  }
  protected ended(): void {
    this.log.push(`ended ${this.status}`);
  }
  override onDeadline(): void {
    this.deadlineCalls++;
    super.onDeadline();
  }
}

interface Setup {
  method?: string;
  url?: string;
  /** A Content-Length, or a chunked body; none by default. */
  body?: number | 'chunked';
  free?: string[];
  /** [total, responseStart, idle] in ms, 0 = none; not armed when unset. */
  timeouts?: [number, number, number];
  retry?: RetryPolicy;
  limits?: HeadLimits;
}

function setup(o: Setup = {}) {
  const clock = new FakeClock();
  // Not annotated: a CallContext with or without the owner's set of open WebSockets (none are opened here).
  const ctx = { reader: new RequestHeadReader(), deadlines: new Deadlines(clock), retry: o.retry ?? EDGE_RETRY, buffers: new UpstreamBuffers(), relays: new Set<never>() };
  const headers: [string, string][] = [['host', 'hello.example.com']];
  if (typeof o.body === 'number') headers.push(['content-length', String(o.body)]);
  if (o.body === 'chunked') headers.push(['transfer-encoding', 'chunked']);
  const res = new FakeResponse();
  const pods = new FakeDispatcher();
  const call = new PodCall(res, fakeRequest(o.method ?? 'GET', o.url ?? '/', headers), ctx, pods, clock.now(), o.limits ?? LIMITS);
  call.free = [...(o.free ?? [])];
  if (o.timeouts !== undefined) {
    const [totalMs, responseStartMs, idleMs] = o.timeouts;
    call.arm({ totalMs, responseStartMs, idleMs });
  }
  return { clock, res, pods, call };
}

/** Tidegate's own error, and only it, went to the client. */
function expectError(res: FakeResponse, status: string, hop: string): void {
  expect(res.statuses).toEqual([status]);
  expect(res.header('x-tidegate-error')).toBe(hop);
}

const ended = (call: PodCall) => call.log.filter((l) => l.startsWith('ended'));
const released = (call: PodCall) => call.log.filter((l) => l.startsWith('release'));

describe('ProxyCall: the warm path', () => {
  it('a GET with a free slot is dispatched once; the response goes to the client; the connection and the slot are given back once', () => {
    const { call, res, pods } = setup({ url: '/hello?x=1', free: ['a'] });
    call.setHopHeaders('k-proxy-request: activator\r\n');
    call.admit();
    expect(pods.calls).toHaveLength(1);
    const d = pods.last;
    expect(d.request).toMatchObject({ method: 'GET', url: '/hello?x=1', contentLength: -1, chunked: false });
    expect(d.request.headerBlock).toContain('x-forwarded-for: 127.0.0.1\r\n');
    expect(d.extraHeaders).toBe('k-proxy-request: activator\r\n');
    expect(d.ctl.ended).toBe(true); // no body: complete at once

    answer(d, responseHead(200, { length: 5, headers: { 'content-type': 'text/plain' } }), 'hello');
    expect(res.log).toEqual(['status 200\r\ncontent-type: text/plain', 'tryEnd hello of 5']);
    expect(d.ctl).toMatchObject({ released: 1, aborted: 0 });
    expect(call.log).toEqual(['acquire → a', 'dispatch a', 'release a', 'ended 200']);
    expect(call).toMatchObject({ status: 200, attempts: 1, retries: 0, bytesOut: 5, error: null });
  });

  const modes: { name: string; method?: string; head: UpstreamResponseHead; body: string; log: string[] }[] = [
    { name: 'Content-Length', head: responseHead(200, { length: 5 }), body: 'hello', log: ['status 200', 'tryEnd hello of 5'] },
    { name: 'chunked', head: responseHead(200, { mode: BodyMode.Chunked }), body: 'hello', log: ['status 200', 'write hello', 'end'] },
    { name: 'until close', head: responseHead(200, { mode: BodyMode.UntilClose }), body: 'hello', log: ['status 200', 'write hello', 'end'] },
    { name: 'Content-Length: 0', head: responseHead(200, { mode: BodyMode.None }), body: '', log: ['status 200', 'end'] },
    { name: '204', head: responseHead(204, { mode: BodyMode.None }), body: '', log: ['status 204', 'endWithoutBody()'] },
    { name: '304', head: responseHead(304, { mode: BodyMode.None }), body: '', log: ['status 304', 'endWithoutBody()'] },
    { name: 'HEAD, declared length', method: 'HEAD', head: responseHead(200, { mode: BodyMode.None, length: 5 }), body: '', log: ['status 200', 'endWithoutBody(5)'] },
    { name: 'HEAD, no length', method: 'HEAD', head: responseHead(200, { mode: BodyMode.None }), body: '', log: ['status 200', 'endWithoutBody()'] },
  ];
  it.each(modes)('a response framed by $name ends the client response once, the way uWS needs', ({ method, head, body, log }) => {
    const { call, res, pods } = setup({ method: method ?? 'GET', free: ['a'] });
    call.admit();
    answer(pods.last, head, body);
    expect(res.log).toEqual(log);
    expect(pods.last.ctl.released).toBe(1);
    expect(ended(call)).toEqual([`ended ${head.status}`]);
  });

  it('a response that ends while the request body is still coming: the connection is not reused', () => {
    const { call, res, pods } = setup({ method: 'POST', body: 10, free: ['a'] });
    call.admit();
    res.send('hello');
    const d = pods.last;
    expect(d.ctl).toMatchObject({ body: 'hello', ended: false });
    answer(d, responseHead(200, { length: 2 }), 'no');
    expect(res.log).toEqual(['status 200', 'tryEnd no of 2']);
    expect(d.ctl).toMatchObject({ released: 0, aborted: 1 });
    expect(call.log).toEqual(['acquire → a', 'dispatch a', 'release a', 'ended 200']);
    res.send('world', true); // the rest of the body is no longer wanted
    expect(d.ctl.body).toBe('hello');
  });

  it('a POST whose body completed before the response: the connection is given back for reuse', () => {
    const { call, res, pods } = setup({ method: 'POST', body: 10, free: ['a'] });
    call.admit();
    res.send('hello');
    res.send('world', true);
    expect(pods.last.ctl).toMatchObject({ body: 'helloworld', ended: true });
    answer(pods.last, responseHead(201, { mode: BodyMode.None }));
    expect(pods.last.ctl).toMatchObject({ released: 1, aborted: 0 });
    expect(call).toMatchObject({ status: 201, bytesIn: 10 });
  });
});

describe('ProxyCall: retry', () => {
  it('a refused GET goes to another pod, counted; a third refusal is beyond the 3 tries: 502 upstream-refused', () => {
    const { call, res, pods } = setup({ free: ['a', 'b', 'c', 'd'] });
    call.admit();
    failTry(pods.last, 'TG_ERR_UPSTREAM_REFUSED');
    expect(call.log).toEqual(['acquire → a', 'dispatch a', 'podFailed a TG_ERR_UPSTREAM_REFUSED', 'release a', 'acquire avoiding a → b', 'retrying a → b', 'dispatch b']);
    expect(call).toMatchObject({ retries: 1, attempts: 2 });
    expect(pods.calls).toHaveLength(2);
    expect(res.log).toEqual([]);

    failTry(pods.last, 'TG_ERR_UPSTREAM_REFUSED');
    failTry(pods.last, 'TG_ERR_UPSTREAM_REFUSED');
    expect(pods.calls).toHaveLength(3);
    expectError(res, '502 Bad Gateway', 'upstream-refused');
    expect(call).toMatchObject({ retries: 2, attempts: 3, status: 502 });
    expect(call.log.slice(-3)).toEqual(['podFailed c TG_ERR_UPSTREAM_REFUSED', 'release c', 'ended 502']);
    expect(released(call)).toEqual(['release a', 'release b', 'release c']);
    expect(call.free).toEqual(['d']);
  });

  it('refusals the owner does not count go on past 3 tries, until no pod is free and the call may not wait: 502', () => {
    const { call, res, pods } = setup({ free: ['a', 'b', 'c', 'd', 'e'] });
    call.failureCounts = false;
    call.admit();
    for (let i = 0; i < 5; i++) failTry(pods.last, 'TG_ERR_UPSTREAM_REFUSED');
    expect(pods.calls).toHaveLength(5);
    expect(call.log.slice(-3)).toEqual(['release e', 'acquire avoiding e → none', 'ended 502']);
    expect(call).toMatchObject({ attempts: 0, retries: 4 });
    expect(released(call)).toEqual(['release a', 'release b', 'release c', 'release d', 'release e']);
    expectError(res, '502 Bad Gateway', 'upstream-refused');
  });

  it('refusals the owner does not count go on past 3 tries, then wait for a pod until timeoutSeconds: the wait timeout', () => {
    const { call, res, pods, clock } = setup({ free: ['a', 'b', 'c', 'd'], timeouts: [1000, 0, 0] });
    call.failureCounts = false;
    call.mayWait = true;
    call.admit();
    for (let i = 0; i < 4; i++) failTry(pods.last, 'TG_ERR_UPSTREAM_REFUSED');
    expect(pods.calls).toHaveLength(4);
    expect(call.log.slice(-3)).toEqual(['acquire avoiding d → none', 'retrying d → wait', 'wait avoiding d']);
    expect(call.waiting).toBe(true);
    clock.advance(1000);
    expectError(res, '504 Gateway Timeout', 'activator-timeout');
    expect(ended(call)).toEqual(['ended 504']);
  });

  it('a POST body written while connecting is replayed whole after each refusal, before what arrived since', () => {
    const { call, res, pods } = setup({ method: 'POST', body: 11, free: ['a', 'b', 'c'] });
    pods.connecting = true;
    call.admit();
    res.send('hello ');
    failTry(pods.last, 'TG_ERR_UPSTREAM_REFUSED');
    expect(pods.calls).toHaveLength(2);
    expect(pods.last.ctl).toMatchObject({ body: 'hello ', ended: false });
    res.send('world', true);
    expect(pods.last.ctl).toMatchObject({ body: 'hello world', ended: true });
    failTry(pods.last, 'TG_ERR_UPSTREAM_REFUSED');
    expect(pods.last.ctl).toMatchObject({ body: 'hello world', ended: true });
    answer(pods.last, responseHead(200, { mode: BodyMode.None }));
    expect(call).toMatchObject({ status: 200, attempts: 3, retries: 2 });
    expect(pods.last.ctl.released).toBe(1);
  });

  it('a refused POST that waits for a pod sends what the refused try took, then what arrived while waiting', () => {
    const { call, res, pods } = setup({ method: 'POST', body: 11, free: ['a'] });
    pods.connecting = true;
    call.mayWait = true;
    call.admit();
    res.send('hello ');
    failTry(pods.last, 'TG_ERR_UPSTREAM_REFUSED');
    expect(call.log.slice(-2)).toEqual(['retrying a → wait', 'wait avoiding a']);
    res.send('world', true);
    call.granted('b');
    expect(pods.calls).toHaveLength(2);
    expect(pods.last.ctl).toMatchObject({ body: 'hello world', ended: true });
  });

  it.each([
    { name: 'exactly 64 KiB is replayed', size: 64 * KiB, replayed: true },
    { name: 'more than 64 KiB is not: 502', size: 64 * KiB + 1, replayed: false },
  ])('a POST body written while connecting, then refused: $name', ({ size, replayed }) => {
    const { call, res, pods } = setup({ method: 'POST', body: size, free: ['a', 'b'] });
    pods.connecting = true;
    call.admit();
    res.send('x'.repeat(size - 1));
    res.send('y', true);
    failTry(pods.last, 'TG_ERR_UPSTREAM_REFUSED');
    if (replayed) {
      expect(pods.calls).toHaveLength(2);
      expect(pods.last.ctl.body).toBe(`${'x'.repeat(size - 1)}y`);
      expect(pods.last.ctl.ended).toBe(true);
    } else {
      expect(pods.calls).toHaveLength(1);
      expectError(res, '502 Bad Gateway', 'upstream-refused');
    }
  });

  // Failures that may have reached an app: only a body-less idempotent request goes again.
  it.each([
    { name: 'reset POST with a body', method: 'POST', body: 5, code: 'TG_ERR_UPSTREAM_RESET' as const, retried: false, hop: 'upstream-reset' },
    { name: 'reset PUT with a body', method: 'PUT', body: 5, code: 'TG_ERR_UPSTREAM_RESET' as const, retried: false, hop: 'upstream-reset' },
    { name: 'reset chunked PUT', method: 'PUT', body: 'chunked' as const, code: 'TG_ERR_UPSTREAM_RESET' as const, retried: false, hop: 'upstream-reset' },
    { name: 'reset GET', method: 'GET', code: 'TG_ERR_UPSTREAM_RESET' as const, retried: true },
    { name: 'reset DELETE with Content-Length: 0', method: 'DELETE', body: 0, code: 'TG_ERR_UPSTREAM_RESET' as const, retried: true },
    { name: 'nonsense from the pod on a GET', method: 'GET', code: 'TG_ERR_UPSTREAM_PROTOCOL' as const, retried: true },
    { name: 'GET failing after response bytes came', method: 'GET', code: 'TG_ERR_UPSTREAM_PROTOCOL' as const, gotResponse: true, retried: false, hop: 'upstream-protocol' },
    { name: 'refused GET at the queue-proxy (one app)', method: 'GET', code: 'TG_ERR_UPSTREAM_REFUSED' as const, retry: QUEUE_PROXY_RETRY, retried: false, hop: 'upstream-refused' },
  ])('$name → retried: $retried', ({ method, body, code, gotResponse, retry, retried, hop }) => {
    const { call, res, pods } = setup({ method, ...(body !== undefined && { body }), ...(retry !== undefined && { retry }), free: ['a', 'b'] });
    call.admit();
    if (body !== undefined && body !== 0) res.send('hello', true);
    failTry(pods.last, code, gotResponse);
    if (retried) {
      expect(pods.calls).toHaveLength(2);
      expect(res.log).toEqual([]);
    } else {
      expect(pods.calls).toHaveLength(1);
      expectError(res, '502 Bad Gateway', hop!);
      expect(call.log.slice(-2)).toEqual(['release a', 'ended 502']);
    }
  });
});

describe('ProxyCall: waiting for a slot', () => {
  it('with no free slot it waits, and nothing is sent yet', () => {
    const { call, res, pods } = setup();
    call.admit();
    expect(call.log).toEqual(['acquire → none', 'wait']);
    expect(call.waiting).toBe(true);
    expect(pods.calls).toHaveLength(0);
    expect(res.log).toEqual([]);
  });

  it('a wait refused with an error is answered with that error', () => {
    const { call, res } = setup();
    call.waitError = new TidegateError('TG_ERR_BUFFER_FULL', 'the buffer is full');
    call.admit();
    expectError(res, '503 Service Unavailable', 'activator-buffer-full');
    expect(res.header('retry-after')).toBe('1');
    expect(call.log).toEqual(['acquire → none', 'wait', 'ended 503']);
  });

  it('granted a slot, it dispatches with the body that arrived while waiting', () => {
    const { call, res, pods } = setup({ method: 'POST', body: 10 });
    call.admit();
    res.send('hello');
    res.send('world', true);
    expect(pods.calls).toHaveLength(0);
    call.granted('a');
    expect(call.waiting).toBe(false);
    expect(pods.last.ctl).toMatchObject({ body: 'helloworld', ended: true });
    answer(pods.last, responseHead(200, { mode: BodyMode.None }));
    expect(call.log).toEqual(['acquire → none', 'wait', 'dispatch a', 'release a', 'ended 200']);
  });

  it('64 KiB held while waiting pauses the client; the dispatch that takes them resumes it', () => {
    const { call, res, pods } = setup({ method: 'POST', body: 100 * KiB });
    call.admit();
    res.send('x'.repeat(64 * KiB - 1));
    expect(res.pauses).toBe(0);
    res.send('x');
    expect(res.pauses).toBe(1);
    call.granted('a');
    expect(pods.last.ctl.body.length).toBe(64 * KiB);
    expect(res.resumes).toBe(1);
    res.send('y'.repeat(36 * KiB), true);
    expect(pods.last.ctl).toMatchObject({ ended: true });
    expect(pods.last.ctl.body.length).toBe(100 * KiB);
  });

  it('a slot granted after the call ended (the client went away while waiting) is given back at once', () => {
    const { call, res, pods } = setup();
    call.admit();
    res.abort();
    call.granted('a');
    expect(pods.calls).toHaveLength(0);
    expect(call.log).toEqual(['acquire → none', 'wait', 'ended 0', 'release a']);
  });
});

describe('ProxyCall: timeouts, each from arrival', () => {
  it('timeoutSeconds passing while waiting for a slot: the waiting hop’s error', () => {
    const { call, res, clock } = setup({ timeouts: [1000, 0, 0] });
    call.admit();
    clock.advance(999);
    expect(res.log).toEqual([]);
    clock.advance(1);
    expectError(res, '504 Gateway Timeout', 'activator-timeout');
    expect(call.log).toEqual(['acquire → none', 'wait', 'ended 504']);
  });

  it('timeoutSeconds passing after dispatch: 504 upstream-timeout, the try aborted', () => {
    const { call, res, pods, clock } = setup({ timeouts: [1000, 0, 0], free: ['a'] });
    call.admit();
    clock.advance(999);
    expect(res.log).toEqual([]);
    clock.advance(1);
    expectError(res, '504 Gateway Timeout', 'upstream-timeout');
    expect(pods.last.ctl).toMatchObject({ aborted: 1, released: 0 });
    expect(call.log).toEqual(['acquire → a', 'dispatch a', 'release a', 'ended 504']);
  });

  it('responseStartTimeoutSeconds with no response byte: 504, the try aborted', () => {
    const { call, res, pods, clock } = setup({ timeouts: [0, 500, 0], free: ['a'] });
    call.admit();
    clock.advance(499);
    expect(res.log).toEqual([]);
    clock.advance(1);
    expectError(res, '504 Gateway Timeout', 'upstream-response-start-timeout');
    expect(pods.last.ctl.aborted).toBe(1);
    expect(ended(call)).toEqual(['ended 504']);
  });

  it('responseStartTimeoutSeconds no longer applies once the response began', () => {
    const { call, res, pods, clock } = setup({ timeouts: [0, 500, 0], free: ['a'] });
    call.admit();
    clock.advance(100);
    pods.last.handler.onResponseStart(responseHead(200, { length: 10 }));
    clock.advance(2000);
    expect(res.log).toEqual(['status 200']);
    pods.last.handler.onResponseData(Buffer.from('0123456789'));
    pods.last.ctl.responseDone = true;
    pods.last.handler.onResponseEnd();
    expect(pods.last.ctl.released).toBe(1);
  });

  // With responseStartTimeoutSeconds the only timeout (timeoutSeconds 0:
  // QueueProxyOptions allows it), nothing is left to time out once the response
  // began. The call re-added itself at deadline 0, into a slot the sweep never
  // visits again: one list left in the wheel's map per such request.
  it('a call with nothing left to time out leaves the deadline wheel', () => {
    const { call, pods, clock } = setup({ timeouts: [0, 500, 0], free: ['a'] });
    call.admit();
    clock.advance(100);
    pods.last.handler.onResponseStart(responseHead(200, { length: 10 }));
    clock.advance(400);
    expect(call.deadlineCalls).toBe(1);
    expect(call.list).toBeNull();
  });

  it('idleTimeoutSeconds before the response: a body byte moves it; then 504, the try aborted', () => {
    const { call, res, pods, clock } = setup({ method: 'POST', body: 10, timeouts: [0, 0, 300], free: ['a'] });
    call.admit();
    clock.advance(200);
    res.send('hello');
    clock.advance(299); // 300 ms after arrival, 299 after the byte
    expect(res.log).toEqual([]);
    clock.advance(1);
    expectError(res, '504 Gateway Timeout', 'upstream-idle-timeout');
    expect(pods.last.ctl).toMatchObject({ aborted: 1, released: 0 });
    expect(ended(call)).toEqual(['ended 504']);
  });

  it('idleTimeoutSeconds after the response began: the client connection is closed, the status kept', () => {
    const { call, res, pods, clock } = setup({ timeouts: [0, 0, 300], free: ['a'] });
    call.admit();
    clock.advance(100);
    pods.last.handler.onResponseStart(responseHead(200, { length: 10 }));
    pods.last.handler.onResponseData(Buffer.from('hello'));
    clock.advance(299);
    expect(res.log).toEqual(['status 200', 'tryEnd hello of 10']);
    clock.advance(1);
    expect(res.log).toEqual(['status 200', 'tryEnd hello of 10', 'close']);
    expect(call.status).toBe(200);
    expect(call.error?.code).toBe('TG_ERR_IDLE_TIMEOUT');
    expect(pods.last.ctl).toMatchObject({ aborted: 1, released: 0 });
    expect(ended(call)).toEqual(['ended 200']);
  });
});

describe('ProxyCall: the end, once', () => {
  it('the client going away aborts the try; status 0; ended once', () => {
    const { call, res, pods } = setup({ free: ['a'] });
    call.admit();
    pods.last.handler.onResponseStart(responseHead(200, { length: 10 }));
    res.abort();
    expect(pods.last.ctl).toMatchObject({ aborted: 1, released: 0 });
    expect(call.status).toBe(0);
    expect(call.log).toEqual(['acquire → a', 'dispatch a', 'release a', 'ended 0']);
    call.fail(new TidegateError('TG_ERR_UPSTREAM_RESET', 'too late'));
    expect(ended(call)).toHaveLength(1);
    expect(res.statuses).toEqual(['200']);
  });

  it('fail() twice answers and ends once', () => {
    const { call, res, pods } = setup({ free: ['a'] });
    call.admit();
    call.fail(new TidegateError('TG_ERR_UPSTREAM_RESET', 'first'));
    call.fail(new TidegateError('TG_ERR_UPSTREAM_TIMEOUT', 'second'));
    expectError(res, '502 Bad Gateway', 'upstream-reset');
    expect(call.error?.message).toBe('first');
    expect(pods.last.ctl.aborted).toBe(1);
    expect(call.log).toEqual(['acquire → a', 'dispatch a', 'release a', 'ended 502']);
  });

  it('a chunked body over maxBodyBytes: 413, answered one event-loop turn later (respond.ts), the try aborted', async () => {
    const { call, res, pods } = setup({ method: 'POST', body: 'chunked', free: ['a'], limits: { maxHeaderBytes: 16 * KiB, maxBodyBytes: 8 } });
    call.admit();
    res.send('12345678');
    res.send('9');
    expect(call.status).toBe(413);
    expect(pods.last.ctl).toMatchObject({ body: '12345678', aborted: 1 });
    expect(ended(call)).toEqual(['ended 413']);
    expect(res.log).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expectError(res, '413 Payload Too Large', 'edge-body-too-large');
    expect(res.log.at(-1)).toMatch(/ and close$/);
  });
});

describe('ProxyCall: the response head', () => {
  it('setResponseHeader adds a header to the response; set again, it replaces the value', () => {
    const { call, res, pods } = setup({ free: ['a'] });
    call.setResponseHeader('x-tidegate-cold-start', '12');
    call.setResponseHeader('x-extra', 'yes');
    call.setResponseHeader('x-tidegate-cold-start', '15');
    call.admit();
    answer(pods.last, responseHead(200, { mode: BodyMode.None }));
    expect(res.log).toEqual(['status 200', 'header x-tidegate-cold-start: 15', 'header x-extra: yes', 'end']);
  });

  it.each([
    { name: 'a 503 with X-Tidegate-Error', status: 503, headers: { 'x-tidegate-error': 'queue-proxy-queue-full' }, want: 'queue-proxy-queue-full' },
    { name: 'a 404 without it', status: 404, headers: {}, want: null },
    { name: 'a 200 with it (not an error)', status: 200, headers: { 'x-tidegate-error': 'queue-proxy-queue-full' }, want: null },
  ])('upstreamError: $name → $want', ({ status, headers, want }) => {
    const { call, pods } = setup({ free: ['a'] });
    call.admit();
    answer(pods.last, responseHead(status, { mode: BodyMode.None, headers }));
    expect(call.upstreamError).toBe(want);
    expect(call.status).toBe(status);
  });
});
