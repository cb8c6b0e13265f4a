import type { Config } from '../config/types.js';
import type { Logger } from '../shared/log.js';
import { TidegateError } from '../shared/errors.js';
import type { Edge } from '../router/edge.js';
import { H2Server } from '../router/h2-server.js';
import { TlsServer } from '../router/tls-server.js';
import { UwsTlsServer } from '../router/uws-tls-server.js';
import { tlsCertificatesOf } from '../config/tls.js';
import type { TlsConfig } from '../config/types.js';

/** `tls:` with no `--tls-port`: Knative's and the design's default HTTPS port. */
export const DEFAULT_TLS_PORT = 8443;

/** The HTTPS port, either kind: node:tls with ALPN h2 (tls-server.ts) or, with `tls.http2: false`, uWS's own TLS (uws-tls-server.ts). */
interface TlsPort {
  setCertificates(tls: TlsConfig): void;
  stopListening(): void;
  destroy(): void;
}

/** The ALPN port as a TlsPort: it serves from the SNI contexts built from the config. */
function alpnPort(server: TlsServer): TlsPort {
  return {
    setCertificates: (tls) => server.setCertificates(tlsCertificatesOf(tls)),
    stopListening: () => server.stopListening(),
    destroy: () => server.destroy(),
  };
}

/**
 * serve's listeners beside the uWS data port: the HTTPS port (when the
 * config has `tls:`) and the cleartext HTTP/2 port (`--h2c-port`). node:tls
 * and node:http2 run on the main event loop only (node 20 has no
 * SO_REUSEPORT for them); with `tls.http2: false` the TLS port is uWS's and
 * the other loops of `--workers` join it (edge-worker.ts).
 */
export class Fronts {
  constructor(
    private readonly edge: Edge,
    private readonly h2: H2Server | null,
    private readonly tls: TlsPort | null,
    readonly tlsPort: number | null,
    readonly h2cPort: number | null,
    /** tls.http2 as the port was opened with (a change waits for a restart). */
    readonly http2: boolean,
    private readonly log: Logger,
  ) {}

  /** A reloaded config: new certificates for new handshakes, redirect-http on or off. */
  reconfigure(config: Config): void {
    if (config.tls === undefined) {
      if (this.tls !== null) this.log.warn('the reloaded config has no tls: section; the TLS port keeps its certificates until a restart');
      return;
    }
    if (this.tls === null || this.tlsPort === null) {
      this.log.warn('the reloaded config has a tls: section; the TLS port opens at the next restart');
      return;
    }
    if (config.tls.http2 !== this.http2) {
      this.log.warn(`the reloaded config has tls.http2: ${config.tls.http2}; the TLS port keeps http2: ${this.http2} until a restart`);
    }
    this.tls.setCertificates(config.tls);
    this.edge.redirectHttpTo = config.tls.redirectHttp ? this.tlsPort : 0;
  }

  stopListening(): void {
    this.tls?.stopListening();
    this.h2?.stopListening();
  }

  destroy(): void {
    this.tls?.destroy();
    this.h2?.destroy();
  }
}

/** Binds the HTTPS and h2c ports that the config and flags ask for; TG_ERR_LISTEN names a port that cannot be bound. */
export async function listenFronts(edge: Edge, config: Config, host: string, opts: { tlsPort?: number; h2cPort?: number }, log: Logger): Promise<Fronts> {
  if (opts.tlsPort !== undefined && config.tls === undefined) {
    throw new TidegateError('TG_ERR_LISTEN', `--tls-port ${opts.tlsPort} needs a tls: section in the config (its certificates)`);
  }
  const http2 = config.tls?.http2 ?? false;
  const h2 = opts.h2cPort !== undefined || http2 ? new H2Server(edge, log) : null;
  let tls: TlsPort | null = null;
  try {
    const h2cPort = opts.h2cPort !== undefined ? await h2!.listen(host, opts.h2cPort) : null;
    let tlsPort: number | null = null;
    if (config.tls !== undefined) {
      const port = opts.tlsPort ?? DEFAULT_TLS_PORT;
      if (http2) {
        const server = new TlsServer(edge, h2!, tlsCertificatesOf(config.tls), log);
        tls = alpnPort(server);
        tlsPort = await server.listen(host, port);
      } else {
        const server = new UwsTlsServer(edge, config.tls, log);
        tls = server;
        tlsPort = await server.listen(host, port);
      }
      if (config.tls.redirectHttp) edge.redirectHttpTo = tlsPort;
    }
    return new Fronts(edge, h2, tls, tlsPort, h2cPort, http2, log);
  } catch (err) {
    tls?.destroy();
    h2?.destroy();
    throw err;
  }
}
