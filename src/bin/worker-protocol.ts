/**
 * The messages between `serve`'s main process and its other event loops
 * (edge-worker.ts, one child process each), over the IPC channel with
 * Node's "advanced" serialization (structured clone: Maps and Buffers pass).
 */
import type { Config } from '../config/types.js';
import type { ErrorCode } from '../shared/errors.js';
import type { PodRecord, PodStat, RevisionStatus } from '../store/store.js';
import type { Edge } from '../router/edge.js';

/** What a loop starts with (its first message). */
export interface WorkerInit {
  readonly index: number;
  readonly host: string;
  readonly port: number;
  /** The TLS port every loop serves on uWS (tls.http2: false), or null: TLS, if any, is the main loop's alone. */
  readonly tlsPort: number | null;
  readonly config: Config;
  /** [index, count]: this process's share of every pod's containerConcurrency among the edges. */
  readonly edgeShare: readonly [number, number];
  readonly edgeId: string;
  readonly rawSockets: boolean;
  readonly accessLog: boolean;
  readonly otlpEndpoint: string | null;
  readonly traceSample: number;
}

/** Admission for revisions with a containerConcurrency, decided by the main process for every loop. */
export type AdmissionRequest =
  | { type: 'acquire'; revision: string; id: number; bytes: number; avoid: string | null }
  | { type: 'release'; revision: string; pod: string }
  | { type: 'cancel'; revision: string; id: number }
  | { type: 'eject'; revision: string; pod: string };

export type AdmissionAnswer =
  | { type: 'grant'; revision: string; id: number; pod: string }
  | { type: 'reject'; revision: string; id: number; code: ErrorCode; message: string };

export type MainMessage =
  | { type: 'init'; init: WorkerInit }
  | { type: 'config'; config: Config }
  | { type: 'pods'; revision: string; pods: readonly PodRecord[]; status: RevisionStatus | null }
  | { type: 'edges'; index: number; count: number }
  | { type: 'collect'; id: number; edgeId: string }
  | { type: 'drain'; timeoutMs: number }
  | AdmissionAnswer;

/** One loop's counts, for /status and the actuator's idle check (as of its last report). */
export interface LoopCounts {
  readonly inFlight: number;
  /** [revision, buffered requests] */
  readonly buffered: readonly (readonly [string, number])[];
  /** [revision, pod, in flight from this loop] */
  readonly pods: readonly (readonly [string, string, number])[];
}

export type WorkerMessage =
  | { type: 'listening' }
  | { type: 'failed'; message: string }
  | { type: 'poke'; revision: string }
  | { type: 'log'; chunk: Buffer }
  | { type: 'collected'; id: number; stats: PodStat[]; counts: LoopCounts; metrics: unknown[] }
  | { type: 'drained' }
  | AdmissionRequest;

export function loopCounts(edge: Edge): LoopCounts {
  const buffered: [string, number][] = [];
  const pods: [string, string, number][] = [];
  for (const rt of edge.allRevisions()) {
    if (rt.throttler.queued > 0) buffered.push([rt.name, rt.throttler.queued]);
    for (const pod of rt.podHandles()) {
      const n = rt.throttler.inFlightOf(pod.id);
      if (n > 0) pods.push([rt.name, pod.id, n]);
    }
  }
  return { inFlight: edge.requestsInFlight, buffered, pods };
}
