import { uws, type HttpResponse, type TemplatedApp } from '../shared/uws.js';
import { writeText } from '../proxy/respond.js';
import type { StatsDoc } from './stat-log.js';

/** What the admin port reads from its queue-proxy. */
export interface AdminSource {
  /** 'ready', or why not. */
  readiness(): 'ready' | 'not ready' | 'shutting down';
  /** Prometheus text of the queue-proxy's registry. */
  metrics(): Promise<string>;
  readonly metricsContentType: string;
  /** The numbered per-period stats after `after` (see stat-log.ts). */
  stats(after: number): StatsDoc;
  /** Resolves when the drain has finished (see sidecar.ts for a call that comes before any SIGTERM). */
  waitForDrain(): Promise<void>;
}

/**
 * The queue-proxy's own endpoints, on a port of their own (Knative keeps
 * them off the serving port too): nothing here is reachable through an
 * edge, and nothing on the data port is answered here.
 *
 *   GET /healthz   200 ok while the process runs
 *   GET /readyz    200 ready once the app passed its probe and no drain began
 *   GET /metrics   Prometheus text
 *   GET /stats?after=SEQ   JSON StatsDoc: the periods after SEQ (what a scraper writes to the store)
 *   GET /wait-for-drain    blocks until the drain has finished, then 200 (the app container's preStop hook)
 */
export function adminApp(src: AdminSource): TemplatedApp {
  return uws
    .App()
    .get('/healthz', (res) => writeText(res, 200, 'ok'))
    .get('/readyz', (res) => {
      const state = src.readiness();
      writeText(res, state === 'ready' ? 200 : 503, state);
    })
    .get('/metrics', (res) => metrics(res, src))
    .get('/stats', (res, req) => {
      const after = Number(new URLSearchParams(req.getQuery() ?? '').get('after') ?? 0);
      writeText(res, 200, JSON.stringify(src.stats(Number.isFinite(after) ? after : 0)), 'application/json');
    })
    .get('/wait-for-drain', (res) => waitForDrain(res, src))
    .any('/*', (res, req) => writeText(res, 404, `no such queue-proxy endpoint ${req.getUrl()}\n`));
}

function metrics(res: HttpResponse, src: AdminSource): void {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  src.metrics().then(
    (text) => {
      if (!aborted) writeText(res, 200, text, src.metricsContentType);
    },
    (err: unknown) => {
      if (!aborted) writeText(res, 500, `metrics failed: ${String(err)}\n`);
    },
  );
}

function waitForDrain(res: HttpResponse, src: AdminSource): void {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  void src.waitForDrain().then(() => {
    if (!aborted) writeText(res, 200, 'drained\n');
  });
}
