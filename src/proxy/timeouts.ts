/**
 * A revision's request timeouts in ms (0 = none), Knative's fields: one
 * frozen object per revision, shared by all its requests. Each runs from the
 * request's arrival, so time spent waiting for a pod counts too (Knative's
 * activator and queue-proxy timeout handlers wrap their buffers).
 */
export interface RequestTimeouts {
  /** timeoutSeconds: the whole request, waiting for a pod included. */
  readonly totalMs: number;
  /** responseStartTimeoutSeconds: arrival → first response byte. */
  readonly responseStartMs: number;
  /** idleTimeoutSeconds: the longest gap with no byte either way. */
  readonly idleMs: number;
}

export const NO_TIMEOUTS: RequestTimeouts = Object.freeze({ totalMs: 0, responseStartMs: 0, idleMs: 0 });

export function requestTimeouts(timeoutSeconds: number, responseStartTimeoutSeconds: number, idleTimeoutSeconds: number): RequestTimeouts {
  return Object.freeze({ totalMs: timeoutSeconds * 1000, responseStartMs: responseStartTimeoutSeconds * 1000, idleMs: idleTimeoutSeconds * 1000 });
}

/** Which timeout has passed. */
export const enum Expiry {
  None = 0,
  /** timeoutSeconds: 504, activator-timeout or queue-proxy-timeout while still waiting for a pod, else upstream-timeout. */
  Total = 1,
  /** responseStartTimeoutSeconds, with no response byte yet. */
  ResponseStart = 2,
  /** idleTimeoutSeconds: a 504 before the response began, a closed connection after. */
  Idle = 3,
}

/** Where a request stands, as its timeouts read it (clock ms). */
export interface TimedRequest {
  readonly startedAt: number;
  readonly lastActivity: number;
  readonly responseStarted: boolean;
}

/** The nearest deadline of the timeouts still running (clock ms), 0 for none. */
export function nextDeadline(t: RequestTimeouts, r: TimedRequest): number {
  let d = t.totalMs > 0 ? r.startedAt + t.totalMs : 0;
  if (t.responseStartMs > 0 && !r.responseStarted) {
    const start = r.startedAt + t.responseStartMs;
    if (d === 0 || start < d) d = start;
  }
  if (t.idleMs > 0) {
    const idle = r.lastActivity + t.idleMs;
    if (d === 0 || idle < d) d = idle;
  }
  return d;
}

/** The timeout that has passed at `now`, the whole-request one first; None when the deadline that came was an earlier one's, moved since. */
export function expiryAt(t: RequestTimeouts, r: TimedRequest, now: number): Expiry {
  if (t.totalMs > 0 && now >= r.startedAt + t.totalMs) return Expiry.Total;
  if (t.responseStartMs > 0 && !r.responseStarted && now >= r.startedAt + t.responseStartMs) return Expiry.ResponseStart;
  if (t.idleMs > 0 && now >= r.lastActivity + t.idleMs) return Expiry.Idle;
  return Expiry.None;
}
