/**
 * tidegate's spans: one server span per request and an `activator.buffer`
 * child while a request waits in the activator buffer. The pod gets a
 * traceparent whose parent is the server span. Sampling follows the
 * parent's flag; a request without a (valid) parent starts a trace, sampled
 * with probability `sample`. Unsampled requests still get ids (the pod and
 * the access log see one trace id) but build no span.
 */
import { IdSource, formatTraceparent, parseTraceparent } from './trace-context.js';
import { SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, STATUS_ERROR, STATUS_UNSET, type SpanSink } from './otlp-exporter.js';

/** One request's trace ids, kept on its exchange while it runs. */
export class TraceState {
  /** When the current activator wait began (epoch ms), 0 when not buffered. */
  bufferStart = 0;

  constructor(
    readonly traceId: string,
    readonly spanId: string,
    readonly parentSpanId: string,
    readonly sampled: boolean,
    readonly traceState: string,
  ) {}

  /** The header lines the pod gets in place of the client's. */
  headerLines(): string {
    const tp = `traceparent: ${formatTraceparent(this.traceId, this.spanId, this.sampled)}\r\n`;
    return this.traceState === '' ? tp : `${tp}tracestate: ${this.traceState}\r\n`;
  }
}

/** What the server span records when a request ends. */
export interface ServerSpanEnd {
  readonly startMs: number;
  readonly endMs: number;
  readonly method: string;
  readonly host: string;
  /** 0: the client went away before the answer. */
  readonly status: number;
  readonly service: string | null;
  readonly revision: string | null;
  readonly pod: string | null;
  /** The X-Tidegate-Error hop when tidegate failed the request. */
  readonly errorHop: string | null;
}

export interface TracerOptions {
  readonly sink: SpanSink;
  /** Probability that a root request is sampled (0..1). */
  readonly sample: number;
  readonly random?: () => number;
}

export class Tracer {
  private readonly ids = new IdSource();
  private readonly random: () => number;

  constructor(private readonly opts: TracerOptions) {
    this.random = opts.random ?? Math.random;
  }

  /** The trace of a request arriving with these headers ('' when absent). */
  start(traceparent: string, tracestate: string): TraceState {
    const parent = traceparent === '' ? null : parseTraceparent(traceparent);
    if (parent !== null) return new TraceState(parent.traceId, this.ids.spanId(), parent.spanId, parent.sampled, tracestate);
    // No valid parent: a new trace, and the client's tracestate (which belonged to no valid parent) is not passed on.
    const sampled = this.opts.sample > 0 && this.random() < this.opts.sample;
    return new TraceState(this.ids.traceId(), this.ids.spanId(), '', sampled, '');
  }

  bufferStart(t: TraceState, now: number): void {
    t.bufferStart = now;
  }

  /** The activator wait ended: released to a pod, or the request ended while waiting. */
  bufferEnd(t: TraceState, now: number, revision: string, released: boolean): void {
    const start = t.bufferStart;
    if (start === 0) return;
    t.bufferStart = 0;
    if (!t.sampled) return;
    this.opts.sink.add({
      traceId: t.traceId,
      spanId: this.ids.spanId(),
      parentSpanId: t.spanId,
      traceState: t.traceState,
      name: 'activator.buffer',
      kind: SPAN_KIND_INTERNAL,
      startMs: start,
      endMs: now,
      attributes: ['tidegate.revision', revision, 'tidegate.released', released ? 'true' : 'false'],
      statusCode: released ? STATUS_UNSET : STATUS_ERROR,
      statusMessage: released ? '' : 'ended while waiting for a pod',
    });
  }

  end(t: TraceState, e: ServerSpanEnd): void {
    if (t.bufferStart !== 0 && e.revision !== null) this.bufferEnd(t, e.endMs, e.revision, false);
    if (!t.sampled) return;
    const attributes: (string | number)[] = ['http.request.method', e.method, 'server.address', e.host, 'http.response.status_code', e.status];
    if (e.service !== null) attributes.push('tidegate.service', e.service);
    if (e.revision !== null) attributes.push('tidegate.revision', e.revision);
    if (e.pod !== null) attributes.push('tidegate.pod', e.pod);
    if (e.errorHop !== null) attributes.push('error.type', e.errorHop);
    const failed = e.status >= 500 || (e.status === 0 && e.errorHop !== null);
    this.opts.sink.add({
      traceId: t.traceId,
      spanId: t.spanId,
      parentSpanId: t.parentSpanId,
      traceState: t.traceState,
      name: e.method,
      kind: SPAN_KIND_SERVER,
      startMs: e.startMs,
      endMs: e.endMs,
      attributes,
      statusCode: failed ? STATUS_ERROR : STATUS_UNSET,
      statusMessage: failed ? (e.errorHop ?? `status ${e.status}`) : '',
    });
  }
}
