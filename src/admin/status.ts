import type { Config } from '../config/types.js';
import type { PodRecord, RevisionStatus } from '../store/store.js';

/** GET /status (DESIGN.md "Ports and admin endpoints"). */
export interface StatusDoc {
  services: {
    name: string;
    hosts: string[];
    /** As configured. */
    traffic: { revisionName: string; percent: number; tag: string | null }[];
    /** What the hosts route now: latestRevision resolved to the latest Ready revision, and a rollout's split while one runs (tag null: the untagged split; else that tag's host). */
    effectiveTraffic?: { revisionName: string; percent: number; tag: string | null }[];
  }[];
  revisions: {
    name: string;
    service: string;
    desiredPods: number;
    readyPods: number;
    mode: 'stable' | 'panic';
    stableConcurrency: number;
    panicConcurrency: number;
    bufferedRequests: number;
    activatorInPath: boolean;
    pods: { id: string; address: string; ready: boolean; inFlight: number }[];
  }[];
}

/** What building the status needs from the running edge. */
export interface StatusInputs {
  config: Config;
  pods(revision: string): readonly PodRecord[];
  status(revision: string): RevisionStatus | null;
  buffered(revision: string): number;
  inFlight(revision: string, podId: string): number;
  activatorInPath(revision: string): boolean;
  /** The edge's current split for a service (Edge.effectiveTraffic); absent or null: the configured traffic. */
  effectiveTraffic?(service: string): readonly { revisionName: string; percent: number; tag: string | null }[] | null;
}

/** Pure: the status document from the config, the store view and the edge's counters. */
export function buildStatus(src: StatusInputs): StatusDoc {
  const { config } = src;
  return {
    services: config.services.map((s) => ({
      name: s.name,
      hosts: [...s.hosts],
      traffic: s.traffic.map((t) => ({ revisionName: t.revisionName, percent: t.percent, tag: t.tag })),
      effectiveTraffic: (src.effectiveTraffic?.(s.name) ?? s.traffic).map((t) => ({ revisionName: t.revisionName, percent: t.percent, tag: t.tag })),
    })),
    revisions: [...config.revisions.values()].map((r) => {
      const pods = src.pods(r.name);
      const st = src.status(r.name);
      return {
        name: r.name,
        service: r.service,
        desiredPods: st?.desiredPods ?? (r.endpoints ? r.endpoints.length : -1),
        readyPods: pods.filter((p) => p.ready).length,
        mode: st?.mode ?? 'stable',
        stableConcurrency: st?.stableConcurrency ?? 0,
        panicConcurrency: st?.panicConcurrency ?? 0,
        bufferedRequests: src.buffered(r.name),
        activatorInPath: src.activatorInPath(r.name),
        pods: pods.map((p) => ({ id: p.id, address: p.address, ready: p.ready, inFlight: src.inFlight(r.name, p.id) })),
      };
    }),
  };
}
