/**
 * Defaults. Autoscaler values are Knative's config-autoscaler defaults
 * (KNATIVE.md 1.1); activator and limits are tidegate's own.
 */
import type { ActivatorSettings, AutoscalerSettings, LimitSettings, ReadinessProbeSpec, RevisionDefaults } from './types.js';

export const DEFAULT_AUTOSCALER: AutoscalerSettings = Object.freeze({
  containerConcurrencyTargetDefault: 100,
  containerConcurrencyTargetPercentage: 70,
  requestsPerSecondTargetDefault: 200,
  // 211, not 200: Knative PR #12774 stopped the activator flapping at min-scale 2.
  targetBurstCapacity: 211,
  stableWindowMs: 60_000,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  enableScaleToZero: true,
  scaleToZeroGracePeriodMs: 30_000,
  scaleToZeroPodRetentionPeriodMs: 0,
  scaleDownDelayMs: 0,
  initialScale: 1,
  allowZeroInitialScale: false,
  minScale: 0,
  maxScale: 0,
  maxScaleLimit: 0,
  activationScale: 1,
  metric: 'concurrency',
  metricAggregationAlgorithm: 'linear',
  targetUtilizationPercentage: 70,
  target: null,
});

export const DEFAULT_ACTIVATOR: ActivatorSettings = Object.freeze({
  maxBufferedRequests: 10_000,
  maxBufferedBytes: 64 * 1024 ** 2,
  bufferTimeoutMs: 60_000,
});

export const DEFAULT_LIMITS: LimitSettings = Object.freeze({
  maxBodyBytes: 4 * 1024 ** 3,
  maxHeaderBytes: 16 * 1024,
});

/** Per-revision defaults (Knative's Revision spec defaults; queueProxy is tidegate's). */
export const REVISION_DEFAULTS = Object.freeze({
  containerConcurrency: 0,
  timeoutSeconds: 300,
  maxTimeoutSeconds: 600,
  queueProxy: false,
  protocol: 'http1' as const,
  readinessPath: null,
});

/** Knative's config-defaults (pkg/apis/config/defaults.go); 0 = no response-start or idle timeout. */
export const DEFAULT_REVISION_DEFAULTS: RevisionDefaults = Object.freeze({
  revisionTimeoutSeconds: 300,
  maxRevisionTimeoutSeconds: 600,
  revisionResponseStartTimeoutSeconds: 0,
  revisionIdleTimeoutSeconds: 0,
});

/** Kubernetes' probe defaults, with Knative's periodSeconds 0 (the aggressive probe) when none is given. */
export const DEFAULT_READINESS_PROBE: ReadinessProbeSpec = Object.freeze({
  path: null,
  periodSeconds: 0,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 3,
});

/** Knative's default domain in config-domain's example. */
export const DEFAULT_DOMAIN = 'example.com';
