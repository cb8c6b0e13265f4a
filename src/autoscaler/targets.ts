/**
 * Everything the KPA needs from a revision's spec, resolved once per tick:
 * the per-pod target (KNATIVE.md 1.2), the windows, rates and bounds.
 */
import type { RevisionSpec } from '../config/types.js';
import { ANNOTATION_PREFIX, PROGRESS_DEADLINE_ANNOTATION } from '../config/autoscaling.js';
import { parseDuration } from '../config/units.js';
import type { Aggregation } from './window.js';

/** Knative's floor for any target (TargetMin). */
export const TARGET_MIN = 0.01;
/** Knative hard-codes the RPS target utilization (unless annotated). */
export const RPS_TARGET_UTILIZATION = 0.7;

export type TargetInput = Pick<RevisionSpec, 'containerConcurrency' | 'autoscaling' | 'annotations'>;

export interface Target {
  /** Per-pod value the decider divides by. */
  readonly target: number;
  /** Per-pod capacity, used for the excess burst capacity. */
  readonly total: number;
}

function annotated(annotations: Readonly<Record<string, string>>, name: string, camel: string): boolean {
  return `${ANNOTATION_PREFIX}${name}` in annotations || `${ANNOTATION_PREFIX}${camel}` in annotations;
}

export function resolveTarget(rev: TargetInput): Target {
  const s = rev.autoscaling;
  const cc = rev.containerConcurrency;
  let total: number;
  let utilization: number;
  if (s.metric === 'rps') {
    total = s.target ?? s.requestsPerSecondTargetDefault;
    // The config's container-concurrency-target-percentage is for concurrency only.
    utilization = annotated(rev.annotations, 'target-utilization-percentage', 'targetUtilizationPercentage')
      ? s.targetUtilizationPercentage / 100
      : RPS_TARGET_UTILIZATION;
  } else {
    total = cc > 0 ? cc : s.containerConcurrencyTargetDefault;
    // The target annotation replaces the default, but a pod never takes more than its hard limit.
    if (s.target !== null) total = cc > 0 ? Math.min(s.target, cc) : s.target;
    utilization = s.targetUtilizationPercentage / 100;
  }
  return { target: Math.max(TARGET_MIN, total * utilization), total };
}

/** Knative's config-deployment progress-deadline default. */
export const DEFAULT_PROGRESS_DEADLINE_MS = 600_000;

/** How long a revision may take to get its pods ready before Knative gives up on it. */
export function progressDeadlineMs(annotations: Readonly<Record<string, string>>): number {
  const text = annotations[PROGRESS_DEADLINE_ANNOTATION];
  if (text === undefined) return DEFAULT_PROGRESS_DEADLINE_MS;
  const d = parseDuration(text);
  return d.ok && d.value > 0 ? d.value : DEFAULT_PROGRESS_DEADLINE_MS;
}

/** round(stable × pct / 100) to whole seconds, at least 1 s. */
export function panicWindowMs(stableWindowMs: number, percentage: number): number {
  return Math.max(1000, Math.round((stableWindowMs * percentage) / 100 / 1000) * 1000);
}

export interface ScalingParams extends Target {
  readonly metric: 'concurrency' | 'rps';
  readonly aggregation: Aggregation;
  readonly stableWindowMs: number;
  readonly panicWindowMs: number;
  /** A fraction: 2 = 200 %. */
  readonly panicThreshold: number;
  readonly maxScaleUpRate: number;
  readonly maxScaleDownRate: number;
  readonly targetBurstCapacity: number;
  readonly activationScale: number;
  readonly scaleDownDelayMs: number;
  readonly minScale: number;
  readonly maxScale: number;
  readonly initialScale: number;
  readonly enableScaleToZero: boolean;
  readonly scaleToZeroGracePeriodMs: number;
  readonly scaleToZeroPodRetentionPeriodMs: number;
  /** `serving.knative.dev/progress-deadline` (600 s): activating longer than this + 30 s with no demand → 0. */
  readonly progressDeadlineMs: number;
}

export function scalingParams(rev: TargetInput): ScalingParams {
  const s = rev.autoscaling;
  return {
    ...resolveTarget(rev),
    metric: s.metric,
    aggregation: s.metricAggregationAlgorithm,
    stableWindowMs: s.stableWindowMs,
    panicWindowMs: panicWindowMs(s.stableWindowMs, s.panicWindowPercentage),
    panicThreshold: s.panicThresholdPercentage / 100,
    maxScaleUpRate: s.maxScaleUpRate,
    maxScaleDownRate: s.maxScaleDownRate,
    targetBurstCapacity: s.targetBurstCapacity,
    activationScale: s.activationScale,
    scaleDownDelayMs: s.scaleDownDelayMs,
    minScale: s.minScale,
    maxScale: s.maxScale,
    initialScale: s.initialScale === 0 && !s.allowZeroInitialScale ? 1 : s.initialScale,
    enableScaleToZero: s.enableScaleToZero,
    scaleToZeroGracePeriodMs: s.scaleToZeroGracePeriodMs,
    scaleToZeroPodRetentionPeriodMs: s.scaleToZeroPodRetentionPeriodMs,
    progressDeadlineMs: progressDeadlineMs(rev.annotations),
  };
}
