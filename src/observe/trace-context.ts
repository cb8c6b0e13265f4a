/**
 * W3C Trace Context (traceparent) parsing and the random ids tidegate's
 * spans get. Pure, except for the id source, which reads the system's
 * random bytes in blocks so one request costs no crypto call of its own.
 */
import { randomFillSync } from 'node:crypto';

/** A valid parent from a request's traceparent. */
export interface ParentContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/**
 * `version-traceid-parentid-flags` → the parent, or null when the header is
 * absent or invalid (then the request starts a new trace). Version 00 must
 * be exactly 55 characters; a later version may append fields after a '-'.
 * Version ff, upper-case hex and all-zero ids are invalid. Several
 * traceparent headers arrive joined with ', ' and are invalid by length.
 */
export function parseTraceparent(value: string): ParentContext | null {
  if (value.length < 55) return null;
  if (value.charCodeAt(2) !== 0x2d || value.charCodeAt(35) !== 0x2d || value.charCodeAt(52) !== 0x2d) return null;
  const version = value.slice(0, 2);
  if (!isHex(version, 0, 2) || version === 'ff') return null;
  if (version === '00' ? value.length !== 55 : value.length > 55 && value.charCodeAt(55) !== 0x2d) return null;
  if (!isHex(value, 3, 35) || !isHex(value, 36, 52) || !isHex(value, 53, 55)) return null;
  const traceId = value.slice(3, 35);
  const spanId = value.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  const flags = parseInt(value.slice(53, 55), 16);
  return { traceId, spanId, sampled: (flags & 1) === 1 };
}

/** The trace id of a valid traceparent, else null (for the access log when tidegate itself does not trace). */
export function traceIdOf(traceparent: string): string | null {
  if (traceparent === '') return null;
  return parseTraceparent(traceparent)?.traceId ?? null;
}

/** Lower-case hex only (the spec's HEXDIGLC). */
function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

const POOL_BYTES = 4096;

/** Random trace and span ids, hex, drawn from a pooled block of random bytes. */
export class IdSource {
  private readonly pool = Buffer.allocUnsafe(POOL_BYTES);
  private offset = POOL_BYTES;

  traceId(): string {
    return this.next(16, ZERO_TRACE);
  }

  spanId(): string {
    return this.next(8, ZERO_SPAN);
  }

  private next(bytes: number, zero: string): string {
    for (;;) {
      if (this.offset + bytes > POOL_BYTES) {
        randomFillSync(this.pool);
        this.offset = 0;
      }
      const id = this.pool.toString('hex', this.offset, this.offset + bytes);
      this.offset += bytes;
      if (id !== zero) return id; // all zeros is the one invalid value
    }
  }
}
