import { uws, type TemplatedApp, type us_listen_socket } from '../shared/uws.js';
import type { Edge } from './edge.js';

/** The data-plane listener: every request goes to the edge handler. */
export class EdgeServer {
  private app: TemplatedApp;
  private socket: us_listen_socket | null = null;

  constructor(edge: Edge) {
    this.app = uws.App().any('/*', edge.handle);
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (s) => {
        if (!s) return reject(new Error(`cannot listen on ${host}:${port} (in use?)`));
        this.socket = s;
        resolve(uws.us_socket_local_port(s));
      });
    });
  }

  /** Stops accepting new connections; open ones keep being served. */
  stopListening(): void {
    if (this.socket) uws.us_listen_socket_close(this.socket);
    this.socket = null;
  }
}
