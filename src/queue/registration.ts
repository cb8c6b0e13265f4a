import type { Logger } from '../shared/log.js';
import type { PodRecord, PodStat, Store } from '../store/store.js';

/** What the queue-proxy needs from a store (any Store implementation fits). */
export type PodRegistry = Pick<Store, 'registerPod' | 'removePod' | 'reportStats'>;

/**
 * The queue-proxy's presence in the store: its pod record, refreshed with a
 * TTL (so a killed queue-proxy disappears by itself), and its per-second
 * stats. Store failures are logged and never reach the request path; a
 * write still pending when the next one is due is skipped rather than
 * stacked up behind a slow or unreachable Redis.
 */
export class Registration {
  private pending = false;
  private statsPending = false;

  constructor(
    private readonly registry: PodRegistry,
    readonly pod: Omit<PodRecord, 'ready' | 'queueProxy'>,
    private readonly log: Logger,
    private readonly ttlMs = 3000,
  ) {}

  /** Registers (or refreshes) the pod with its readiness. `force` waits for no earlier write. */
  async publish(ready: boolean, force = false): Promise<void> {
    if (this.pending && !force) return;
    this.pending = true;
    try {
      await this.registry.registerPod({ ...this.pod, ready, queueProxy: true }, this.ttlMs);
    } catch (err) {
      this.log.warn({ err: String(err), pod: this.pod.id }, 'pod registration failed');
    } finally {
      this.pending = false;
    }
  }

  async report(stat: PodStat): Promise<void> {
    if (this.statsPending) return;
    this.statsPending = true;
    try {
      await this.registry.reportStats([stat]);
    } catch (err) {
      this.log.warn({ err: String(err), pod: this.pod.id }, 'stats report failed');
    } finally {
      this.statsPending = false;
    }
  }

  async remove(): Promise<void> {
    try {
      await this.registry.removePod(this.pod.revision, this.pod.id);
    } catch (err) {
      this.log.warn({ err: String(err), pod: this.pod.id }, 'pod removal failed');
    }
  }
}
