import type { TidegateError } from '../shared/errors.js';
import type { Waiter } from '../activator/waiter.js';
import type { RevisionRuntime, Slot } from './revision-runtime.js';
import type { PodHandle } from './pod-handle.js';

/**
 * Where a loop other than the main process's asks for pod slots of
 * revisions with a containerConcurrency (`serve --workers N`): the main
 * process's throttler decides for every loop (src/bin/admission.ts), so the
 * limit holds across them. Fire and forget; answers come back as
 * RemoteQueue.granted / rejected.
 */
export interface RemoteAdmission {
  acquire(revision: string, id: number, bytes: number, avoid: string | null): void;
  release(revision: string, pod: string): void;
  cancel(revision: string, id: number): void;
  eject(revision: string, pod: string): void;
}

/** One revision's requests in this loop waiting for the main process to grant them a pod slot. */
export class RemoteQueue {
  private readonly waiting = new Map<number, Waiter<PodHandle>>();
  private readonly ids = new Map<Waiter<PodHandle>, number>();
  private nextId = 1;

  constructor(
    private readonly admission: RemoteAdmission,
    private readonly rt: RevisionRuntime,
  ) {}

  /** Requests waiting here. */
  get size(): number {
    return this.waiting.size;
  }

  enqueue(w: Waiter<PodHandle>): void {
    const id = this.nextId++;
    this.waiting.set(id, w);
    this.ids.set(w, id);
    this.admission.acquire(this.rt.name, id, w.bytes, w.avoid === null ? null : w.avoid.id);
  }

  /** The request left (client gone, timeout): out of the main process's buffer too. */
  cancel(w: Waiter<PodHandle>): void {
    const id = this.ids.get(w);
    if (id === undefined) return;
    this.forget(id, w);
    this.admission.cancel(this.rt.name, id);
  }

  /** The main process granted request `id` a slot on `pod`. */
  granted(id: number, pod: string): void {
    const w = this.waiting.get(id);
    if (w === undefined) {
      // Gone meanwhile (its cancel crossed the grant): the slot goes back.
      this.admission.release(this.rt.name, pod);
      return;
    }
    this.forget(id, w);
    const slot = this.rt.throttler.claim(pod);
    if (slot === null) {
      // A pod this loop does not know (yet, or any more): the slot goes back and the request asks again.
      this.admission.release(this.rt.name, pod);
      this.enqueue(w);
      return;
    }
    w.grant(slot);
  }

  rejected(id: number, err: TidegateError): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.forget(id, w);
    w.reject(err);
  }

  /** A granted slot is free again. */
  release(slot: Slot): void {
    this.admission.release(this.rt.name, slot.id);
  }

  /** The pod refused a connection: the main process leaves it out for every loop. */
  eject(slot: Slot): void {
    this.admission.eject(this.rt.name, slot.id);
  }

  /** Every waiting request answered with `err` (shutdown, revision removed). */
  rejectAll(err: TidegateError): void {
    for (const [id, w] of [...this.waiting]) {
      this.forget(id, w);
      this.admission.cancel(this.rt.name, id);
      w.reject(err);
    }
  }

  private forget(id: number, w: Waiter<PodHandle>): void {
    this.waiting.delete(id);
    this.ids.delete(w);
  }
}
