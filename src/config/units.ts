/**
 * Durations and sizes as written in the config file. Durations are Go
 * durations ("60s", "1m30s", "250ms", "0") and always carry a unit apart
 * from "0", because a bare number is ambiguous (Knative's configmaps mix
 * seconds and Go durations); sizes are bytes or binary multiples ("64Mi").
 */

export type UnitResult = { ok: true; value: number } | { ok: false; reason: string };

// Go's units (time.ParseDuration), so Knative's ConfigMap values read as they do there.
const DURATION_UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** "1m30s" → 90000 (milliseconds). Parts must be in the Go style: number + unit, repeated. */
export function parseDuration(input: unknown): UnitResult {
  if (typeof input === 'number') {
    return { ok: false, reason: `a duration needs a unit (ms, s, m or h), e.g. "${input}s"` };
  }
  if (typeof input !== 'string' || input.trim() === '') {
    return { ok: false, reason: 'a duration must be a string such as "60s", "1m30s" or "250ms"' };
  }
  const text = input.trim().replace(/^\+/, '');
  // Go's one unitless duration: "0" (Knative's `scale-down-delay: "0"`).
  if (text === '0') return { ok: true, value: 0 };
  if (/^[+-]?\d+(\.\d+)?$/.test(text)) {
    return { ok: false, reason: `a duration needs a unit (ms, s, m or h), e.g. "${text}s"` };
  }
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const start = DURATION_PART.lastIndex;
    const match = DURATION_PART.exec(text);
    if (!match || match.index !== start) {
      return { ok: false, reason: 'not a duration: use a number and a unit (ns, us, ms, s, m, h), e.g. "60s", "1m30s", "250ms"' };
    }
    total += Number(match[1]) * (DURATION_UNITS[match[2] ?? ''] ?? Number.NaN);
  }
  // Sub-millisecond precision has no meaning for any timer tidegate runs.
  return { ok: true, value: Math.round(total) };
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** "64Mi" → 67108864; a plain integer is bytes. */
export function parseSize(input: unknown): UnitResult {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? { ok: true, value: input } : { ok: false, reason: 'a size must be a whole number of bytes ≥ 0 or use Ki, Mi, Gi' };
  }
  if (typeof input !== 'string') return { ok: false, reason: 'a size must be bytes or a string such as "64Mi"' };
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(input.trim());
  if (!match) return { ok: false, reason: 'not a size: use whole bytes or Ki, Mi, Gi (e.g. 16Ki, 64Mi, 4Gi)' };
  const value = Number(match[1]) * (SIZE_UNITS[match[2] ?? ''] ?? Number.NaN);
  if (!Number.isSafeInteger(value)) return { ok: false, reason: 'size is too large' };
  return { ok: true, value };
}

/** 90000 → "1m30s": the inverse of parseDuration, for messages and docs. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
