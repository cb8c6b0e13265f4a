/**
 * The edge handler alone on a real port: a parsed config, pods handed in
 * directly (no store, no actuator, no autoscaler). For what the edge does
 * with the pods it is given, managed revisions (`command:`) included,
 * without starting any process.
 */
import { EdgeMetrics } from '../../src/admin/metrics.js';
import { parseConfig } from '../../src/config/load.js';
import { UpstreamRuntime } from '../../src/upstream/runtime.js';
import { Edge } from '../../src/router/edge.js';
import { EdgeServer } from '../../src/router/edge-server.js';
import { realClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';

export interface BareEdge {
  readonly edge: Edge;
  readonly metrics: EdgeMetrics;
  readonly port: number;
  /** The revision's ready pods from now on, named `${revision}-${i}`. */
  setPods(revision: string, addresses: readonly string[]): void;
  close(): void;
}

export async function startBareEdge(yaml: string): Promise<BareEdge> {
  const parsed = parseConfig(yaml, 'test.yaml');
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.line}:${p.col}: ${p.message}`).join('\n'));
  const metrics = new EdgeMetrics();
  const edge = new Edge({ clock: realClock, logger: silentLogger, metrics, upstream: new UpstreamRuntime(), poke: () => undefined });
  edge.setConfig(parsed.config);
  const server = new EdgeServer(edge);
  const port = await server.listen('127.0.0.1', 0);
  return {
    edge,
    metrics,
    port,
    setPods(revision, addresses) {
      const pods = addresses.map((address, i) => ({ id: `${revision}-${i}`, revision, address, ready: true }));
      edge.updateRevision(revision, pods, { desiredPods: pods.length, mode: 'stable', stableConcurrency: 0, panicConcurrency: 0, excessBurstCapacity: 0, activatorInPath: false, time: 0 });
    },
    close() {
      server.stopListening();
      edge.close();
      edge.closePools();
    },
  };
}
