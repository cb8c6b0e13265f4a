import type { ErrorCode, TidegateError } from '../shared/errors.js';

/**
 * The one table of how tidegate's errors reach an HTTP client: each code's
 * status and the hop named in X-Tidegate-Error. Only the HTTP edges (the
 * router and the queue-proxy) answer with these; the rest of tidegate knows
 * codes alone. docs/operations.md ("Error codes") lists every row, and
 * test/shared/errors-documented.test.ts fails when the two drift.
 */
export const HTTP_ERRORS: Readonly<Record<ErrorCode, { readonly status: number; readonly hop: string }>> = {
  TG_ERR_NO_ROUTE: { status: 404, hop: 'router-no-route' },
  TG_ERR_BAD_REQUEST: { status: 400, hop: 'edge-bad-request' },
  TG_ERR_SMUGGLING: { status: 400, hop: 'edge-smuggling' },
  TG_ERR_HEADERS_TOO_LARGE: { status: 431, hop: 'edge-headers-too-large' },
  TG_ERR_BODY_TOO_LARGE: { status: 413, hop: 'edge-body-too-large' },
  TG_ERR_UPSTREAM_REFUSED: { status: 502, hop: 'upstream-refused' },
  TG_ERR_UPSTREAM_RESET: { status: 502, hop: 'upstream-reset' },
  TG_ERR_UPSTREAM_PROTOCOL: { status: 502, hop: 'upstream-protocol' },
  TG_ERR_UPSTREAM_TIMEOUT: { status: 504, hop: 'upstream-timeout' },
  TG_ERR_BUFFER_FULL: { status: 503, hop: 'activator-buffer-full' },
  TG_ERR_BUFFER_TIMEOUT: { status: 504, hop: 'activator-timeout' },
  TG_ERR_ACTIVATOR_TIMEOUT: { status: 504, hop: 'activator-timeout' },
  TG_ERR_RESPONSE_START_TIMEOUT: { status: 504, hop: 'upstream-response-start-timeout' },
  TG_ERR_IDLE_TIMEOUT: { status: 504, hop: 'upstream-idle-timeout' },
  TG_ERR_QUEUE_FULL: { status: 503, hop: 'queue-proxy-queue-full' },
  TG_ERR_QUEUE_TIMEOUT: { status: 504, hop: 'queue-proxy-timeout' },
  TG_ERR_SHUTTING_DOWN: { status: 503, hop: 'edge-shutting-down' },
  TG_ERR_UWS_FALLBACK: { status: 500, hop: 'startup' },
  TG_ERR_LISTEN: { status: 500, hop: 'startup' },
  TG_ERR_STORE_UNAVAILABLE: { status: 503, hop: 'store-unavailable' },
};

export function statusOf(err: TidegateError): number {
  return HTTP_ERRORS[err.code].status;
}

export function hopOf(err: TidegateError): string {
  return HTTP_ERRORS[err.code].hop;
}

/** Status line text for the statuses tidegate produces itself. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
