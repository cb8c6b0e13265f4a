import { listenOn, uws, type TemplatedApp, type us_listen_socket } from '../shared/uws.js';
import { relayBehavior } from '../proxy/ws-relay.js';
import type { Edge } from './edge.js';

/** The data-plane listener: every request goes to the edge handler; WebSocket upgrades to its upgrade handler. */
export class EdgeServer {
  private app: TemplatedApp;
  private socket: us_listen_socket | null = null;

  constructor(edge: Edge) {
    this.app = uws.App().ws('/*', relayBehavior(edge.upgrade)).any('/*', edge.handle);
  }

  /**
   * Binds host:port and resolves with the port. Exclusively by default (a
   * port another tidegate holds is refused, TG_ERR_LISTEN); `shared`: with
   * SO_REUSEPORT, for the event loops of one `serve --workers N`.
   */
  async listen(host: string, port: number, shared = false): Promise<number> {
    this.socket = await listenOn(this.app, host, port, 'data port', !shared);
    return uws.us_socket_local_port(this.socket);
  }

  /** Stops accepting new connections; open ones keep being served. */
  stopListening(): void {
    if (this.socket) uws.us_listen_socket_close(this.socket);
    this.socket = null;
  }
}
