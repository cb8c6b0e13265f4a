import type { Registry } from 'prom-client';
import { listenOn, uws, type HttpResponse, type TemplatedApp, type us_listen_socket } from '../shared/uws.js';
import { writeText } from '../upstream/respond.js';
import type { StatusDoc } from './status.js';
import { DASHBOARD_HTML } from './dashboard.js';

export interface AdminSources {
  registry: Registry;
  status(): StatusDoc;
  /** Ready to take traffic (config loaded, not shutting down). */
  ready(): boolean;
}

/** The admin server: /metrics, /healthz, /readyz, /status and a dashboard at /. */
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
      .get('/', (res) => writeText(res, 200, DASHBOARD_HTML, 'text/html; charset=utf-8'))
      .any('/*', (res) => writeText(res, 404, 'not found\n'));
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
