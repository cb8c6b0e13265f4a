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

/**
 * One readiness check; resolves true/false, never rejects. A TCP connect
 * first, and an HTTP probe's GET only once the port accepts, on that same
 * connection: while an app boots, a failed try costs one refused connect
 * (about half the CPU of a whole HTTP request), and the app, once
 * listening, accepts one connection per probe, not two.
 */
export function probeOnce(spec: ProbeSpec): Promise<boolean> {
  const { host, port } = splitAddress(spec.address);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    // Idle time, connect and answer alike, as http.get's timeout option would count it.
    socket.setTimeout(spec.timeoutMs);
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(ok);
    };
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
    socket.once('connect', () => {
      if (spec.path === null) done(true);
      else httpGetOn(socket, host, port, spec, done);
    });
  });
}

/** The GET of an HTTP probe over a socket that just connected; `done` once, with the verdict. */
function httpGetOn(socket: net.Socket, host: string, port: number, spec: ProbeSpec, done: (ok: boolean) => void): void {
  const headers = { 'user-agent': PROBE_USER_AGENT, ...spec.headers, connection: 'close' };
  const req = http.get({ host, port, path: spec.path ?? '/', headers, createConnection: () => socket }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      if (body.length < 1024) body += c;
    });
    res.on('end', () => {
      const status = res.statusCode ?? 0;
      // Kubernetes' (and Knative's) HTTP probe success: 200–399.
      done(status >= 200 && status < 400 && (spec.expectBody === undefined || body === spec.expectBody));
    });
    res.on('error', () => done(false));
  });
  req.on('error', () => done(false));
}
