import type { HttpRequest, HttpResponse } from '../shared/uws.js';
import { TidegateError } from '../shared/errors.js';
import { Exchange, type ExchangeOwner } from '../upstream/exchange.js';
import type { Deadlines } from '../upstream/deadlines.js';
import type { HeadLimits } from '../proxy/request-head.js';
import type { Breaker, BreakerWaiter } from './breaker.js';

/** What a queued request calls when the breaker grants it a slot. */
export interface SlotOwner extends ExchangeOwner {
  granted(req: QueuedRequest): void;
}

/**
 * One request through the queue-proxy: the shared upstream Exchange, plus
 * what the sidecar needs around it — whether it came through the activator,
 * whether it holds a breaker slot, and the breaker-queue links (so waiting
 * allocates nothing more than the exchange itself).
 */
export class QueuedRequest extends Exchange implements BreakerWaiter {
  /** Came through the activator (`K-Proxy-Request: activator`): counted apart. */
  readonly proxied: boolean;
  /** Holds a breaker slot that must be released when it ends. */
  holdsSlot = false;
  bPrev: BreakerWaiter | null = null;
  bNext: BreakerWaiter | null = null;
  bQueue: Breaker | null = null;
  /** Got a slot only after its deadline had passed: never forwarded, answered by its deadline. */
  expiredInQueue = false;

  constructor(
    res: HttpResponse,
    req: HttpRequest,
    limits: HeadLimits,
    private readonly sidecar: SlotOwner,
    deadlines: Deadlines,
    now: number,
  ) {
    super(res, req, limits, sidecar, deadlines, now);
    this.proxied = this.head.proxyRequest === 'activator';
  }

  grant(): void {
    this.holdsSlot = true;
    this.sidecar.granted(this);
  }

  /** The request deadline covers time in the queue too (Knative's timeout handler wraps the breaker). */
  override onDeadline(): void {
    this.waiting = this.bQueue !== null || this.expiredInQueue;
    super.onDeadline();
  }

  protected override waitTimeout(): TidegateError {
    return new TidegateError('TG_ERR_QUEUE_TIMEOUT', 'request timeout while waiting for a containerConcurrency slot');
  }
}
