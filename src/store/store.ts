/**
 * Shared state: what edges, queue-proxies, autoscalers and actuators tell
 * each other. Two implementations (memory.ts, redis.ts) pass one contract
 * suite (test/store/store.contract.ts). Nothing on the request hot path
 * awaits a Store: the edge reads a StoreView (view.ts) kept up to date by
 * notifications plus a periodic resync.
 */

/** A pod that can take requests once `ready`. */
export interface PodRecord {
  readonly id: string; // unique across revisions, e.g. "hello-00001-7f3a"
  readonly revision: string;
  readonly address: string; // "host:port" the edge sends requests to
  readonly ready: boolean;
  /** Set when a queue-proxy is in front of the app (it reports the stats). */
  readonly queueProxy?: boolean;
}

/** One pod's (or one activator's) figures for one 1-second period. */
export interface PodStat {
  readonly revision: string;
  /** The pod id, or "activator:<edge id>" for requests waiting in an edge's buffer. */
  readonly pod: string;
  /** End of the period, epoch ms. */
  readonly time: number;
  /** Time-weighted average in-flight requests over the period. */
  readonly concurrency: number;
  /** Requests per second that arrived in the period. */
  readonly requests: number;
  /** The part of the two figures above that came through the activator. */
  readonly proxiedConcurrency: number;
  readonly proxiedRequests: number;
}

/** The autoscaler's verdict for one revision. */
export interface RevisionStatus {
  readonly desiredPods: number; // what the actuator was told (-1 = not decided yet)
  readonly mode: 'stable' | 'panic';
  readonly stableConcurrency: number;
  readonly panicConcurrency: number;
  readonly excessBurstCapacity: number;
  /** The activator must be in the path (no ready pod or EBC < 0). */
  readonly activatorInPath: boolean;
  /** Epoch ms of the decision. */
  readonly time: number;
}

export type StoreEvent =
  | { readonly type: 'pods'; readonly revision: string }
  | { readonly type: 'status'; readonly revision: string }
  | { readonly type: 'poke'; readonly revision: string }
  /** The connection to the backing store was lost (false) or (re)gained (true). */
  | { readonly type: 'connection'; readonly up: boolean };

export type StoreListener = (event: StoreEvent) => void;

export interface Store {
  /** Adds or refreshes a pod; it disappears unless refreshed within ttlMs. */
  registerPod(pod: PodRecord, ttlMs: number): Promise<void>;
  removePod(revision: string, id: string): Promise<void>;
  /** Live pods of one revision, or of all revisions. */
  listPods(revision?: string): Promise<PodRecord[]>;

  /** Appends stats; each revision keeps only its last retention period (store option). */
  reportStats(stats: readonly PodStat[]): Promise<void>;
  /** Stats of one revision with time > sinceMs, oldest first. */
  readStats(revision: string, sinceMs: number): Promise<PodStat[]>;

  setStatus(revision: string, status: RevisionStatus): Promise<void>;
  getStatus(revision: string): Promise<RevisionStatus | null>;
  listStatuses(): Promise<Map<string, RevisionStatus>>;

  /** "Revision R has demand now": wakes the autoscaler at once. */
  poke(revision: string): Promise<void>;

  /** Pod, status and poke changes from any process sharing this store. */
  subscribe(listener: StoreListener): () => void;

  /**
   * Takes the named lease for holder, or renews it if holder has it.
   * Returns false while another holder's lease is live.
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;

  close(): Promise<void>;
}
