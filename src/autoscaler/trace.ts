/**
 * The load trace `tidegate simulate` reads: CSV with the header
 * `t,concurrency` (optionally `,rps`), one row per second, t in whole
 * seconds, strictly increasing (a gap is seconds with no stats at all).
 */
export interface TraceRow {
  readonly t: number;
  readonly concurrency: number;
  readonly rps: number | null;
}

export interface TraceProblem {
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export type TraceResult = { ok: true; rows: TraceRow[]; hasRps: boolean } | { ok: false; problems: TraceProblem[] };

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function parseTrace(text: string): TraceResult {
  const problems: TraceProblem[] = [];
  const rows: TraceRow[] = [];
  const lines = text.split(/\r?\n/);
  let header: string[] | null = null;
  let last = -1;
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const fields = splitFields(raw);
    if (header === null) {
      const names = fields.map((f) => f.text.toLowerCase());
      if (names.join(',') !== 't,concurrency' && names.join(',') !== 't,concurrency,rps') {
        return { ok: false, problems: [{ line, col: 1, message: `the header must be "t,concurrency" or "t,concurrency,rps", got "${raw.trim()}"` }] };
      }
      header = names;
      continue;
    }
    if (fields.length !== header.length) {
      problems.push({ line, col: 1, message: `expected ${header.length} fields (${header.join(',')}), got ${fields.length}` });
      continue;
    }
    const values: number[] = [];
    for (const [k, f] of fields.entries()) {
      const name = header[k] ?? '';
      const v = NUMBER.test(f.text) ? Number(f.text) : Number.NaN;
      if (!Number.isFinite(v) || v < 0) problems.push({ line, col: f.col, message: `${name} must be a number ≥ 0, got "${f.text}"` });
      else if (name === 't' && !Number.isInteger(v)) problems.push({ line, col: f.col, message: `t must be whole seconds, got "${f.text}"` });
      else if (name === 't' && v <= last) problems.push({ line, col: f.col, message: `t must increase from row to row: ${v} after ${last}` });
      values.push(v);
    }
    const [t = Number.NaN, concurrency = Number.NaN, rps] = values;
    if (values.every((v) => Number.isFinite(v) && v >= 0) && Number.isInteger(t) && t > last) {
      rows.push({ t, concurrency, rps: rps ?? null });
      last = t;
    }
  }
  if (header === null) return { ok: false, problems: [{ line: 1, col: 1, message: 'empty trace: expected the header "t,concurrency" and one row per second' }] };
  if (problems.length > 0) return { ok: false, problems };
  if (rows.length === 0) return { ok: false, problems: [{ line: 1, col: 1, message: 'the trace has a header but no rows' }] };
  return { ok: true, rows, hasRps: header.length === 3 };
}

function splitFields(raw: string): { text: string; col: number }[] {
  const out: { text: string; col: number }[] = [];
  let start = 0;
  for (const part of raw.split(',')) {
    const lead = part.length - part.trimStart().length;
    out.push({ text: part.trim(), col: start + lead + 1 });
    start += part.length + 1;
  }
  return out;
}
