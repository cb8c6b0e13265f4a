import type { HttpResponse } from '../shared/uws.js';
import { STATUS_TEXT, type TidegateError } from '../shared/errors.js';

/**
 * Writes tidegate's own error response: status, X-Tidegate-Error naming the
 * hop, a one-line plain-text body. Refused protocol errors close the
 * connection (nothing after them on the socket can be trusted).
 */
export function writeError(res: HttpResponse, err: TidegateError): void {
  const close = err.status === 400 || err.status === 431 || err.status === 413;
  res.cork(() => {
    res.writeStatus(`${err.status} ${STATUS_TEXT[err.status] ?? 'Error'}`);
    res.writeHeader('x-tidegate-error', err.hop);
    res.writeHeader('content-type', 'text/plain; charset=utf-8');
    if (err.code === 'TG_ERR_BUFFER_FULL' || err.code === 'TG_ERR_QUEUE_FULL' || err.code === 'TG_ERR_SHUTTING_DOWN') res.writeHeader('retry-after', '1');
    res.end(`${err.message}\n`, close);
  });
}

/** A small complete response (probes, health, admin). */
export function writeText(res: HttpResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.cork(() => {
    res.writeStatus(`${status} ${STATUS_TEXT[status] ?? ''}`);
    res.writeHeader('content-type', contentType);
    res.end(body);
  });
}
