import type { ErrorCode, TidegateError } from '../shared/errors.js';

/**
 * The one table of how tidegate's errors reach an HTTP client: each code's
 * status, the hop named in X-Tidegate-Error, and the gRPC status code a
 * gRPC client gets instead of the HTTP status (UNAVAILABLE 14, DEADLINE_EXCEEDED 4,
 * RESOURCE_EXHAUSTED 8, UNIMPLEMENTED 12, INTERNAL 13). Only the HTTP edges (the
 * router and the queue-proxy) answer with these; the rest of tidegate knows
 * codes alone. docs/operations.md ("Error codes") lists every row, and
 * test/shared/errors-documented.test.ts fails when the two drift.
 */
export const HTTP_ERRORS: Readonly<Record<ErrorCode, { readonly status: number; readonly hop: string; readonly grpc: number }>> = {
  TG_ERR_NO_ROUTE: { status: 404, hop: 'router-no-route', grpc: 12 },
  TG_ERR_BAD_REQUEST: { status: 400, hop: 'edge-bad-request', grpc: 13 },
  TG_ERR_SMUGGLING: { status: 400, hop: 'edge-smuggling', grpc: 13 },
  TG_ERR_HEADERS_TOO_LARGE: { status: 431, hop: 'edge-headers-too-large', grpc: 8 },
  TG_ERR_BODY_TOO_LARGE: { status: 413, hop: 'edge-body-too-large', grpc: 8 },
  TG_ERR_UPSTREAM_REFUSED: { status: 502, hop: 'upstream-refused', grpc: 14 },
  TG_ERR_UPSTREAM_RESET: { status: 502, hop: 'upstream-reset', grpc: 14 },
  TG_ERR_UPSTREAM_PROTOCOL: { status: 502, hop: 'upstream-protocol', grpc: 14 },
  TG_ERR_UPSTREAM_TIMEOUT: { status: 504, hop: 'upstream-timeout', grpc: 4 },
  TG_ERR_BUFFER_FULL: { status: 503, hop: 'activator-buffer-full', grpc: 14 },
  TG_ERR_BUFFER_TIMEOUT: { status: 504, hop: 'activator-timeout', grpc: 4 },
  TG_ERR_ACTIVATOR_TIMEOUT: { status: 504, hop: 'activator-timeout', grpc: 4 },
  TG_ERR_RESPONSE_START_TIMEOUT: { status: 504, hop: 'upstream-response-start-timeout', grpc: 4 },
  TG_ERR_IDLE_TIMEOUT: { status: 504, hop: 'upstream-idle-timeout', grpc: 4 },
  TG_ERR_QUEUE_FULL: { status: 503, hop: 'queue-proxy-queue-full', grpc: 14 },
  TG_ERR_QUEUE_TIMEOUT: { status: 504, hop: 'queue-proxy-timeout', grpc: 4 },
  TG_ERR_SHUTTING_DOWN: { status: 503, hop: 'edge-shutting-down', grpc: 14 },
  TG_ERR_UWS_FALLBACK: { status: 500, hop: 'startup', grpc: 13 },
  TG_ERR_LISTEN: { status: 500, hop: 'startup', grpc: 13 },
  TG_ERR_STORE_UNAVAILABLE: { status: 503, hop: 'store-unavailable', grpc: 14 },
};

export function statusOf(err: TidegateError): number {
  return HTTP_ERRORS[err.code].status;
}

export function grpcStatusOf(err: TidegateError): number {
  return HTTP_ERRORS[err.code].grpc;
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
