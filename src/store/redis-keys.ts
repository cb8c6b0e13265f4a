/** Every Redis key and channel the store uses, in one place (documented in docs/store.md). */
export interface RedisKeys {
  /** Hash: pod id → PodRecord JSON, for one revision. */
  pods(revision: string): string;
  /** Sorted set: pod id scored by its expiry (server ms), for one revision. */
  podExpiry(revision: string): string;
  /** Set of revisions that may have live pods (for listPods() across all). */
  readonly podRevisions: string;
  /** Sorted set: PodStat JSON scored by its time, for one revision. */
  stats(revision: string): string;
  /** Hash: revision → RevisionStatus JSON. */
  readonly status: string;
  /** String: the holder of a lease, with the lease's TTL. */
  lease(name: string): string;
  /** Pub/sub channel for pods/status/poke events. */
  readonly events: string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    pods: (rev) => `${prefix}pods:${rev}`,
    podExpiry: (rev) => `${prefix}pod-expiry:${rev}`,
    podRevisions: `${prefix}pod-revisions`,
    stats: (rev) => `${prefix}stats:${rev}`,
    status: `${prefix}status`,
    lease: (name) => `${prefix}lease:${name}`,
    events: `${prefix}events`,
  };
}
