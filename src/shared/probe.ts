import net from 'node:net';
import http from 'node:http';

/** Sent with every HTTP probe, as kubelet sends kube-probe/…: an app can tell probes from requests. */
export const PROBE_USER_AGENT = 'tidegate-probe';

export interface ProbeSpec {
  /** "host:port" */
  readonly address: string;
  /** HTTP GET this path and expect 200–399; null = TCP connect succeeds. */
  readonly path: string | null;
  /** Extra request headers, e.g. { 'K-Network-Probe': 'queue' }. */
  readonly headers?: Readonly<Record<string, string>>;
  /** When set, the body must equal this (e.g. "queue"). */
  readonly expectBody?: string;
  readonly timeoutMs: number;
}

export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  return { host: host || '127.0.0.1', port: Number(address.slice(i + 1)) };
}

/** One readiness check; resolves true/false, never rejects. */
export function probeOnce(spec: ProbeSpec): Promise<boolean> {
  const { host, port } = splitAddress(spec.address);
  return new Promise((resolve) => {
    if (spec.path === null) {
      const socket = net.connect({ host, port });
      socket.setTimeout(spec.timeoutMs);
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      socket.once('timeout', () => done(false));
      return;
    }
    const req = http.get({ host, port, path: spec.path, headers: { 'user-agent': PROBE_USER_AGENT, ...spec.headers, connection: 'close' }, timeout: spec.timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 1024) body += c;
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        // Kubernetes' (and Knative's) HTTP probe success: 200–399.
        resolve(status >= 200 && status < 400 && (spec.expectBody === undefined || body === spec.expectBody));
      });
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
