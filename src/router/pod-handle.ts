import type { PodRecord } from '../store/store.js';
import type { UpstreamProtocol } from '../config/types.js';
import type { Dispatcher } from '../upstream/dispatcher.js';
import { H2Upstream } from '../upstream/h2-pool.js';
import { UpstreamPool } from '../upstream/pool.js';
import type { UpstreamRuntime } from '../upstream/runtime.js';
import { RequestStats } from '../queue/request-stats.js';

/**
 * The edge's object for one pod: its dispatcher (the HTTP/1.1 pool, or one
 * h2c session for a revision with `protocol: h2c`) and its
 * request stats. How many requests are in flight to it is the throttler's
 * count (PodSlot.inFlight), the only one.
 */
export class PodHandle {
  readonly id: string;
  readonly address: string;
  readonly revision: string;
  /** A queue-proxy in front of the app reports the pod's stats; the edge does not. */
  readonly queueProxy: boolean;
  readonly protocol: UpstreamProtocol;
  readonly pool: Dispatcher;
  readonly stats = new RequestStats();
  constructor(record: PodRecord, upstream: UpstreamRuntime, protocol: UpstreamProtocol = 'http1') {
    this.id = record.id;
    this.address = record.address;
    this.revision = record.revision;
    this.queueProxy = record.queueProxy === true;
    this.protocol = protocol;
    this.pool = protocol === 'h2c' ? new H2Upstream(record.address, upstream) : new UpstreamPool(record.address, upstream);
  }
}
