import type { HttpResponse } from '../shared/uws.js';
import type { TidegateError } from '../shared/errors.js';
import { hopOf, statusOf, STATUS_TEXT } from './http-errors.js';

/**
 * Writes tidegate's own error response: status, X-Tidegate-Error naming the
 * hop, a one-line plain-text body. Refused protocol errors (400, 413, 431)
 * close the connection: nothing after them on the socket can be trusted.
 */
export function writeError(res: HttpResponse, err: TidegateError): void {
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
