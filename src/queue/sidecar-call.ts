import type { HttpRequest, HttpResponse } from '../shared/uws.js';
import { TidegateError } from '../shared/errors.js';
import type { LinkedList } from '../shared/linked-list.js';
import { ProxyCall, type CallContext } from '../proxy/proxy-call.js';
import type { HeadLimits } from '../proxy/request-head.js';
import type { Dispatcher } from '../upstream/dispatcher.js';
import type { ClientUpgrade } from '../proxy/ws-relay.js';
import type { BreakerWaiter } from './breaker.js';
import type { QueueProxy } from './sidecar.js';

/** The queue-proxy's one slot: the app, taken through the breaker when containerConcurrency is set. */
export interface AppSlot {
  readonly app: Dispatcher;
}

/** A request waiting for a breaker slot: only a saturated app allocates one. */
class BreakerEntry implements BreakerWaiter {
  prev: BreakerWaiter | null = null;
  next: BreakerWaiter | null = null;
  list: LinkedList<BreakerWaiter> | null = null;

  constructor(readonly call: SidecarCall) {}

  grant(): void {
    this.call.breakerGranted();
  }
}

/**
 * One request through the queue-proxy: a ProxyCall whose admission is the
 * containerConcurrency breaker (Knative's queue in front of the app), whose
 * one pod is the app, and which retries only a reused connection's reset.
 */
export class SidecarCall extends ProxyCall<AppSlot> {
  /** Came through the activator (`K-Proxy-Request: activator`): counted apart. */
  readonly proxied: boolean;
  private entry: BreakerEntry | null = null;

  constructor(
    private readonly qp: QueueProxy,
    res: HttpResponse,
    req: HttpRequest,
    limits: HeadLimits,
    ctx: CallContext,
    now: number,
    upgrade: ClientUpgrade | null,
  ) {
    super(res, req, limits, ctx, now, false, upgrade);
    this.proxied = this.head.proxyRequest === 'activator';
  }

  protected acquire(): AppSlot | null {
    const b = this.qp.breaker;
    return b === null || b.tryAcquire() ? this.qp.appSlot : null;
  }

  protected wait(): TidegateError | null {
    const b = this.qp.breaker!;
    const entry = new BreakerEntry(this);
    if (!b.enqueue(entry)) {
      return new TidegateError('TG_ERR_QUEUE_FULL', `pending request queue full: ${b.inFlight} running and ${b.queued} queued (containerConcurrency ${b.capacity})`);
    }
    this.entry = entry;
    this.qp.queueDepthChanged();
    return null;
  }

  /** The breaker passed a freed slot to this call. */
  breakerGranted(): void {
    this.entry = null;
    this.qp.queueDepthChanged();
    // A slot freed by a deadline sweep can land on a request whose own deadline
    // has passed too: it is not sent to the app. Its entry, later in the same
    // sweep, answers 504 (this never recurses through release → grant → fail).
    if (this.qp.timesOut && this.deadline <= this.qp.clock.now()) this.hold(this.qp.appSlot);
    else this.granted(this.qp.appSlot);
  }

  protected dispatcherFor(slot: AppSlot): Dispatcher {
    return slot.app;
  }

  protected releaseSlot(): void {
    this.qp.breaker?.release(); // may grant (and dispatch) the next queued request right here
  }

  /** One app: every failure counts, and a retry keeps the slot. */
  protected podFailed(): boolean {
    return true;
  }

  protected override retrySlot(failed: AppSlot): AppSlot {
    return failed;
  }

  protected canWait(): boolean {
    return false;
  }

  protected retrying(): void {}

  protected waitTimeout(): TidegateError {
    return new TidegateError('TG_ERR_QUEUE_TIMEOUT', 'request timeout while waiting for a containerConcurrency slot');
  }

  protected ended(): void {
    const entry = this.entry;
    if (entry !== null) {
      this.entry = null;
      this.qp.breaker!.cancel(entry);
    }
    this.qp.callEnded(this);
  }
}

