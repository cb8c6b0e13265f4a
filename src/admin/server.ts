import { listenOn, uws, type HttpResponse, type TemplatedApp, type us_listen_socket } from '../shared/uws.js';
import { writeText } from '../proxy/respond.js';
import type { StatusDoc } from './status.js';
import { loadDashboard } from './dashboard.js';
import type { HistoryDoc } from './history.js';

export interface AdminSources {
  /** The process's metrics (with several event loops, every loop's added up). */
  registry: { metrics(): Promise<string>; readonly contentType: string };
  status(): StatusDoc;
  /** Ready to take traffic (config loaded, not shutting down). */
  ready(): boolean;
  /** The dashboard's time series with time > sinceMs (history.ts); absent: /history answers 404. */
  history?(sinceMs: number): HistoryDoc;
}

/** The admin server: /metrics, /healthz, /readyz, /status, /history and a dashboard at /. */
export class AdminServer {
  private app: TemplatedApp;
  private socket: us_listen_socket | null = null;

  constructor(private src: AdminSources) {
    this.app = uws
      .App()
      .get('/metrics', (res) => this.metrics(res))
      .get('/healthz', (res) => writeText(res, 200, 'ok\n'))
      .get('/readyz', (res) => (this.src.ready() ? writeText(res, 200, 'ready\n') : writeText(res, 503, 'not ready\n')))
      .get('/status', (res) => writeText(res, 200, JSON.stringify(this.src.status()), 'application/json'))
      .get('/history', (res, req) => this.historyOf(res, req.getQuery('since')));
    for (const [url, file] of loadDashboard()) this.app.get(url, (res) => writeText(res, 200, file.body, file.type));
    this.app.any('/*', (res) => writeText(res, 404, 'not found\n'));
  }

  /** Binds host:port exclusively (TG_ERR_LISTEN when it cannot) and resolves with the port. */
  async listen(host: string, port: number): Promise<number> {
    this.socket = await listenOn(this.app, host, port, 'admin port');
    return uws.us_socket_local_port(this.socket);
  }

  close(): void {
    if (this.socket) uws.us_listen_socket_close(this.socket);
    this.socket = null;
  }

  private historyOf(res: HttpResponse, since: string | undefined): void {
    if (!this.src.history) return writeText(res, 404, 'no history kept\n');
    const sinceMs = since === undefined || since === '' ? 0 : Number(since);
    if (!Number.isFinite(sinceMs)) return writeText(res, 400, 'since: epoch milliseconds expected\n');
    writeText(res, 200, JSON.stringify(this.src.history(sinceMs)), 'application/json');
  }

  private metrics(res: HttpResponse): void {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    this.src.registry.metrics().then(
      (text) => {
        if (!aborted) writeText(res, 200, text, this.src.registry.contentType);
      },
      (err: unknown) => {
        if (!aborted) writeText(res, 500, `${String(err)}\n`);
      },
    );
  }
}
