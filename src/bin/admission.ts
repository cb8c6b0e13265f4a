/**
 * Admission for the other event loops of `serve --workers N`, decided by the
 * main process's throttlers: for a revision with a containerConcurrency, a
 * loop's request waits (in that loop) until the main process grants it a pod
 * slot, in arrival order among every loop's requests and the main loop's
 * own. So each pod's limit holds across the loops, and a revision is woken
 * once. Revisions without a limit never come here.
 */
import { WaiterBase } from '../activator/waiter.js';
import type { Edge } from '../router/edge.js';
import type { PodHandle } from '../router/pod-handle.js';
import type { Slot } from '../router/revision-runtime.js';
import { TidegateError } from '../shared/errors.js';
import type { AdmissionAnswer, AdmissionRequest } from './worker-protocol.js';

/** A loop's request waiting in the main process's buffer. */
class RemoteWaiter extends WaiterBase<PodHandle> {
  constructor(
    private readonly admission: LoopAdmission,
    readonly loop: number,
    readonly id: number,
    readonly revision: string,
    bytes: number,
    avoid: Slot | null,
    readonly answer: (a: AdmissionAnswer) => void,
  ) {
    super(bytes, avoid);
  }

  grant(slot: Slot): void {
    this.admission.granted(this, slot);
  }

  reject(err: TidegateError): void {
    this.admission.rejected(this, err);
  }
}

export class LoopAdmission {
  /** Slots each loop holds, to give back when it says so or dies. */
  private readonly held = new Map<number, Slot[]>();
  /** Each loop's requests waiting here, by id. */
  private readonly waiting = new Map<number, Map<number, RemoteWaiter>>();

  constructor(private readonly edge: Edge) {}

  handle(loop: number, req: AdmissionRequest, answer: (a: AdmissionAnswer) => void): void {
    const rt = this.edge.revision(req.revision);
    switch (req.type) {
      case 'acquire': {
        if (rt === undefined) {
          answer({ type: 'reject', revision: req.revision, id: req.id, code: 'TG_ERR_NO_ROUTE', message: `revision ${req.revision} is not in the config` });
          return;
        }
        const avoid = req.avoid === null ? null : (rt.throttler.pods.find((s) => s.id === req.avoid) ?? null);
        const slot = rt.throttler.tryAcquire(avoid);
        if (slot !== null) {
          this.hold(loop, slot);
          answer({ type: 'grant', revision: req.revision, id: req.id, pod: slot.id });
          return;
        }
        const w = new RemoteWaiter(this, loop, req.id, req.revision, req.bytes, avoid, answer);
        this.waitersOf(loop).set(req.id, w);
        if (!rt.throttler.enqueue(w)) {
          this.waitersOf(loop).delete(req.id);
          answer({ type: 'reject', revision: req.revision, id: req.id, code: 'TG_ERR_BUFFER_FULL', message: `revision ${rt.name} has ${rt.throttler.queued} requests (${rt.throttler.queuedBytes} body bytes) buffered; try again` });
        }
        return;
      }
      case 'release': {
        const held = this.held.get(loop);
        const i = held?.findIndex((s) => s.id === req.pod && s.pod.revision === req.revision) ?? -1;
        if (i < 0 || rt === undefined) return;
        const [slot] = held!.splice(i, 1);
        rt.throttler.release(slot!);
        return;
      }
      case 'cancel': {
        const w = this.waiting.get(loop)?.get(req.id);
        if (w === undefined || rt === undefined) return;
        this.waiting.get(loop)!.delete(req.id);
        rt.throttler.cancel(w);
        return;
      }
      case 'eject': {
        const slot = rt?.throttler.pods.find((s) => s.id === req.pod);
        if (slot !== undefined) rt!.throttler.eject(slot);
        return;
      }
    }
  }

  granted(w: RemoteWaiter, slot: Slot): void {
    this.waiting.get(w.loop)?.delete(w.id);
    this.hold(w.loop, slot);
    w.answer({ type: 'grant', revision: w.revision, id: w.id, pod: slot.id });
  }

  rejected(w: RemoteWaiter, err: TidegateError): void {
    this.waiting.get(w.loop)?.delete(w.id);
    w.answer({ type: 'reject', revision: w.revision, id: w.id, code: err.code, message: err.message });
  }

  /** A loop died: its slots come back, its waiting requests leave the buffers. */
  forget(loop: number): void {
    for (const slot of this.held.get(loop) ?? []) this.edge.revision(slot.pod.revision)?.throttler.release(slot);
    this.held.delete(loop);
    for (const w of this.waiting.get(loop)?.values() ?? []) this.edge.revision(w.revision)?.throttler.cancel(w);
    this.waiting.delete(loop);
  }

  private hold(loop: number, slot: Slot): void {
    let held = this.held.get(loop);
    if (held === undefined) this.held.set(loop, (held = []));
    held.push(slot);
  }

  private waitersOf(loop: number): Map<number, RemoteWaiter> {
    let m = this.waiting.get(loop);
    if (m === undefined) this.waiting.set(loop, (m = new Map<number, RemoteWaiter>()));
    return m;
  }
}
