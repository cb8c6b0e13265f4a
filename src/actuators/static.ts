import type { Config, RevisionSpec } from '../config/types.js';
import type { Actuator } from './actuator.js';

/**
 * `endpoints` revisions: the pods are listed in the config and never
 * scaled (every edge registers them itself, see static-pods.ts).
 */
export class StaticActuator implements Actuator {
  constructor(private readonly config: () => Config) {}

  scale(_revision: RevisionSpec, _count: number): Promise<void> {
    return Promise.resolve();
  }

  currentScale(revision: string): number {
    return this.config().revisions.get(revision)?.endpoints?.length ?? 0;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
