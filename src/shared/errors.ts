/**
 * Every error tidegate turns into a response or an exit has a stable code.
 * What a code means to an HTTP client (its status, the hop named in
 * X-Tidegate-Error) is the HTTP edge's table: src/proxy/http-errors.ts.
 */
export type ErrorCode =
  | 'TG_ERR_NO_ROUTE'
  | 'TG_ERR_BAD_REQUEST'
  | 'TG_ERR_SMUGGLING'
  | 'TG_ERR_HEADERS_TOO_LARGE'
  | 'TG_ERR_BODY_TOO_LARGE'
  | 'TG_ERR_UPSTREAM_REFUSED'
  | 'TG_ERR_UPSTREAM_RESET'
  | 'TG_ERR_UPSTREAM_PROTOCOL'
  | 'TG_ERR_UPSTREAM_TIMEOUT'
  | 'TG_ERR_BUFFER_FULL'
  | 'TG_ERR_BUFFER_TIMEOUT'
  /** timeoutSeconds (counted from arrival) passed while the request still waited in the activator buffer. */
  | 'TG_ERR_ACTIVATOR_TIMEOUT'
  /** responseStartTimeoutSeconds passed with no response byte from the pod. */
  | 'TG_ERR_RESPONSE_START_TIMEOUT'
  /** idleTimeoutSeconds passed with no byte either way, before any response byte. */
  | 'TG_ERR_IDLE_TIMEOUT'
  | 'TG_ERR_QUEUE_FULL'
  | 'TG_ERR_QUEUE_TIMEOUT'
  | 'TG_ERR_SHUTTING_DOWN'
  | 'TG_ERR_UWS_FALLBACK'
  /** A listener could not bind its address and port: the process exits 1 before starting anything else. */
  | 'TG_ERR_LISTEN'
  /** The shared store (Redis) is unreachable; callers fail static, never a client response. */
  | 'TG_ERR_STORE_UNAVAILABLE';

export class TidegateError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TidegateError';
  }
}
