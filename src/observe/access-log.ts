/**
 * The access log (`--access-log`): one JSON object per finished request,
 * one per line, with exactly the contract's fields (DESIGN.md "Access
 * log"). A line is built as one string when the request ends and handed to
 * a LineWriter, which writes off the request path.
 */
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { TidegateError } from '../shared/errors.js';
import { LineWriter, fdWriter, type WriteFn } from './line-writer.js';
import { traceIdOf } from './trace-context.js';
import type { TraceState } from './spans.js';
import { hopOf, statusOf } from '../proxy/http-errors.js';

export type Protocol = 'http/1.1' | 'h2' | 'ws';

/** What the log reads of a finished exchange (src/upstream/exchange.ts). */
export interface LoggedExchange {
  readonly head: { readonly method: string; readonly url: string; readonly host: string; readonly client: string; readonly traceparent: string };
  readonly startedAt: number;
  readonly status: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly responseStarted: boolean;
  readonly error: TidegateError | null;
  /** The X-Tidegate-Error of the upstream's own error response (a queue-proxy's), which the client saw. */
  readonly upstreamError: string | null;
  readonly retries: number;
  readonly waitedMs: number;
  readonly trace: TraceState | null;
}

export interface LoggedRoute {
  readonly name: string;
  readonly service: string;
}

export interface AccessLogOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Default: fs.write on stdout (fd 1). */
  readonly write?: WriteFn;
  readonly maxPendingChars?: number;
}

export class AccessLog {
  private readonly out: LineWriter;
  private lastMs = -1;
  private lastIso = '';
  // JSON of the values most requests repeat (the same strings, usually the same objects), made once.
  private lastClient = '';
  private lastClientJson = '""';
  private lastHost = '';
  private lastHostJson = '""';
  private lastMethod = '';
  private lastMethodJson = '""';
  private lastRoute: LoggedRoute | null = null;
  private lastPod: string | null = null;
  private lastWhereJson = '"service":null,"revision":null,"pod":null';

  constructor(opts: AccessLogOptions) {
    const dropped = new Counter({
      name: 'tidegate_access_log_dropped_lines_total',
      help: 'Access-log lines dropped because stdout did not keep up (or was closed)',
      registers: [opts.registry],
    });
    this.out = new LineWriter({
      write: opts.write ?? fdWriter(1),
      clock: opts.clock,
      logger: opts.logger,
      what: 'access log',
      onDropped: (n) => dropped.inc(n),
      ...(opts.maxPendingChars !== undefined ? { maxPendingChars: opts.maxPendingChars } : {}),
    });
  }

  /** A request that reached the edge's handler and ended (answered, failed, or the client went away). */
  exchange(ex: LoggedExchange, route: LoggedRoute | null, pod: string | null, now: number, protocol: Protocol = 'http/1.1'): void {
    const h = ex.head;
    const err = ex.error;
    // tidegate's own error body is its message and a newline (upstream/respond.ts).
    const bytesOut = ex.responseStarted ? ex.bytesOut : err !== null && ex.status !== 0 ? Buffer.byteLength(err.message) + 1 : 0;
    // The client saw the upstream's X-Tidegate-Error if it sent one, else tidegate's own.
    const hop = ex.upstreamError ?? (err === null ? null : hopOf(err));
    const trace = ex.trace;
    const traceId = trace !== null ? trace.traceId : traceIdOf(h.traceparent);
    if (h.client !== this.lastClient) this.lastClientJson = JSON.stringify((this.lastClient = h.client));
    if (h.host !== this.lastHost) this.lastHostJson = JSON.stringify((this.lastHost = h.host));
    if (h.method !== this.lastMethod) this.lastMethodJson = JSON.stringify((this.lastMethod = h.method));
    if (route !== this.lastRoute || pod !== this.lastPod) {
      this.lastRoute = route;
      this.lastPod = pod;
      this.lastWhereJson = `"service":${route === null ? 'null' : JSON.stringify(route.service)},"revision":${route === null ? 'null' : JSON.stringify(route.name)},"pod":${pod === null ? 'null' : JSON.stringify(pod)}`;
    }
    this.out.line(
      `{"time":"${this.iso(ex.startedAt)}","client":${this.lastClientJson},"method":${this.lastMethodJson},"host":${this.lastHostJson},"path":${JSON.stringify(h.url)},"protocol":"${protocol}",` +
        `"status":${ex.status},"bytes_in":${ex.bytesIn},"bytes_out":${bytesOut},"duration_ms":${now - ex.startedAt},${this.lastWhereJson},` +
        `"cold_start_ms":${ex.waitedMs < 0 ? 'null' : ex.waitedMs},"retries":${ex.retries},"error":${hop === null ? 'null' : JSON.stringify(hop)},"trace_id":${traceId === null ? 'null' : `"${traceId}"`}}\n`,
    );
  }

  /** A request refused while its head was read (400, 413, 431): no exchange, nothing routed. */
  refused(client: string, method: string, url: string, host: string, traceparent: string, err: TidegateError, now: number, protocol: Protocol = 'http/1.1'): void {
    const traceId = traceIdOf(traceparent);
    this.out.line(
      `{"time":"${this.iso(now)}","client":${JSON.stringify(client)},"method":${JSON.stringify(method)},"host":${JSON.stringify(host)},"path":${JSON.stringify(url)},"protocol":"${protocol}",` +
        `"status":${statusOf(err)},"bytes_in":0,"bytes_out":${Buffer.byteLength(err.message) + 1},"duration_ms":0,"service":null,"revision":null,"pod":null,` +
        `"cold_start_ms":null,"retries":0,"error":${JSON.stringify(hopOf(err))},"trace_id":${traceId === null ? 'null' : `"${traceId}"`}}\n`,
    );
  }

  /** Writes what is queued (shutdown). */
  flush(): Promise<void> {
    return this.out.flush();
  }

  /** ISO 8601 UTC with milliseconds; formatted once per millisecond. */
  private iso(ms: number): string {
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastIso = new Date(ms).toISOString();
    }
    return this.lastIso;
  }
}
