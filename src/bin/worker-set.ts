/**
 * The main process's side of `serve --workers N`: the N − 1 other event
 * loops (edge-worker.ts, a child process each), what they are told (config,
 * pods, edge share, admission answers), what they report (stats, counts,
 * metrics, pokes, access-log lines, admission requests), and their life: a
 * loop that dies is started again.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../shared/log.js';
import { TidegateError } from '../shared/errors.js';
import type { PodStat } from '../store/store.js';
import type { AdmissionAnswer, AdmissionRequest, LoopCounts, MainMessage, WorkerInit, WorkerMessage } from './worker-protocol.js';

/** How long a collect waits for a loop's answer before going on without it. */
const COLLECT_TIMEOUT_MS = 500;

export interface WorkerSetOptions {
  /** Other loops (the main process is loop 0). */
  readonly count: number;
  readonly logger: Logger;
  readonly onPoke: (revision: string) => void;
  readonly onLog: (chunk: Buffer) => void;
  /** A loop asks for admission (revisions with a containerConcurrency); `answer` reaches that loop. */
  readonly onAdmission: (loop: number, request: AdmissionRequest, answer: (a: AdmissionAnswer) => void) => void;
  /** A loop died: what it held is given back by the caller; `lost` requests it had in flight (as of its last report) failed. */
  readonly onCrash: (loop: number, lost: number) => void;
}

/** The compiled loop: also when the main process runs from the TypeScript sources (tests). */
function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? path.resolve(path.dirname(here), '../../dist/bin/edge-worker.js') : path.resolve(path.dirname(here), 'edge-worker.js');
}

interface Loop {
  readonly index: number;
  child: ChildProcess;
  counts: LoopCounts;
  metrics: unknown[];
  pending: ((m: Extract<WorkerMessage, { type: 'collected' }> | null) => void) | null;
  drained: (() => void) | null;
  /** Listening on the data port. */
  up: boolean;
}

const NO_COUNTS: LoopCounts = Object.freeze({ inFlight: 0, buffered: [], pods: [] });

export class WorkerSet {
  private readonly loops: Loop[] = [];
  /** What a loop starts with, kept up to date so a restarted loop starts where the others are. */
  private init: Omit<WorkerInit, 'index'> | null = null;
  /** The last pods message of each revision, replayed to a restarted loop. */
  private readonly pods = new Map<string, MainMessage>();
  private closing = false;
  private nextId = 1;

  constructor(private readonly o: WorkerSetOptions) {}

  /** Starts every loop; resolves once all listen (or rejects with the first failure, TG_ERR_LISTEN). */
  async start(init: Omit<WorkerInit, 'index'>): Promise<void> {
    this.init = init;
    if (!fs.existsSync(workerFile())) throw new Error(`--workers needs the compiled loop ${workerFile()} (npm run build)`);
    const started: Promise<void>[] = [];
    for (let i = 1; i <= this.o.count; i++) started.push(this.spawn(i));
    await Promise.all(started);
  }

  private spawn(index: number): Promise<void> {
    const child = fork(workerFile(), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const loop: Loop = this.loops[index - 1] ?? { index, child, counts: NO_COUNTS, metrics: [], pending: null, drained: null, up: false };
    loop.child = child;
    loop.counts = NO_COUNTS;
    loop.metrics = [];
    loop.up = false;
    this.loops[index - 1] = loop;
    const answer = (a: AdmissionAnswer): void => {
      if (child.connected) child.send(a);
    };
    child.send({ type: 'init', init: { ...this.init!, index } } satisfies MainMessage);
    return new Promise((resolve, reject) => {
      let up = false;
      child.on('message', (m: WorkerMessage) => {
        switch (m.type) {
          case 'listening':
            up = true;
            loop.up = true;
            for (const p of this.pods.values()) child.send(p);
            resolve();
            return;
          case 'failed':
            reject(new TidegateError('TG_ERR_LISTEN', m.message));
            return;
          case 'poke':
            this.o.onPoke(m.revision);
            return;
          case 'log':
            this.o.onLog(Buffer.from(m.chunk));
            return;
          case 'collected':
            loop.counts = m.counts;
            loop.metrics = m.metrics;
            loop.pending?.(m);
            loop.pending = null;
            return;
          case 'drained':
            loop.drained?.();
            return;
          default:
            this.o.onAdmission(index, m, answer);
        }
      });
      child.on('exit', (code, signal) => {
        loop.up = false;
        loop.pending?.(null);
        loop.pending = null;
        loop.drained?.();
        if (!up) {
          reject(new Error(`event loop ${index} exited before it listened (${signal ?? code})`));
          return;
        }
        if (this.closing) return;
        const lost = loop.counts.inFlight;
        this.o.onCrash(index, lost);
        this.o.logger.error({ loop: index, code, signal, lostRequests: lost }, 'event loop exited: starting it again; its in-flight requests failed');
        this.spawn(index).catch((err: unknown) => this.o.logger.error({ loop: index, err: String(err) }, 'event loop could not be started again'));
      });
    });
  }

  private broadcast(m: MainMessage): void {
    for (const loop of this.loops) if (loop.child.connected) loop.child.send(m);
  }

  config(config: WorkerInit['config']): void {
    this.init = { ...this.init!, config };
    this.broadcast({ type: 'config', config });
  }

  podsOf(message: Extract<MainMessage, { type: 'pods' }>): void {
    this.pods.set(message.revision, message);
    this.broadcast(message);
  }

  edges(index: number, count: number): void {
    this.init = { ...this.init!, edgeShare: [index, count] };
    this.broadcast({ type: 'edges', index, count });
  }

  /** Every loop's stats for the last period (a loop that does not answer in time is left out of this one). */
  async collect(edgeId: string): Promise<PodStat[]> {
    const id = this.nextId++;
    const answers = await Promise.all(
      this.loops.map(
        (loop) =>
          new Promise<Extract<WorkerMessage, { type: 'collected' }> | null>((resolve) => {
            if (!loop.child.connected) return resolve(null);
            const timer = setTimeout(() => resolve(null), COLLECT_TIMEOUT_MS);
            loop.pending = (m) => {
              clearTimeout(timer);
              resolve(m);
            };
            loop.child.send({ type: 'collect', id, edgeId } satisfies MainMessage);
          }),
      ),
    );
    const out: PodStat[] = [];
    for (const a of answers) if (a !== null) out.push(...a.stats);
    return out;
  }

  /** Loops listening on the data port now (the main process's not counted). */
  get listening(): number {
    let n = 0;
    for (const loop of this.loops) if (loop.up) n++;
    return n;
  }

  /** Each loop's counts and metrics as of its last report. */
  get reports(): readonly { readonly counts: LoopCounts; readonly metrics: unknown[] }[] {
    return this.loops;
  }

  /** Passes SIGTERM on: each loop stops accepting and finishes what it has (within `timeoutMs`), then exits. */
  async drain(timeoutMs: number): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.loops.map(
        (loop) =>
          new Promise<void>((resolve) => {
            if (loop.child.exitCode !== null || !loop.child.connected) return resolve();
            const cut = setTimeout(() => loop.child.kill('SIGKILL'), timeoutMs + 2000);
            loop.child.once('exit', () => {
              clearTimeout(cut);
              resolve();
            });
            loop.child.send({ type: 'drain', timeoutMs } satisfies MainMessage);
          }),
      ),
    );
  }

  /** Ends loop `index` abruptly, as a crash would (it is started again like one): for tests and drills. */
  crash(index: number): void {
    this.loops[index - 1]?.child.kill('SIGKILL');
  }

  /** Stops every loop at once (a failed start). */
  terminate(): void {
    this.closing = true;
    for (const loop of this.loops) loop.child.kill('SIGKILL');
  }
}
