/**
 * containerConcurrency across the event loops of one process (`serve
 * --workers N`). Each loop keeps its own throttlers; what they must agree on
 * lives here, in one SharedArrayBuffer, read and written with Atomics so the
 * hot path never waits for another thread:
 *
 * - per pod, the total in flight from all loops (a compare-and-swap below the
 *   capacity reserves one), and what each loop holds of it, so the main
 *   thread can give back a crashed worker's requests;
 * - per revision, a ticket counter and each loop's oldest waiting ticket, so
 *   a loop grants a slot only when no other loop has an older waiter
 *   (arrival order across loops, and no loop starves another).
 *
 * Indices (pods, revisions) come from SharedIndex on the main thread.
 */

export interface SharedCapacityOptions {
  /** Pod indices 0 … maxPods-1 (default 65536). */
  readonly maxPods?: number;
  /** Revision indices 0 … maxRevisions-1 (default 4096). */
  readonly maxRevisions?: number;
}

export const DEFAULT_MAX_PODS = 65_536;
export const DEFAULT_MAX_REVISIONS = 4096;

/** Int32 cells per cache line: a row is padded to whole lines so loops busy with different pods do not contend. */
const LINE = 16;

/**
 * Header line: [MAGIC, workers, maxPods, maxRevisions] so attach can tell a
 * buffer made for another layout, then how many pod and revision rows have
 * been used, so releaseWorker reads only those: reading a row commits its
 * memory page, and most of the 65536 are never used.
 */
const MAGIC = 0x54474331; // "TGC1"
const HEADER_CELLS = 4;
const PODS_USED = 4;
const REVISIONS_USED = 5;
/** Pod row: [total, held by worker 0, held by worker 1, …]. */
const POD_TOTAL = 0;
const POD_HELD = 1;
/** Revision row: [last ticket, loops with a waiter, oldest ticket of worker 0, …]. */
const REV_TICKET = 0;
const REV_WAITING = 1;
const REV_OLDEST = 2;

function rowStride(cells: number): number {
  return Math.ceil(cells / LINE) * LINE;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`SharedCapacity: ${name} must be a positive integer, got ${v}`);
  return v;
}

interface Layout {
  readonly maxPods: number;
  readonly maxRevisions: number;
  readonly podStride: number;
  readonly revStride: number;
  /** Where the pod rows and the revision rows start. */
  readonly podBase: number;
  readonly revBase: number;
  readonly cells: number;
}

function layoutOf(workers: number, options?: SharedCapacityOptions): Layout {
  positiveInt('workers', workers);
  const maxPods = positiveInt('maxPods', options?.maxPods ?? DEFAULT_MAX_PODS);
  const maxRevisions = positiveInt('maxRevisions', options?.maxRevisions ?? DEFAULT_MAX_REVISIONS);
  const podStride = rowStride(POD_HELD + workers);
  const revStride = rowStride(REV_OLDEST + workers);
  const podBase = rowStride(REVISIONS_USED + 1);
  const revBase = podBase + maxPods * podStride;
  return { maxPods, maxRevisions, podStride, revStride, podBase, revBase, cells: revBase + maxRevisions * revStride };
}

function headerOf(workers: number, layout: Layout): number[] {
  return [MAGIC, workers, layout.maxPods, layout.maxRevisions];
}

/**
 * Tickets are int32 and wrap after 2^32 (a busy buffer gets there in hours),
 * so "older" is serial-number arithmetic: a is older than b when b - a, as an
 * int32, is positive. Exact while live tickets span less than 2^31.
 */
function older(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** Per-pod in-flight counts and per-revision wait tickets shared by the event loops of one process (SharedArrayBuffer + Atomics). */
export class SharedCapacity {
  readonly buffer: SharedArrayBuffer;
  readonly workers: number;
  readonly worker: number;
  private readonly cells: Int32Array;
  private readonly layout: Layout;
  /** Rows below these are known to be counted in PODS_USED / REVISIONS_USED. */
  private podsSeen = 0;
  private revisionsSeen = 0;

  /** Made once by the main thread; its buffer goes to each worker. */
  static create(workers: number, options?: SharedCapacityOptions): SharedCapacity {
    const layout = layoutOf(workers, options);
    const buffer = new SharedArrayBuffer(layout.cells * 4);
    new Int32Array(buffer).set(headerOf(workers, layout));
    return new SharedCapacity(buffer, workers, 0, layout);
  }

  /** This loop's view (worker 0 = the main thread). */
  static attach(buffer: SharedArrayBuffer, workers: number, worker: number, options?: SharedCapacityOptions): SharedCapacity {
    const layout = layoutOf(workers, options);
    const head = buffer.byteLength >= HEADER_CELLS * 4 ? Array.from(new Int32Array(buffer, 0, HEADER_CELLS)) : [];
    if (buffer.byteLength !== layout.cells * 4 || headerOf(workers, layout).some((v, i) => head[i] !== v)) {
      const was = head[0] === MAGIC ? `${head[1]} workers, ${head[2]} pods and ${head[3]} revisions` : 'something else';
      throw new RangeError(
        `SharedCapacity: the buffer was made for ${was}, not ${workers} workers, ${layout.maxPods} pods and ${layout.maxRevisions} revisions; attach with the workers and options create was given`,
      );
    }
    return new SharedCapacity(buffer, workers, worker, layout);
  }

  private constructor(buffer: SharedArrayBuffer, workers: number, worker: number, layout: Layout) {
    if (!Number.isInteger(worker) || worker < 0 || worker >= workers) {
      throw new RangeError(`SharedCapacity: worker must be 0 … ${workers - 1}, got ${worker}`);
    }
    this.buffer = buffer;
    this.workers = workers;
    this.worker = worker;
    this.layout = layout;
    this.cells = new Int32Array(buffer);
  }

  /** Reserves one request at pod slot index `pod` if the shared total is below `capacity`; false otherwise (nothing changed). */
  take(pod: number, capacity: number): boolean {
    const c = this.cells;
    const row = this.podRow(pod);
    const mine = row + POD_HELD + this.worker;
    if (pod >= this.podsSeen) this.podsSeen = this.raise(PODS_USED, pod + 1);
    let n = Atomics.load(c, row + POD_TOTAL);
    while (n < capacity) {
      // This loop's share is counted before the total (and uncounted after
      // it in give), so a worker that dies between the two only ever looks
      // as if it held one more: releaseWorker may then free a slot early,
      // but never leaves one taken forever. Only this thread writes its
      // cell, so a plain write is enough.
      c[mine]!++;
      const seen = Atomics.compareExchange(c, row + POD_TOTAL, n, n + 1);
      if (seen === n) return true;
      c[mine]!--;
      n = seen;
    }
    return false;
  }

  /** Gives one back. Returns true when the pod was at or above capacity before (a waiter elsewhere may now get it). */
  give(pod: number, capacity: number): boolean {
    const c = this.cells;
    const row = this.podRow(pod);
    const before = this.subtract(row + POD_TOTAL, 1);
    c[row + POD_HELD + this.worker]!--;
    return before >= capacity;
  }

  /** Shared total in flight at a pod. */
  inFlight(pod: number): number {
    return Atomics.load(this.cells, this.podRow(pod) + POD_TOTAL);
  }

  /** What one worker holds at a pod (status pages, tests). */
  heldBy(worker: number, pod: number): number {
    return Atomics.load(this.cells, this.podRow(pod) + POD_HELD + this.checkWorker(worker));
  }

  /**
   * A crashed worker's holdings given back (every pod); returns how many
   * requests it held. Called by the main thread once the worker has exited,
   * before a replacement attaches with its number.
   * Its waiters are gone too: its oldest tickets are cleared so no other
   * loop keeps deferring to them. The caller should then wake every loop's
   * throttlers (capacity freed, waiters to serve).
   */
  releaseWorker(worker: number): number {
    const w = this.checkWorker(worker);
    const c = this.cells;
    const { podStride, podBase, revStride, revBase } = this.layout;
    const pods = Atomics.load(c, PODS_USED);
    const revisions = Atomics.load(c, REVISIONS_USED);
    let held = 0;
    for (let p = 0, row = podBase; p < pods; p++, row += podStride) {
      const h = Atomics.exchange(c, row + POD_HELD + w, 0);
      if (h <= 0) continue;
      this.subtract(row + POD_TOTAL, h);
      held += h;
    }
    for (let r = 0, row = revBase; r < revisions; r++, row += revStride) {
      if (Atomics.exchange(c, row + REV_OLDEST + w, 0) !== 0) Atomics.sub(c, row + REV_WAITING, 1);
    }
    return held;
  }

  /** Fairness: a new wait ticket for a revision (never 0; compare tickets with olderElsewhere, they wrap after 2^32). */
  ticket(revision: number): number {
    const cell = this.revRow(revision) + REV_TICKET;
    let t = (Atomics.add(this.cells, cell, 1) + 1) | 0;
    if (t === 0) t = (Atomics.add(this.cells, cell, 1) + 1) | 0; // 0 means "none waiting"
    return t;
  }

  /** This loop's oldest waiting ticket for the revision (0 = none waiting here). */
  setOldest(revision: number, ticket: number): void {
    const c = this.cells;
    const row = this.revRow(revision);
    const mine = row + REV_OLDEST + this.worker;
    const prev = c[mine]!;
    if (prev === ticket) return;
    if (revision >= this.revisionsSeen) this.revisionsSeen = this.raise(REVISIONS_USED, revision + 1);
    // The ticket is published before the count of waiting loops changes and
    // before the caller next tries to take a slot; a loop that frees one
    // gives it back before it reads these cells. With Atomics' sequential
    // consistency one of the two always sees the other: a waiter is never
    // left sleeping beside a free slot.
    Atomics.store(c, mine, ticket);
    if (prev === 0) Atomics.add(c, row + REV_WAITING, 1);
    else if (ticket === 0) Atomics.sub(c, row + REV_WAITING, 1);
  }

  /** Some other loop has a waiter for the revision with a ticket older than `ticket` (or any waiter, for ticket = Infinity). */
  olderElsewhere(revision: number, ticket: number): boolean {
    const c = this.cells;
    const row = this.revRow(revision);
    const oldest = row + REV_OLDEST;
    if (ticket === Infinity) {
      // The hot-path question (tryAcquire): one load when nobody waits.
      const here = c[oldest + this.worker] !== 0 ? 1 : 0;
      if (Atomics.load(c, row + REV_WAITING) - here <= 0) return false;
    }
    for (let w = 0; w < this.workers; w++) {
      if (w === this.worker) continue;
      const t = Atomics.load(c, oldest + w);
      if (t !== 0 && (ticket === Infinity || older(t, ticket))) return true;
    }
    return false;
  }

  /** Raises a header count to at least `to`; returns `to`. */
  private raise(cell: number, to: number): number {
    const c = this.cells;
    let v = Atomics.load(c, cell);
    while (v < to) {
      const seen = Atomics.compareExchange(c, cell, v, to);
      if (seen === v) break;
      v = seen;
    }
    return to;
  }

  /** Subtracts n from a count, never below 0 (a worker released twice must not leave a debt); returns the count before. */
  private subtract(cell: number, n: number): number {
    const c = this.cells;
    let v = Atomics.load(c, cell);
    for (;;) {
      const next = v > n ? v - n : 0;
      const seen = Atomics.compareExchange(c, cell, v, next);
      if (seen === v) return v;
      v = seen;
    }
  }

  private podRow(pod: number): number {
    if (!(pod >= 0 && pod < this.layout.maxPods)) throw new RangeError(`SharedCapacity: pod index ${pod} is outside 0 … ${this.layout.maxPods - 1}`);
    return this.layout.podBase + pod * this.layout.podStride;
  }

  private revRow(revision: number): number {
    if (!(revision >= 0 && revision < this.layout.maxRevisions)) {
      throw new RangeError(`SharedCapacity: revision index ${revision} is outside 0 … ${this.layout.maxRevisions - 1}`);
    }
    return this.layout.revBase + revision * this.layout.revStride;
  }

  private checkWorker(worker: number): number {
    if (!Number.isInteger(worker) || worker < 0 || worker >= this.workers) {
      throw new RangeError(`SharedCapacity: worker must be 0 … ${this.workers - 1}, got ${worker}`);
    }
    return worker;
  }
}

/** Main-thread allocation of indices by pod id and revision name (never reused during the process's life; throws a clear error when exhausted). */
export class SharedIndex {
  private readonly pods = new Map<string, number>();
  private readonly revisions = new Map<string, number>();

  constructor(
    private readonly maxPods = DEFAULT_MAX_PODS,
    private readonly maxRevisions = DEFAULT_MAX_REVISIONS,
  ) {
    positiveInt('maxPods', maxPods);
    positiveInt('maxRevisions', maxRevisions);
  }

  /** The pod's index; the same id always gets the same one. */
  pod(id: string): number {
    return SharedIndex.indexOf(this.pods, id, this.maxPods, 'pod', 'maxPods');
  }

  /** The revision's index; the same name always gets the same one. */
  revision(name: string): number {
    return SharedIndex.indexOf(this.revisions, name, this.maxRevisions, 'revision', 'maxRevisions');
  }

  private static indexOf(map: Map<string, number>, key: string, max: number, what: string, option: string): number {
    let i = map.get(key);
    if (i !== undefined) return i;
    i = map.size;
    if (i >= max) {
      throw new RangeError(
        `SharedIndex: no ${what} index left for ${JSON.stringify(key)}: all ${max} were given out (indices are not reused while the process runs; raise ${option})`,
      );
    }
    map.set(key, i);
    return i;
  }
}
