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
const stableWindow = aUnit(parseDuration, { min: 6000, max: HOUR, wholeSeconds: true, text: 'in 6s..1h' });
const upToHour = aUnit(parseDuration, { min: 0, max: HOUR, text: 'in 0s..1h' });
const scaleDownDelay = aUnit(parseDuration, { min: 0, max: HOUR, wholeSeconds: true, text: 'in 0s..1h' });
const panicWindowPct = aNumber({ min: 1, max: 100 });
const panicThresholdPct = aNumber({ min: 110, max: 1000 });
const burstCapacity = aNumber({ min: 0, also: [-1] });
const rate = aNumber({ min: 1, minExclusive: true });
const scale = aNumber({ min: 0, integer: true });

/** Knative reads a container-concurrency-target-percentage ≤ 1.0 as a fraction (0.7 = 70 %). */
export function targetPercentage(value: number): number {
  return value <= 1 ? value * 100 : value;
}

const utilization: Check<number> = (v) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return { ok: false, reason: 'must be a percentage in (0, 100] (values ≤ 1.0 are fractions)' };
  const pct = targetPercentage(v);
  return pct > 100 ? { ok: false, reason: 'must be a percentage in (0, 100] (values ≤ 1.0 are fractions)' } : { ok: true, value: pct };
};

interface GlobalKey {
  check: Check<number> | Check<boolean>;
  set(s: Settings, v: number | boolean): void;
}

const GLOBAL_KEYS: Readonly<Record<string, GlobalKey>> = {
  'container-concurrency-target-default': { check: aNumber({ min: 0.01 }), set: (s, v) => (s.containerConcurrencyTargetDefault = v as number) },
  'container-concurrency-target-percentage': {
    check: utilization,
    set: (s, v) => {
      s.containerConcurrencyTargetPercentage = v as number;
      s.targetUtilizationPercentage = v as number;
    },
  },
  'requests-per-second-target-default': { check: aNumber({ min: 0.01 }), set: (s, v) => (s.requestsPerSecondTargetDefault = v as number) },
  'target-burst-capacity': { check: burstCapacity, set: (s, v) => (s.targetBurstCapacity = v as number) },
  'stable-window': { check: stableWindow, set: (s, v) => (s.stableWindowMs = v as number) },
  'panic-window-percentage': { check: panicWindowPct, set: (s, v) => (s.panicWindowPercentage = v as number) },
  'panic-threshold-percentage': { check: panicThresholdPct, set: (s, v) => (s.panicThresholdPercentage = v as number) },
  'max-scale-up-rate': { check: rate, set: (s, v) => (s.maxScaleUpRate = v as number) },
  'max-scale-down-rate': { check: rate, set: (s, v) => (s.maxScaleDownRate = v as number) },
  'enable-scale-to-zero': { check: aBoolean, set: (s, v) => (s.enableScaleToZero = v as boolean) },
  'scale-to-zero-grace-period': { check: aUnit(parseDuration, { min: 0, max: HOUR, minExclusive: true, text: 'in (0s, 1h]' }), set: (s, v) => (s.scaleToZeroGracePeriodMs = v as number) },
  'scale-to-zero-pod-retention-period': { check: upToHour, set: (s, v) => (s.scaleToZeroPodRetentionPeriodMs = v as number) },
  'scale-down-delay': { check: scaleDownDelay, set: (s, v) => (s.scaleDownDelayMs = v as number) },
  'initial-scale': { check: scale, set: (s, v) => (s.initialScale = v as number) },
  'allow-zero-initial-scale': { check: aBoolean, set: (s, v) => (s.allowZeroInitialScale = v as boolean) },
  'min-scale': { check: scale, set: (s, v) => (s.minScale = v as number) },
  'max-scale': { check: scale, set: (s, v) => (s.maxScale = v as number) },
  'activation-scale': { check: aNumber({ min: 1, integer: true }), set: (s, v) => (s.activationScale = v as number) },
};

export const GLOBAL_AUTOSCALER_KEYS: readonly string[] = Object.keys(GLOBAL_KEYS);

/** The `autoscaler:` section (absent → Knative's defaults). */
export function readAutoscaler(r: Reporter, field: Field | undefined): AutoscalerSettings {
  const s: Settings = { ...DEFAULT_AUTOSCALER };
  if (!field) return s;
  const fields = readMap(r, field.node, field.path, GLOBAL_AUTOSCALER_KEYS, field.keyNode);
  if (!fields) return s;
  for (const f of fields.values()) {
    const spec = GLOBAL_KEYS[f.key];
    const value = spec ? readValue<number | boolean>(r, f, spec.check) : undefined;
    if (spec && value !== undefined) spec.set(s, value);
  }
  const min = fields.get('min-scale');
  if (s.maxScale > 0 && s.minScale > s.maxScale) {
    const at = min ?? fields.get('max-scale');
    if (at) r.at(valueNode(at), `${at.path}: must not exceed max-scale ${s.maxScale}, got ${s.minScale}`);
  }
  const initial = fields.get('initial-scale');
  if (initial && s.initialScale === 0 && !s.allowZeroInitialScale) {
    r.at(valueNode(initial), `${initial.path}: 0 needs allow-zero-initial-scale: true, got 0`);
  }
  const target = fields.get('container-concurrency-target-default') ?? fields.get('container-concurrency-target-percentage');
  if (target && (s.containerConcurrencyTargetDefault * s.containerConcurrencyTargetPercentage) / 100 < 0.01) {
    r.at(valueNode(target), `${field.path}: container-concurrency-target-default × container-concurrency-target-percentage must be ≥ 0.01`);
  }
  return s;
}

// ---- annotations ----

export const ANNOTATION_PREFIX = 'autoscaling.knative.dev/';

/** Annotation values are strings in Kubernetes; numbers are read from them (a bare YAML number is accepted too). */
function numeric(check: Check<number>): Check<number> {
  return (v) => check(typeof v === 'string' && /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(v.trim()) ? Number(v) : v);
}

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
  'activation-scale': { check: numeric(aNumber({ min: 2, integer: true })), set: (s, v) => (s.activationScale = v as number) },
  // cpu and memory are HPA metrics in Knative; tidegate runs the KPA only.
  metric: { check: oneOf(['concurrency', 'rps'] as const), set: (s, v) => (s.metric = v as 'concurrency' | 'rps') },
  'metric-aggregation-algorithm': { check: oneOf(['linear', 'weighted-exponential'] as const), set: (s, v) => (s.metricAggregationAlgorithm = v as 'linear' | 'weighted-exponential') },
  class: { check: oneOf(['kpa.autoscaling.knative.dev'] as const), set: () => undefined },
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
  const initial = seen.get('initial-scale');
  if (initial && s.initialScale === 0 && !s.allowZeroInitialScale) {
    r.at(valueNode(initial), `${initial.path}: 0 needs allow-zero-initial-scale: true in the autoscaler section, got "0"`);
  }
  return { annotations, autoscaling: s };
}
