/**
 * Typed reads from the YAML node tree that remember where each value came
 * from, so every problem is reported as FILE:LINE:COL at the key or value
 * at fault. Readers never throw: they record a problem and return undefined,
 * so one pass finds every problem in the file.
 */
import { isMap, isScalar, isSeq, type LineCounter, type Node, type Scalar } from 'yaml';
import type { ConfigProblem } from './types.js';
import type { UnitResult } from './units.js';

export class Reporter {
  readonly problems: ConfigProblem[] = [];
  /** Accepted but worth telling (a Knative key tidegate ignores, an image it does not pull). */
  readonly warnings: ConfigProblem[] = [];

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  atOffset(offset: number, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.problems.push({ file: this.file, line, col, message });
  }

  /** At the node's first character, or 1:1 when there is no node. */
  at(node: Node | null | undefined, message: string): void {
    this.atOffset(node?.range?.[0] ?? 0, message);
  }

  warn(node: Node | null | undefined, message: string): void {
    const { line, col } = this.lines.linePos(node?.range?.[0] ?? 0);
    this.warnings.push({ file: this.file, line, col, message });
  }
}

/** One key of a map: its path for messages and the nodes to point at. */
export interface Field {
  readonly key: string;
  readonly path: string;
  readonly keyNode: Scalar;
  /** The value node; null for `key:` with nothing after it. */
  readonly node: Node | null;
  /** The plain JS value of a scalar (undefined for maps and lists). */
  readonly value: unknown;
}

/** Where a problem about this field's value points: the value, else the key. */
export function valueNode(f: Field): Node {
  return f.node && f.node.range && !(isScalar(f.node) && f.node.value === null) ? f.node : f.keyNode;
}

/** How a value is shown in a message: strings quoted, collections named. */
export function describe(node: Node | null): string {
  if (node === null) return 'nothing';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'nothing' : JSON.stringify(node.value);
  return 'an alias';
}

export function join(path: string, key: string): string {
  if (path === '') return key;
  return /^[A-Za-z][\w-]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * The keys of a map. `known` lists the keys allowed here; any other key is
 * reported at the key itself (with a suggestion when one is close).
 */
export function readMap(r: Reporter, node: Node | null, path: string, known: readonly string[] | null, at?: Node): Map<string, Field> | undefined {
  if (!isMap(node)) {
    r.at(node && node.range && !(isScalar(node) && node.value === null) ? node : (at ?? node), `${path || 'the file'}: must be a map, got ${describe(node)}`);
    return undefined;
  }
  const fields = new Map<string, Field>();
  for (const pair of node.items) {
    const keyNode = pair.key as Node | null;
    if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
      r.at(keyNode ?? node, `${path || 'the file'}: keys must be plain names, got ${describe(keyNode)}`);
      continue;
    }
    const key = String(keyNode.value);
    if (known !== null && !known.includes(key)) {
      const hint = closest(key, known);
      r.at(keyNode, `${join(path, key)}: unknown key ${JSON.stringify(key)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ` (expected one of: ${known.join(', ')})`}`);
      continue;
    }
    const value = pair.value as Node | null;
    fields.set(key, { key, path: join(path, key), keyNode, node: value, value: isScalar(value) ? value.value : undefined });
  }
  return fields;
}

/** The items of a list, each with its `path[i]`. */
export function readList(r: Reporter, f: Field): { node: Node | null; path: string }[] | undefined {
  if (!isSeq(f.node)) {
    r.at(valueNode(f), `${f.path}: must be a list, got ${describe(f.node)}`);
    return undefined;
  }
  return f.node.items.map((item, i) => ({ node: item as Node | null, path: `${f.path}[${i}]` }));
}

export type Check<T> = (value: unknown) => { ok: true; value: T } | { ok: false; reason: string };

/** Reads a scalar with `check`; a failure is reported at the value as "PATH: reason, got VALUE". */
export function readValue<T>(r: Reporter, f: Field, check: Check<T>): T | undefined {
  if (!isScalar(f.node)) {
    const result = check(undefined);
    r.at(valueNode(f), `${f.path}: ${result.ok ? 'must be a single value' : result.reason}, got ${describe(f.node)}`);
    return undefined;
  }
  const result = check(f.value);
  if (result.ok) return result.value;
  r.at(valueNode(f), `${f.path}: ${result.reason}, got ${describe(f.node)}`);
  return undefined;
}

// ---- checks: pure functions of the plain value ----

export const aString: Check<string> = (v) => (typeof v === 'string' && v !== '' ? { ok: true, value: v } : { ok: false, reason: 'must be a non-empty string' });

export const aBoolean: Check<boolean> = (v) => (typeof v === 'boolean' ? { ok: true, value: v } : { ok: false, reason: 'must be true or false' });

function rangeText(min: number, max: number, minExclusive: boolean): string {
  if (max === Infinity) return minExclusive ? `> ${min}` : `≥ ${min}`;
  return minExclusive ? `in (${min}, ${max}]` : `in ${min}..${max}`;
}

export interface NumberRange {
  min?: number;
  max?: number;
  minExclusive?: boolean;
  integer?: boolean;
  /** Values allowed outside the range (e.g. -1 for target-burst-capacity). */
  also?: readonly number[];
}

export function aNumber(range: NumberRange = {}): Check<number> {
  const { min = -Infinity, max = Infinity, minExclusive = false, integer = false, also = [] } = range;
  const kind = integer ? 'an integer' : 'a number';
  const extra = also.length > 0 ? ` or ${also.join(' or ')}` : '';
  const want = min === -Infinity && max === Infinity ? `must be ${kind}` : `must be ${kind} ${rangeText(min, max, minExclusive)}${extra}`;
  return (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) return { ok: false, reason: want };
    if (also.includes(v)) return { ok: true, value: v };
    if (v < min || v > max || (minExclusive && v === min)) return { ok: false, reason: want };
    return { ok: true, value: v };
  };
}

/** A check plus a rule on the value (DNS names, endpoints): one message per value. */
export function withRule(check: Check<string>, rule: (v: string) => string | null): Check<string> {
  return (v) => {
    const base = check(v);
    if (!base.ok) return base;
    const reason = rule(base.value);
    return reason === null ? base : { ok: false, reason };
  };
}

export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (v) => (typeof v === 'string' && (values as readonly string[]).includes(v) ? { ok: true, value: v as T } : { ok: false, reason: `must be one of ${values.join(', ')}` });
}

/** Adapts a units.ts parser plus a range (milliseconds) into a Check. */
export function aUnit(parse: (v: unknown) => UnitResult, range: { min?: number; max?: number; minExclusive?: boolean; wholeSeconds?: boolean; text?: string } = {}): Check<number> {
  const { min = 0, max = Infinity, minExclusive = false, wholeSeconds = false, text } = range;
  return (v) => {
    const parsed = parse(v);
    if (!parsed.ok) return parsed;
    const ms = parsed.value;
    if (ms < min || ms > max || (minExclusive && ms === min)) return { ok: false, reason: `must be ${text ?? rangeText(min, max, minExclusive)}` };
    if (wholeSeconds && ms % 1000 !== 0) return { ok: false, reason: 'must be a whole number of seconds' };
    return { ok: true, value: ms };
  };
}

/** The known key nearest to a misspelt one, if it is near enough to be a typo. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 4)) + 1;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
