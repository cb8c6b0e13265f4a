import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as an OTLP/HTTP JSON export carries it, attributes flattened to key → value. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, string | number | boolean>;
  status: { code?: number; message?: string };
  resource: Record<string, string | number | boolean>;
}

export interface OtlpReceiver {
  /** The base URL (what --otlp-endpoint takes). */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Export requests seen: path, content type. */
  requests: { path: string; contentType: string }[];
  /** Status to answer with (200 by default; set e.g. 503 to make exports fail). */
  status: number;
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}

function flatten(attrs: { key: string; value: AnyValue }[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const a of attrs ?? []) {
    const v = a.value;
    if (v.stringValue !== undefined) out[a.key] = v.stringValue;
    else if (v.intValue !== undefined) out[a.key] = Number(v.intValue);
    else if (v.boolValue !== undefined) out[a.key] = v.boolValue;
    else if (v.doubleValue !== undefined) out[a.key] = v.doubleValue;
  }
  return out;
}

/** A minimal OTLP/HTTP trace receiver on port 0: decodes JSON exports to /v1/traces. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const rx: OtlpReceiver = { endpoint: '', spans: [], requests: [], status: 200, close: () => Promise.resolve() };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      rx.requests.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '' });
      if (rx.status !== 200 || req.url !== '/v1/traces' || req.method !== 'POST') {
        res.writeHead(rx.status === 200 ? 404 : rx.status).end();
        return;
      }
      type Export = {
        resourceSpans: { resource?: { attributes?: { key: string; value: AnyValue }[] }; scopeSpans: { spans: (Omit<ReceivedSpan, 'attributes' | 'resource'> & { attributes?: { key: string; value: AnyValue }[] })[] }[] }[];
      };
      const body = JSON.parse(Buffer.concat(chunks).toString()) as Export;
      for (const rs of body.resourceSpans) {
        const resource = flatten(rs.resource?.attributes);
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) rx.spans.push({ ...s, parentSpanId: s.parentSpanId ?? '', traceState: s.traceState ?? '', attributes: flatten(s.attributes), resource });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rx.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  rx.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return rx;
}
