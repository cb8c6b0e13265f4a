import type { Config } from '../config/types.js';

/**
 * Revisions some traffic target routes to (a share above 0 %, or a tag).
 * Knative applies min-scale, the scale-down rate and the scale-down delay
 * only to reachable revisions; the others may go straight to zero.
 */
export function reachableRevisions(config: Config): Set<string> {
  const out = new Set<string>();
  for (const svc of config.services) for (const t of svc.traffic) if (t.percent > 0 || t.tag !== null) out.add(t.revisionName);
  return out;
}
