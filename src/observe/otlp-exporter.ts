/**
 * Spans out over OTLP/HTTP with the JSON encoding (`application/json`,
 * POST `${endpoint}/v1/traces`): ids as hex, 64-bit integers and
 * nanosecond times as decimal strings, enums as numbers. Batched behind a
 * bounded queue; one export in flight at a time; a failed export drops its
 * batch (counted, logged once per outage); nothing here ever makes a
 * request wait.
 */
import http from 'node:http';
import https from 'node:https';
import { Counter, type Registry } from 'prom-client';
import type { Clock, Timer } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';

export const SPAN_KIND_INTERNAL = 1;
export const SPAN_KIND_SERVER = 2;
export const STATUS_UNSET = 0;
export const STATUS_ERROR = 2;

export type AttributeValue = string | number;

/** A finished span, as the tracer hands it over (times in epoch ms, the clock's unit). */
export interface SpanRecord {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly traceState: string;
  readonly name: string;
  readonly kind: number;
  readonly startMs: number;
  readonly endMs: number;
  /** key, value, key, value, … (integers become intValue, other values stringValue). */
  readonly attributes: readonly (string | AttributeValue)[];
  readonly statusCode: number;
  readonly statusMessage: string;
}

export interface SpanSink {
  add(span: SpanRecord): void;
}

export interface OtlpExporterOptions {
  /** The base URL (OTEL_EXPORTER_OTLP_ENDPOINT): spans go to its /v1/traces. */
  readonly endpoint: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Resource attributes (service.name, …). */
  readonly resource: Readonly<Record<string, string>>;
  readonly maxQueue?: number;
  readonly batchSize?: number;
  /** How long a span may wait for a batch to fill. */
  readonly delayMs?: number;
  readonly timeoutMs?: number;
}

/** `${base}/v1/traces`, as the OTLP exporter spec builds a signal URL from OTEL_EXPORTER_OTLP_ENDPOINT. */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

export class OtlpExporter implements SpanSink {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private queue: SpanRecord[] = [];
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly delayMs: number;
  private readonly timeoutMs: number;
  private timer: Timer | null = null;
  private inFlight: Promise<void> | null = null;
  private failing = false;
  private closed = false;
  private readonly resource: unknown;
  private readonly failures: Counter;
  private readonly droppedFull;
  private readonly droppedFailed;
  private readonly exported: Counter;

  constructor(private readonly opts: OtlpExporterOptions) {
    this.url = new URL(tracesUrl(opts.endpoint));
    this.agent = this.url.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.maxQueue = opts.maxQueue ?? 2048;
    this.batchSize = opts.batchSize ?? 512;
    this.delayMs = opts.delayMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.resource = { attributes: Object.entries(opts.resource).map(([key, v]) => attribute(key, v)) };
    const registers = [opts.registry];
    this.failures = new Counter({ name: 'tidegate_trace_export_failures_total', help: 'OTLP trace exports that failed (collector unreachable, timed out or not 2xx); their spans are dropped', registers });
    const dropped = new Counter({ name: 'tidegate_trace_spans_dropped_total', help: 'Spans not exported, by reason: the export queue was full, or their export failed', labelNames: ['reason'] as const, registers });
    this.droppedFull = dropped.labels('queue-full');
    this.droppedFailed = dropped.labels('export-failed');
    this.exported = new Counter({ name: 'tidegate_trace_spans_exported_total', help: 'Spans the OTLP collector accepted', registers });
  }

  add(span: SpanRecord): void {
    if (this.closed || this.queue.length >= this.maxQueue) {
      this.droppedFull.inc();
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.batchSize && this.inFlight === null) {
      // Full batch: export on the next turn, never inside the request that ended it.
      this.cancelTimer();
      this.timer = this.opts.clock.setTimeout(() => this.onTimer(), 0);
    } else if (this.timer === null && this.inFlight === null) {
      this.timer = this.opts.clock.setTimeout(() => this.onTimer(), this.delayMs);
    }
  }

  /** Exports everything queued now (tests, shutdown). */
  async flush(): Promise<void> {
    this.cancelTimer();
    while (this.inFlight !== null) await this.inFlight;
    while (this.queue.length > 0) await this.exportNext();
  }

  /** Last export of what is queued (for at most `ms`: shutdown does not wait on a hung collector), then no more. */
  async close(ms = 2000): Promise<void> {
    let timer: Timer | null = null;
    const bound = new Promise<void>((resolve) => (timer = this.opts.clock.setTimeout(resolve, ms)));
    try {
      await Promise.race([this.flush(), bound]);
    } finally {
      if (timer !== null) this.opts.clock.clearTimeout(timer);
      this.closed = true;
      this.cancelTimer();
      this.queue = [];
      this.agent.destroy();
    }
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private onTimer(): void {
    this.timer = null;
    if (this.inFlight !== null || this.queue.length === 0) return;
    void this.exportNext();
  }

  private exportNext(): Promise<void> {
    const batch = this.queue.length <= this.batchSize ? this.queue : this.queue.slice(0, this.batchSize);
    this.queue = batch === this.queue ? [] : this.queue.slice(this.batchSize);
    const body = Buffer.from(JSON.stringify(this.encode(batch)));
    const p = this.post(body).then(
      () => {
        this.exported.inc(batch.length);
        if (this.failing) {
          this.failing = false;
          this.opts.logger.info({ endpoint: this.url.href }, 'trace export works again');
        }
      },
      (err: unknown) => {
        this.failures.inc();
        this.droppedFailed.inc(batch.length);
        if (!this.failing) {
          this.failing = true;
          this.opts.logger.warn(
            { endpoint: this.url.href, err: err instanceof Error ? err.message : String(err), spans: batch.length },
            'trace export failed: spans are dropped until the collector answers (tidegate_trace_export_failures_total counts the failures)',
          );
        }
      },
    );
    const done = p.finally(() => {
      this.inFlight = null;
      // Spans that came during the export: the next batch, at once when full.
      if (this.queue.length > 0 && this.timer === null && !this.closed) {
        this.timer = this.opts.clock.setTimeout(() => this.onTimer(), this.queue.length >= this.batchSize ? 0 : this.delayMs);
      }
    });
    this.inFlight = done;
    return done;
  }

  private encode(batch: readonly SpanRecord[]): unknown {
    return {
      resourceSpans: [
        {
          resource: this.resource,
          scopeSpans: [{ scope: { name: 'tidegate' }, spans: batch.map(encodeSpan) }],
        },
      ],
    };
  }

  private post(body: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const lib = this.url.protocol === 'https:' ? https : http;
      const req = lib.request(this.url, {
        method: 'POST',
        agent: this.agent,
        headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
      });
      const timer = this.opts.clock.setTimeout(() => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      const settle = (err: Error | null) => {
        this.opts.clock.clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      req.on('error', (err) => settle(err));
      req.on('response', (res) => {
        res.resume();
        res.on('error', (err) => settle(err));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          settle(status >= 200 && status < 300 ? null : new Error(`collector answered ${status}`));
        });
      });
      req.end(body);
    });
  }
}

function encodeSpan(s: SpanRecord): unknown {
  const attributes: unknown[] = [];
  for (let i = 0; i + 1 < s.attributes.length; i += 2) attributes.push(attribute(String(s.attributes[i]), s.attributes[i + 1]!));
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
    ...(s.traceState ? { traceState: s.traceState } : {}),
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: nanos(s.startMs),
    endTimeUnixNano: nanos(s.endMs),
    attributes,
    status: s.statusCode === STATUS_UNSET ? {} : { code: s.statusCode, ...(s.statusMessage ? { message: s.statusMessage } : {}) },
  };
}

function attribute(key: string, v: AttributeValue): unknown {
  return { key, value: typeof v === 'number' && Number.isInteger(v) ? { intValue: String(v) } : { stringValue: String(v) } };
}

/** Epoch ms → nanoseconds as a decimal string (beyond 2^53, so never a Number). */
function nanos(ms: number): string {
  return `${Math.round(ms)}000000`;
}
