import type { PodRecord } from '../store/store.js';
import { UpstreamPool } from '../upstream/pool.js';
import { RequestStats } from '../queue/request-stats.js';

/** The edge's object for one pod: its connection pool and its request stats. */
export class PodHandle {
  readonly id: string;
  readonly address: string;
  readonly revision: string;
  /** A queue-proxy in front of the app reports the pod's stats; the edge does not. */
  readonly queueProxy: boolean;
  readonly pool: UpstreamPool;
  readonly stats = new RequestStats();
  /** This edge's requests in flight to the pod (also tracked by the throttler's slot). */
  inFlight = 0;

  constructor(record: PodRecord) {
    this.id = record.id;
    this.address = record.address;
    this.revision = record.revision;
    this.queueProxy = record.queueProxy === true;
    this.pool = new UpstreamPool(record.address);
  }
}
