import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** Subject CN of the client certificate, when one was presented over TLS. */
  readonly clientCert: string | null;
}

export interface FakeKubeApi {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** spec.replicas per "namespace/deployment"; a Deployment not listed answers 404. */
  readonly replicas: Map<string, number>;
  /** When set, every request is answered with this instead. */
  failWith: { status: number; body: string } | null;
  close(): Promise<void>;
}

const SCALE = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)\/scale$/;

/**
 * A recorded-protocol fake of the Kubernetes API server: just the
 * Deployment scale subresource (GET, and PATCH with a JSON merge patch),
 * answering Scale objects the way the real server shapes them, and
 * recording every request for the test to inspect. Plain HTTP, or HTTPS
 * when given a certificate (optionally asking for a client certificate).
 */
export async function startFakeKubeApi(tls?: { cert: Buffer; key: Buffer; ca?: Buffer; requestCert?: boolean }): Promise<FakeKubeApi> {
  const requests: RecordedRequest[] = [];
  const replicas = new Map<string, number>();
  const api: FakeKubeApi = { url: '', requests, replicas, failWith: null, close: () => Promise.resolve() };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const peer = (req.socket as { getPeerCertificate?: () => { subject?: { CN?: string } } }).getPeerCertificate?.();
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, clientCert: peer?.subject?.CN ?? null });
      const send = (status: number, obj: unknown) => {
        const text = typeof obj === 'string' ? obj : JSON.stringify(obj);
        res.writeHead(status, { 'content-type': 'application/json' }).end(text);
      };
      if (api.failWith) return send(api.failWith.status, api.failWith.body);
      const m = SCALE.exec(req.url ?? '');
      const key = m ? `${m[1]}/${m[2]}` : '';
      if (!m || !replicas.has(key)) return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
      if (req.method === 'PATCH') {
        if (req.headers['content-type'] !== 'application/merge-patch+json') return send(415, { kind: 'Status', code: 415 });
        const patch = JSON.parse(body) as { spec?: { replicas?: number } };
        if (typeof patch.spec?.replicas === 'number') replicas.set(key, patch.spec.replicas);
      } else if (req.method !== 'GET') return send(405, { kind: 'Status', code: 405 });
      const n = replicas.get(key)!;
      send(200, {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: { name: m[2], namespace: m[1] },
        // Like the real server: replicas is omitted when 0.
        spec: n === 0 ? {} : { replicas: n },
        status: { replicas: n, selector: `app=${m[2]}` },
      });
    });
  };
  const server = tls
    ? https.createServer({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), requestCert: tls.requestCert ?? false, rejectUnauthorized: tls.requestCert ?? false }, handler)
    : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(api, {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}
