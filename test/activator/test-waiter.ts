import type { TidegateError } from '../../src/shared/errors.js';
import type { PodLike, PodSlot } from '../../src/activator/pod-slot.js';
import { WaiterBase } from '../../src/activator/waiter.js';

export interface TestPod extends PodLike {
  readonly tag?: string;
}

export function pod(id: string, address = `10.0.0.${id}:8080`): TestPod {
  return { id, address };
}

/** Records what happened to it, and can run a hook on grant (re-entrancy tests). */
export class TestWaiter extends WaiterBase<TestPod> {
  slot: PodSlot<TestPod> | null = null;
  error: TidegateError | null = null;
  grantedAt = -1;

  constructor(
    readonly name: string,
    bytes = 0,
    private readonly log?: string[],
    private readonly onGrant?: (slot: PodSlot<TestPod>) => void,
    avoid: PodSlot<TestPod> | null = null,
  ) {
    super(bytes, avoid);
  }

  grant(slot: PodSlot<TestPod>): void {
    this.slot = slot;
    this.log?.push(this.name);
    this.onGrant?.(slot);
  }

  reject(err: TidegateError): void {
    this.error = err;
  }
}
