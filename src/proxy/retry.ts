import type { ErrorCode } from '../shared/errors.js';

/**
 * When a request that failed before its response began goes to a pod again.
 * The edge and the queue-proxy differ only in these numbers: the edge has
 * other pods to try; the queue-proxy has one app, and retries only the reset
 * of a reused keep-alive connection (usually the app closing it idle).
 */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly maxAttempts: number;
  /** The failures worth another try; null: any failure before a response byte. */
  readonly codes: ReadonlySet<ErrorCode> | null;
}

export const EDGE_RETRY: RetryPolicy = Object.freeze({ maxAttempts: 3, codes: null });
export const QUEUE_PROXY_RETRY: RetryPolicy = Object.freeze({ maxAttempts: 2, codes: new Set<ErrorCode>(['TG_ERR_UPSTREAM_RESET']) });

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** A try that failed with no response byte from the pod. */
export interface FailedTry {
  readonly code: ErrorCode;
  readonly method: string;
  /** The request has a body (declared or chunked). */
  readonly hasBody: boolean;
  /** Every body byte sent so far is still at hand to be sent again (a refused connection took none of it). */
  readonly replayable: boolean;
  /** Tries counted so far, this one included. */
  readonly attempts: number;
  /** The client went away. */
  readonly aborted: boolean;
}

/**
 * Whether the request may be sent again. A refused connection never reached
 * an app, so any request may go again if its body is still at hand; other
 * failures (a reset, nonsense) may have reached it, so only idempotent
 * requests without a body go again.
 */
export function mayRetry(policy: RetryPolicy, t: FailedTry): boolean {
  if (t.aborted || t.attempts >= policy.maxAttempts) return false;
  if (policy.codes !== null && !policy.codes.has(t.code)) return false;
  return t.code === 'TG_ERR_UPSTREAM_REFUSED' ? t.replayable : IDEMPOTENT.has(t.method) && !t.hasBody;
}
