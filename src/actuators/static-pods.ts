import type { Config } from '../config/types.js';
import type { PodRecord } from '../store/store.js';

/** The pods of `endpoints` revisions: always ready, never scaled; every edge registers them. */
export function staticPods(config: Config): PodRecord[] {
  const pods: PodRecord[] = [];
  for (const rev of config.revisions.values()) {
    if (!rev.endpoints) continue;
    rev.endpoints.forEach((address, i) => pods.push({ id: `${rev.name}-static-${i}`, revision: rev.name, address, ready: true, queueProxy: rev.queueProxy }));
  }
  return pods;
}
