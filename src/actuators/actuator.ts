import type { RevisionSpec } from '../config/types.js';

/**
 * Turns a desired pod count into pods. Pods reach the router through the
 * Store: an actuator (local, static) or the pod's queue-proxy (kubernetes)
 * registers them, ready once their readiness probe passes.
 */
export interface Actuator {
  /** Make `revision` have `count` pods; idempotent, returns once requested. */
  scale(revision: RevisionSpec, count: number): Promise<void>;
  /** Pods this actuator has asked for and not yet stopped (ready or not). */
  currentScale(revision: string): number;
  /** Stop everything this actuator started. */
  close(): Promise<void>;
}
