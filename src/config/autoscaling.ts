/**
 * The autoscaler settings: the global `autoscaler:` section (Knative's
 * config-autoscaler keys) and the per-revision `autoscaling.knative.dev/*`
 * annotations layered over it. Ranges are Knative's (KNATIVE.md 1.1).
 */
import type { AutoscalerSettings } from './types.js';
import { DEFAULT_AUTOSCALER } from './defaults.js';
import { parseDuration } from './units.js';
import { aBoolean, aNumber, aUnit, oneOf, readMap, readValue, valueNode, type Check, type Field, type Reporter } from './yaml-reader.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Settings = Mutable<AutoscalerSettings>;

const HOUR = 3_600_000;
/** Knative's integers are int32 (`cm.AsInt32`, `strconv.ParseInt(v, 10, 32)`). */
export const INT32_MAX = 2_147_483_647;
const stableWindow = aUnit(parseDuration, { min: 6000, max: HOUR, wholeSeconds: true, text: 'in 6s..1h' });
const upToHour = aUnit(parseDuration, { min: 0, max: HOUR, text: 'in 0s..1h' });
const scaleDownDelay = aUnit(parseDuration, { min: 0, max: HOUR, wholeSeconds: true, text: 'in 0s..1h' });
const panicWindowPct = aNumber({ min: 1, max: 100 });
const panicThresholdPct = aNumber({ min: 110, max: 1000 });
const burstCapacity = aNumber({ min: 0, also: [-1] });
const rate = aNumber({ min: 1, minExclusive: true });
const scale = aNumber({ min: 0, max: INT32_MAX, integer: true });

/** Knative reads a container-concurrency-target-percentage ≤ 1.0 as a fraction (0.7 = 70 %). */
export function targetPercentage(value: number): number {
  return value <= 1 ? value * 100 : value;
}

const utilization: Check<number> = (v) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return { ok: false, reason: 'must be a percentage in (0, 100] (values ≤ 1.0 are fractions)' };
  const pct = targetPercentage(v);
  return pct > 100 ? { ok: false, reason: 'must be a percentage in (0, 100] (values ≤ 1.0 are fractions)' } : { ok: true, value: pct };
};

const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A ConfigMap value is a string: "55" is read as Go's strconv.ParseFloat reads it (a bare YAML number is accepted too). */
export function numeric(check: Check<number>): Check<number> {
  return (v) => check(typeof v === 'string' && NUMBER_TEXT.test(v.trim()) ? Number(v) : v);
}

const TRUE_TEXT = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE_TEXT = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/** "true", "TRUE", "1": the spellings Go's strconv.ParseBool takes (Knative's cm.AsBool). */
export const knativeBoolean: Check<boolean> = (v) => {
  if (typeof v === 'string' && TRUE_TEXT.includes(v.trim())) return { ok: true, value: true };
  if (typeof v === 'string' && FALSE_TEXT.includes(v.trim())) return { ok: true, value: false };
  return aBoolean(v);
};

export const KPA_CLASS = 'kpa.autoscaling.knative.dev';
const HPA_CLASS = 'hpa.autoscaling.knative.dev';

/** The autoscaler class: tidegate runs the KPA only; any other class is refused by name rather than silently scaled by the KPA. */
export const autoscalerClass: Check<string> = (v) => {
  if (v === KPA_CLASS) return { ok: true, value: v };
  if (v === HPA_CLASS) return { ok: false, reason: `${HPA_CLASS} is Kubernetes' HPA (CPU/memory scaling), which tidegate does not implement; tidegate scales with Knative's KPA only (${KPA_CLASS})` };
  if (typeof v === 'string' && v !== '') return { ok: false, reason: `tidegate does not implement the autoscaler class ${JSON.stringify(v)}; it scales with Knative's KPA only (${KPA_CLASS})` };
  return { ok: false, reason: `must be ${KPA_CLASS}` };
};

interface GlobalKey {
  check: Check<number> | Check<boolean> | Check<string>;
  set(s: Settings, v: number | boolean | string): void;
}

const GLOBAL_KEYS: Readonly<Record<string, GlobalKey>> = {
  'container-concurrency-target-default': { check: numeric(aNumber({ min: 0.01 })), set: (s, v) => (s.containerConcurrencyTargetDefault = v as number) },
  'container-concurrency-target-percentage': {
    check: numeric(utilization),
    set: (s, v) => {
      s.containerConcurrencyTargetPercentage = v as number;
      s.targetUtilizationPercentage = v as number;
    },
  },
  'requests-per-second-target-default': { check: numeric(aNumber({ min: 0.01 })), set: (s, v) => (s.requestsPerSecondTargetDefault = v as number) },
  'target-burst-capacity': { check: numeric(burstCapacity), set: (s, v) => (s.targetBurstCapacity = v as number) },
  'stable-window': { check: stableWindow, set: (s, v) => (s.stableWindowMs = v as number) },
  'panic-window-percentage': { check: numeric(panicWindowPct), set: (s, v) => (s.panicWindowPercentage = v as number) },
  'panic-threshold-percentage': { check: numeric(panicThresholdPct), set: (s, v) => (s.panicThresholdPercentage = v as number) },
  'max-scale-up-rate': { check: numeric(rate), set: (s, v) => (s.maxScaleUpRate = v as number) },
  'max-scale-down-rate': { check: numeric(rate), set: (s, v) => (s.maxScaleDownRate = v as number) },
  'enable-scale-to-zero': { check: knativeBoolean, set: (s, v) => (s.enableScaleToZero = v as boolean) },
  'scale-to-zero-grace-period': { check: aUnit(parseDuration, { min: 0, max: HOUR, minExclusive: true, text: 'in (0s, 1h]' }), set: (s, v) => (s.scaleToZeroGracePeriodMs = v as number) },
  'scale-to-zero-pod-retention-period': { check: upToHour, set: (s, v) => (s.scaleToZeroPodRetentionPeriodMs = v as number) },
  'scale-down-delay': { check: scaleDownDelay, set: (s, v) => (s.scaleDownDelayMs = v as number) },
  'initial-scale': { check: numeric(scale), set: (s, v) => (s.initialScale = v as number) },
  'allow-zero-initial-scale': { check: knativeBoolean, set: (s, v) => (s.allowZeroInitialScale = v as boolean) },
  'min-scale': { check: numeric(scale), set: (s, v) => (s.minScale = v as number) },
  'max-scale': { check: numeric(scale), set: (s, v) => (s.maxScale = v as number) },
  'max-scale-limit': { check: numeric(scale), set: (s, v) => (s.maxScaleLimit = v as number) },
  'activation-scale': { check: numeric(aNumber({ min: 1, max: INT32_MAX, integer: true })), set: (s, v) => (s.activationScale = v as number) },
  'pod-autoscaler-class': { check: autoscalerClass, set: () => undefined },
};

/**
 * Knative's keys that tidegate accepts, validates as Knative does, and
 * ignores, each with the reason the warning gives. `_example` is the
 * documentation block of Knative's shipped ConfigMaps and is skipped silently.
 */
const IGNORED_KEYS: Readonly<Record<string, { check: Check<unknown>; why: string }>> = {
  'activator-capacity': { check: numeric(aNumber({ min: 1 })), why: 'it sizes Knative\'s activator replicas; tidegate\'s activator is the edge itself' },
  'tick-interval': { check: aUnit(parseDuration), why: 'Knative removed it; the tick is a constant 2s, as in Knative' },
  'panic-window': { check: aUnit(parseDuration), why: 'Knative replaced it with panic-window-percentage' },
  'enable-graceful-scaledown': { check: knativeBoolean, why: 'Knative removed it' },
};

export const GLOBAL_AUTOSCALER_KEYS: readonly string[] = Object.keys(GLOBAL_KEYS);
const ACCEPTED_KEYS: readonly string[] = [...GLOBAL_AUTOSCALER_KEYS, ...Object.keys(IGNORED_KEYS), '_example'];

/** The `autoscaler:` section, or config-autoscaler's `data:` (absent → Knative's defaults). */
export function readAutoscaler(r: Reporter, field: Field | undefined): AutoscalerSettings {
  const s: Settings = { ...DEFAULT_AUTOSCALER };
  if (!field) return s;
  const fields = readMap(r, field.node, field.path, ACCEPTED_KEYS, field.keyNode);
  if (!fields) return s;
  for (const f of fields.values()) {
    const ignored = IGNORED_KEYS[f.key];
    if (ignored) {
      if (readValue(r, f, ignored.check) !== undefined) r.warn(f.keyNode, `${f.path}: Knative's key, accepted and ignored: ${ignored.why}`);
      continue;
    }
    const spec = GLOBAL_KEYS[f.key];
    const value = spec ? readValue<number | boolean | string>(r, f, spec.check) : undefined;
    if (spec && value !== undefined) spec.set(s, value);
  }
  crossCheckGlobal(r, field, fields, s);
  return s;
}

/** The rules of Knative's config.go validate() that span keys. */
function crossCheckGlobal(r: Reporter, field: Field, fields: Map<string, Field>, s: Settings): void {
  const at = (key: string): Field | undefined => fields.get(key);
  const min = at('min-scale');
  if (s.maxScale > 0 && s.minScale > s.maxScale) {
    const f = min ?? at('max-scale');
    if (f) r.at(valueNode(f), `${f.path}: must not exceed max-scale ${s.maxScale}, got ${s.minScale}`);
  }
  if (s.maxScaleLimit > 0 && (s.maxScale < 1 || s.maxScale > s.maxScaleLimit)) {
    const f = at('max-scale') ?? at('max-scale-limit');
    if (f) r.at(valueNode(f), `${f.path}: max-scale must be in 1..max-scale-limit (${s.maxScaleLimit}) when max-scale-limit is set, got ${s.maxScale}`);
  }
  const activation = at('activation-scale');
  if (activation && s.activationScale < s.minScale) r.at(valueNode(activation), `${activation.path}: must be at least min-scale ${s.minScale}, got ${s.activationScale}`);
  else if (activation && s.maxScale > 0 && s.activationScale > s.maxScale) r.at(valueNode(activation), `${activation.path}: must not exceed max-scale ${s.maxScale}, got ${s.activationScale}`);
  const initial = at('initial-scale');
  if (initial && s.initialScale === 0 && !s.allowZeroInitialScale) {
    r.at(valueNode(initial), `${initial.path}: 0 needs allow-zero-initial-scale: true, got 0`);
  }
  const target = at('container-concurrency-target-default') ?? at('container-concurrency-target-percentage');
  if (target && (s.containerConcurrencyTargetDefault * s.containerConcurrencyTargetPercentage) / 100 < 0.01) {
    r.at(valueNode(target), `${field.path}: container-concurrency-target-default × container-concurrency-target-percentage must be ≥ 0.01`);
  }
}

// ---- annotations ----

export const ANNOTATION_PREFIX = 'autoscaling.knative.dev/';
/** Knative's Revision annotation for how long its pods may take to get ready (600 s); the autoscaler reads it (targets.ts). */
export const PROGRESS_DEADLINE_ANNOTATION = 'serving.knative.dev/progress-deadline';
const progressDeadline = aUnit(parseDuration, { min: 0, minExclusive: true, wholeSeconds: true, text: 'positive, in whole seconds' });

const aggregationName = oneOf(['linear', 'weighted-exponential', 'weightedExponential'] as const);
const aggregation: Check<string> = (v) => {
  const r = aggregationName(v);
  return r.ok && r.value === 'weightedExponential' ? { ok: true, value: 'weighted-exponential' } : r;
};

interface AnnotationKey {
  check: Check<number> | Check<string>;
  set(s: Settings, v: number | string): void;
}

const ANNOTATION_KEYS: Readonly<Record<string, AnnotationKey>> = {
  'min-scale': { check: numeric(scale), set: (s, v) => (s.minScale = v as number) },
  'max-scale': { check: numeric(scale), set: (s, v) => (s.maxScale = v as number) },
  'initial-scale': { check: numeric(scale), set: (s, v) => (s.initialScale = v as number) },
  target: { check: numeric(aNumber({ min: 0.01 })), set: (s, v) => (s.target = v as number) },
  'target-utilization-percentage': { check: numeric(aNumber({ min: 1, max: 100 })), set: (s, v) => (s.targetUtilizationPercentage = v as number) },
  'target-burst-capacity': { check: numeric(burstCapacity), set: (s, v) => (s.targetBurstCapacity = v as number) },
  window: { check: stableWindow, set: (s, v) => (s.stableWindowMs = v as number) },
  'panic-window-percentage': { check: numeric(panicWindowPct), set: (s, v) => (s.panicWindowPercentage = v as number) },
  'panic-threshold-percentage': { check: numeric(panicThresholdPct), set: (s, v) => (s.panicThresholdPercentage = v as number) },
  'scale-down-delay': { check: scaleDownDelay, set: (s, v) => (s.scaleDownDelayMs = v as number) },
  'scale-to-zero-pod-retention-period': { check: upToHour, set: (s, v) => (s.scaleToZeroPodRetentionPeriodMs = v as number) },
  'activation-scale': { check: numeric(aNumber({ min: 2, max: INT32_MAX, integer: true })), set: (s, v) => (s.activationScale = v as number) },
  // cpu and memory are HPA metrics in Knative; tidegate runs the KPA only.
  metric: { check: oneOf(['concurrency', 'rps'] as const), set: (s, v) => (s.metric = v as 'concurrency' | 'rps') },
  // weightedExponential: Knative's alternative spelling (MetricAggregationAlgorithmWeightedExponentialAlt).
  'metric-aggregation-algorithm': { check: aggregation, set: (s, v) => (s.metricAggregationAlgorithm = v as 'linear' | 'weighted-exponential') },
  class: { check: autoscalerClass, set: () => undefined },
};

/** "minScale" → "min-scale": Knative accepts the older camelCase spellings. */
function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The revision's `annotations:` map → the strings as written, and the settings they give. */
export function readAnnotations(r: Reporter, field: Field | undefined, global: AutoscalerSettings): { annotations: Record<string, string>; autoscaling: AutoscalerSettings } {
  const s: Settings = { ...global };
  const annotations: Record<string, string> = {};
  if (!field) return { annotations, autoscaling: s };
  const fields = readMap(r, field.node, field.path, null, field.keyNode);
  if (!fields) return { annotations, autoscaling: s };
  const seen = new Map<string, Field>();
  for (const f of fields.values()) {
    const name = f.key.startsWith(ANNOTATION_PREFIX) ? kebab(f.key.slice(ANNOTATION_PREFIX.length)) : '';
    if (f.key === PROGRESS_DEADLINE_ANNOTATION) {
      if (readValue(r, f, progressDeadline) !== undefined) annotations[f.key] = String(f.value);
      continue;
    }
    const spec = ANNOTATION_KEYS[name];
    if (!spec) {
      r.at(f.keyNode, `${f.path}: unknown annotation ${JSON.stringify(f.key)}: tidegate reads only Knative's autoscaling annotations, ${ANNOTATION_PREFIX}… (see docs/config.md)`);
      continue;
    }
    const earlier = seen.get(name);
    if (earlier) {
      r.at(f.keyNode, `${f.path}: ${JSON.stringify(f.key)} repeats ${JSON.stringify(earlier.key)} (the same annotation in two spellings)`);
      continue;
    }
    seen.set(name, f);
    const value = readValue<number | string>(r, f, spec.check);
    if (value === undefined) continue;
    annotations[f.key] = typeof f.value === 'string' ? f.value : String(value);
    spec.set(s, value);
  }
  const min = seen.get('min-scale');
  const max = seen.get('max-scale');
  if ((min || max) && s.maxScale > 0 && s.minScale > s.maxScale) {
    const at = (min ?? max) as Field;
    r.at(valueNode(at), `${at.path}: min-scale ${s.minScale} must not exceed max-scale ${s.maxScale}`);
  }
  if (max && global.maxScaleLimit > 0 && (s.maxScale === 0 || s.maxScale > global.maxScaleLimit)) {
    r.at(valueNode(max), `${max.path}: must be in 1..${global.maxScaleLimit} (the autoscaler's max-scale-limit; 0 would be unlimited), got ${s.maxScale}`);
  }
  // Knative's validateMinMaxScale: min-scale ≤ activation-scale ≤ max-scale.
  const activation = seen.get('activation-scale');
  if (activation && s.activationScale < s.minScale) r.at(valueNode(activation), `${activation.path}: min-scale ${s.minScale} is greater than activation-scale ${s.activationScale}`);
  else if (activation && s.maxScale > 0 && s.activationScale > s.maxScale) r.at(valueNode(activation), `${activation.path}: max-scale ${s.maxScale} is less than activation-scale ${s.activationScale}`);
  const initial = seen.get('initial-scale');
  if (initial && s.initialScale === 0 && !s.allowZeroInitialScale) {
    r.at(valueNode(initial), `${initial.path}: 0 needs allow-zero-initial-scale: true in the autoscaler section, got "0"`);
  }
  return { annotations, autoscaling: s };
}
