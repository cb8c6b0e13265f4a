import type { HttpRequest, HttpResponse } from '../shared/uws.js';
import { TidegateError } from '../shared/errors.js';
import { grpcStatusOf, hopOf, statusOf, STATUS_TEXT } from './http-errors.js';

/**
 * Writes tidegate's own error response: status, X-Tidegate-Error naming the
 * hop, a one-line plain-text body. Refused protocol errors (400, 413, 431)
 * close the connection: nothing after them on the socket can be trusted.
 */
export function writeError(res: HttpResponse, err: TidegateError): void {
  if ((res as { grpc?: boolean }).grpc === true) {
    writeGrpcError(res, err);
    return;
  }
  const status = statusOf(err);
  if (status === 400 || status === 431 || status === 413) {
    refuse(res, err);
    return;
  }
  res.cork(() => writeErrorNow(res, err, false));
}

function writeErrorNow(res: HttpResponse, err: TidegateError, close: boolean): void {
  const status = statusOf(err);
  res.writeStatus(`${status} ${STATUS_TEXT[status] ?? 'Error'}`);
  res.writeHeader('x-tidegate-error', hopOf(err));
  res.writeHeader('content-type', 'text/plain; charset=utf-8');
  if (err.code === 'TG_ERR_BUFFER_FULL' || err.code === 'TG_ERR_QUEUE_FULL' || err.code === 'TG_ERR_SHUTTING_DOWN') res.writeHeader('retry-after', '1');
  res.end(`${err.message}\n`, close);
}

/**
 * tidegate's own error for a gRPC call (an HTTP/2 stream, h2-exchange.ts): a
 * trailers-only response (HTTP 200, one HEADERS frame that ends the stream)
 * with the error's gRPC status, so a gRPC client reports UNAVAILABLE or
 * DEADLINE_EXCEEDED rather than a protocol error; X-Tidegate-Error is kept.
 */
function writeGrpcError(res: HttpResponse, err: TidegateError): void {
  res.writeStatus('200 OK');
  res.writeHeader('content-type', 'application/grpc');
  res.writeHeader('grpc-status', String(grpcStatusOf(err)));
  res.writeHeader('grpc-message', grpcMessage(err.message));
  res.writeHeader('x-tidegate-error', hopOf(err));
  res.endWithoutBody();
}

/** gRPC's Status-Message encoding: UTF-8, with '%' and every byte outside printable ASCII as %XX. */
export function grpcMessage(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A host name or IP literal without its port; null if the Host header is anything else. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * `tls.redirect-http`: a 308 to the same host and path on the TLS port (the
 * port left out when it is 443). A Host that is not a plain name or IP
 * literal gets a 400: it would otherwise be written into Location.
 */
export function writeRedirect(res: HttpResponse, req: HttpRequest, tlsPort: number): void {
  const host = req.getHeader('host');
  if (!HOST.test(host)) {
    writeError(res, new TidegateError('TG_ERR_BAD_REQUEST', `cannot redirect to https: Host ${JSON.stringify(host.slice(0, 100))} is not a host name`));
    return;
  }
  const name = host.endsWith(']') || host.lastIndexOf(':') < 0 ? host : host.slice(0, host.lastIndexOf(':'));
  const query = req.getQuery();
  const location = `https://${name}${tlsPort === 443 ? '' : `:${tlsPort}`}${req.getUrl()}${query ? `?${query}` : ''}`;
  res.cork(() => {
    res.writeStatus('308 Permanent Redirect');
    res.writeHeader('location', location);
    res.writeHeader('content-type', 'text/plain; charset=utf-8');
    res.end(`${location}\n`);
  });
}

/** A refusal waiting for the next turn of the event loop (see refuse). */
class Refusal {
  aborted = false;
  constructor(
    readonly res: HttpResponse,
    readonly err: TidegateError,
  ) {}
}

/**
 * Answers a refused request and closes its connection, one event-loop turn
 * later. Inside uWS's read of a connection (the request handler and onData)
 * the socket is corked, and uWS.js v20.30 then neither closes it after
 * `end(body, true)` nor stops parsing: a request pipelined behind the
 * refused one in the same read was dispatched on the still-open
 * connection, and its answer followed the 400. Left pending until the read
 * is over, the refused response is what any request is while it is being
 * proxied: a request uWS reads behind it makes uWS close the connection at
 * once, unanswered (nothing more is dispatched), and otherwise the refusal
 * goes out uncorked, where `end(body, true)` shuts the socket down and
 * closes it. Only refusals pay for the closure and the Refusal.
 */
function refuse(res: HttpResponse, err: TidegateError): void {
  const r = new Refusal(res, err);
  // Replaces any earlier onAborted (an Exchange's, which has finished by now).
  res.onAborted(() => {
    r.aborted = true;
  });
  setImmediate(sendRefusal, r);
}

function sendRefusal(r: Refusal): void {
  if (r.aborted) return;
  r.res.cork(() => writeErrorNow(r.res, r.err, true));
}

/** A small complete response (probes, health, admin). */
export function writeText(res: HttpResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.cork(() => {
    res.writeStatus(`${status} ${STATUS_TEXT[status] ?? ''}`);
    res.writeHeader('content-type', contentType);
    res.end(body);
  });
}
