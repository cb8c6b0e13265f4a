/**
 * Test doubles for the runner: a recording Actuator (the autoscaler's
 * consumer-side interface) whose pods register in the Store and turn ready
 * after a delay, and a fake edge that reports a revision's load every
 * second split over its ready pods (or as buffered activator demand when
 * none is ready), poking the autoscaler when demand meets no ready pod.
 */
import { afterEach } from 'vitest';
import type { Actuator } from '../../src/actuators/actuator.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config, RevisionSpec } from '../../src/config/types.js';
import type { Clock, Timer } from '../../src/shared/clock.js';
import type { Store } from '../../src/store/store.js';

export function config(yaml: string): Config {
  const r = parseConfig(yaml, 'test.yaml');
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.col}: ${p.message}`).join('\n'));
  return r.config;
}

export interface ScaleCall {
  readonly at: number;
  readonly by: string;
  readonly revision: string;
  readonly count: number;
  /** Ready pods when the call was made. */
  readonly ready: number;
}

export class RecordingActuator implements Actuator {
  private readonly counts = new Map<string, number>();
  private readonly pods = new Map<string, { id: string; address: string; ready: boolean; timer: Timer }[]>();
  private seq = 0;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    readonly calls: ScaleCall[],
    readonly name = 'actuator',
    private readonly startDelayMs = 1000,
  ) {}

  async scale(rev: RevisionSpec, count: number): Promise<void> {
    const list = this.pods.get(rev.name) ?? [];
    this.pods.set(rev.name, list);
    this.calls.push({ at: this.clock.now(), by: this.name, revision: rev.name, count, ready: list.filter((p) => p.ready).length });
    this.counts.set(rev.name, count);
    while (list.length < count) {
      const address = `127.0.0.1:${10000 + ++this.seq}`;
      const pod = { id: `${rev.name}-${this.name}-${this.seq}`, address, ready: false, timer: null as unknown as Timer };
      await this.store.registerPod({ id: pod.id, revision: rev.name, address, ready: false }, 1e9);
      pod.timer = this.clock.setTimeout(() => {
        pod.ready = true;
        // A test may end (and close the store) before this fires: the pod then just never turns ready.
        this.store.registerPod({ id: pod.id, revision: rev.name, address, ready: true }, 1e9).catch(() => {});
      }, this.startDelayMs);
      list.push(pod);
    }
    while (list.length > count) {
      const pod = list.pop();
      if (!pod) break;
      this.clock.clearTimeout(pod.timer);
      await this.store.removePod(rev.name, pod.id);
    }
  }

  /** Registers the first `count` pods of `revision` again (as local pods' heartbeats do into a store that came back empty). */
  async reregister(revision: string, count = Infinity): Promise<void> {
    for (const pod of (this.pods.get(revision) ?? []).slice(0, count)) {
      await this.store.registerPod({ id: pod.id, revision, address: pod.address, ready: pod.ready }, 1e9);
    }
  }

  currentScale(revision: string): number {
    return this.counts.get(revision) ?? 0;
  }

  ready(revision: string): number {
    return (this.pods.get(revision) ?? []).filter((p) => p.ready).length;
  }

  close(): Promise<void> {
    for (const list of this.pods.values()) for (const pod of list) this.clock.clearTimeout(pod.timer);
    return Promise.resolve();
  }
}

export class FakeEdge {
  load = 0;
  reporting = true;
  private readonly timer: Timer;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly revision: string,
  ) {
    // A report that cannot reach the store is lost, as a real edge's is.
    this.timer = clock.setInterval(() => void this.report().catch(() => undefined), 1000);
  }

  /** New demand: with no ready pod the edge buffers it and pokes the autoscaler. */
  async arrive(load: number): Promise<void> {
    this.load = load;
    const ready = (await this.store.listPods(this.revision)).filter((p) => p.ready);
    if (load > 0 && ready.length === 0) await this.store.poke(this.revision);
  }

  private async report(): Promise<void> {
    if (!this.reporting) return;
    const now = this.clock.now();
    const ready = (await this.store.listPods(this.revision)).filter((p) => p.ready);
    const base = { revision: this.revision, time: now, requests: 0, proxiedConcurrency: 0, proxiedRequests: 0 };
    if (ready.length === 0) {
      if (this.load > 0) await this.store.reportStats([{ ...base, pod: 'activator:edge', concurrency: this.load }]);
      return;
    }
    await this.store.reportStats(ready.map((p) => ({ ...base, pod: p.id, concurrency: this.load / ready.length })));
  }

  stop(): void {
    this.clock.clearInterval(this.timer);
  }
}

/** Lets the promise chains a tick starts settle (store calls, the actuator). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** Call once per file: what each test registers is stopped after it, in the order registered. */
export function stopAfterEach(): (stop: () => Promise<void>) => void {
  let stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops) await stop();
    stops = [];
  });
  return (stop) => {
    stops.push(stop);
  };
}
