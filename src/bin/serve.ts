import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/types.js';
import { loadConfigFile, formatProblem } from '../config/load.js';
import { watchConfig } from '../config/watch.js';
import { realClock, type Clock } from '../shared/clock.js';
import { createLogger, type Logger } from '../shared/log.js';
import { createStore } from '../store/index.js';
import { StoreView } from '../store/view.js';
import type { Store } from '../store/store.js';
import { Edge } from '../router/edge.js';
import { EdgeServer } from '../router/edge-server.js';
import { EdgeMetrics } from '../admin/metrics.js';
import { AdminServer } from '../admin/server.js';
import { buildStatus } from '../admin/status.js';
import { AutoscalerRunner } from '../autoscaler/runner.js';
import { createActuator } from '../actuators/index.js';
import type { Actuator } from '../actuators/actuator.js';
import { staticPods } from '../actuators/static-pods.js';
import { exitOnSignal } from '../shared/signals.js';
import { RAW_SOCKETS } from '../upstream/raw-socket.js';

export interface ServeOptions {
  configFile: string;
  port: number;
  adminPort: number;
  host?: string;
  redisUrl?: string;
  clock?: Clock;
  logger?: Logger;
  /** How long shutdown waits for in-flight and buffered requests (default 30 s). */
  drainTimeoutMs?: number;
}

export interface ServeHandle {
  port: number;
  adminPort: number;
  edge: Edge;
  store: Store;
  view: StoreView;
  actuator: Actuator;
  metrics: EdgeMetrics;
  config(): Config;
  /** Graceful: stop accepting, finish in-flight (bounded), stop pods. */
  close(): Promise<void>;
}

const STATS_PERIOD_MS = 1000;
const STATIC_POD_TTL_MS = 5000;
/** Edges register under this pseudo-revision so each can find its share of every pod's containerConcurrency. */
const EDGES = '__edges__';

/** dist/cli.js, also when running from the TypeScript sources (tests). */
function cliPath(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? path.resolve(path.dirname(here), '../../dist/cli.js') : path.resolve(path.dirname(here), '../cli.js');
}

/**
 * The all-in-one composition root: router + activator (the edge), and the
 * autoscaler with the actuators (lease-guarded when several edges share a
 * Redis), the admin server and config hot reload.
 */
export async function startServe(opts: ServeOptions): Promise<ServeHandle> {
  const clock = opts.clock ?? realClock;
  const logger = opts.logger ?? createLogger('tidegate');
  const loaded = await loadConfigFile(opts.configFile);
  if (!loaded.ok) throw new ConfigError(loaded.problems.map(formatProblem));
  let config = loaded.config;
  const edgeId = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const metrics = new EdgeMetrics();
  const store = createStore({ ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}), clock, logger });
  const view = new StoreView({ store, clock, logger });
  const edge = new Edge({
    clock,
    logger,
    metrics,
    poke: (rev) => {
      store.poke(rev).catch((err: unknown) => logger.debug({ err: String(err), revision: rev }, 'poke failed'));
    },
  });
  edge.setConfig(config);
  const refresh = (rev: string) => edge.updateRevision(rev, view.pods(rev), view.status(rev));
  view.onChange(refresh);
  await view.start();
  for (const rev of config.revisions.keys()) refresh(rev);

  const registerStatic = () => {
    for (const pod of staticPods(config)) store.registerPod(pod, STATIC_POD_TTL_MS).catch(() => undefined);
  };
  registerStatic();

  const actuator = createActuator({
    config: () => config,
    store,
    clock,
    logger,
    cliPath: cliPath(),
    cwd: path.dirname(path.dirname(path.resolve(opts.configFile))),
    isIdle: (podId: string) => isIdle(edge, podId),
    registry: metrics.registry,
    ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}),
  });
  const runner = new AutoscalerRunner({ store, actuator, clock, logger, config: () => config, holder: edgeId, lease: opts.redisUrl !== undefined });
  runner.start();

  let edgeShare = '0/1';
  const heartbeatEdge = (address: string) => {
    store.registerPod({ id: edgeId, revision: EDGES, address, ready: true }, STATIC_POD_TTL_MS).catch(() => undefined);
    store.listPods(EDGES).then(
      (edges) => {
        const ids = edges.map((e) => e.id).sort();
        const index = ids.indexOf(edgeId);
        const share = `${index}/${ids.length}`;
        if (index < 0 || share === edgeShare) return;
        edgeShare = share;
        edge.setEdges(index, ids.length);
        logger.info({ index, edges: ids.length }, 'edge share of pod capacity changed');
      },
      () => undefined, // fail static: keep the last share
    );
  };

  const periodic = clock.setInterval(() => {
    registerStatic();
    heartbeatEdge(`${os.hostname()}:${port}`);
    const stats = edge.collectStats(edgeId);
    if (stats.length > 0) store.reportStats(stats).catch(() => undefined); // fail static: the store logs its own state changes
    updateGauges(edge, view, metrics);
  }, STATS_PERIOD_MS);
  periodic.unref?.();

  const watcher = watchConfig(opts.configFile, {
    onConfig: (next) => {
      config = next;
      edge.setConfig(next);
      for (const rev of next.revisions.keys()) refresh(rev);
      registerStatic();
      metrics.configReloads.labels('ok').inc();
      logger.info({ file: opts.configFile, services: next.services.length, revisions: next.revisions.size }, 'config reloaded');
    },
    onProblems: (problems) => {
      metrics.configReloads.labels('failed').inc();
      for (const p of problems) logger.error({ file: p.file, line: p.line, col: p.col }, `config reload refused: ${formatProblem(p)}`);
    },
  }, { loadedText: loaded.text });

  const server = new EdgeServer(edge);
  const port = await server.listen(opts.host ?? '0.0.0.0', opts.port);
  let closing = false;
  const admin = new AdminServer({
    registry: metrics.registry,
    ready: () => !closing,
    status: () =>
      buildStatus({
        config,
        pods: (r) => view.pods(r),
        status: (r) => view.status(r),
        buffered: (r) => edge.revision(r)?.throttler.queued ?? 0,
        inFlight: (r, id) => edge.revision(r)?.throttler.inFlightOf(id) ?? 0,
        activatorInPath: (r) => edge.revision(r)?.activatorInPath ?? true,
      }),
  });
  const adminPort = await admin.listen('127.0.0.1', opts.adminPort);
  logger.info({ port, adminPort, config: opts.configFile, redis: opts.redisUrl ?? null, edgeId, upstreamSockets: RAW_SOCKETS ? 'raw' : 'net' }, 'tidegate serving');

  const close = async () => {
    if (closing) return;
    closing = true;
    logger.info('shutting down: no new connections, finishing in-flight requests');
    server.stopListening();
    watcher.close();
    const bound = new Promise<void>((resolve) => clock.setTimeout(resolve, opts.drainTimeoutMs ?? 30_000));
    await Promise.race([edge.drained(), bound]);
    edge.close();
    clock.clearInterval(periodic);
    await runner.stop();
    await actuator.close();
    edge.closePools();
    view.stop();
    await store.close();
    admin.close();
    logger.info('stopped');
  };
  return { port, adminPort, edge, store, view, actuator, metrics, config: () => config, close };
}

function isIdle(edge: Edge, podId: string): boolean {
  for (const rt of edge.allRevisions()) if (rt.throttler.inFlightOf(podId) > 0) return false;
  return true;
}

function updateGauges(edge: Edge, view: StoreView, m: EdgeMetrics): void {
  m.podInFlight.reset();
  for (const rt of edge.allRevisions()) {
    const st = view.status(rt.name);
    m.readyPods.labels(rt.name).set(rt.readyPods);
    if (st) {
      m.desiredPods.labels(rt.name).set(st.desiredPods);
      m.stableConcurrency.labels(rt.name).set(st.stableConcurrency);
      m.panicMode.labels(rt.name).set(st.mode === 'panic' ? 1 : 0);
    }
    m.buffered.labels(rt.name).set(rt.throttler.queued);
    m.queueDepth.labels(rt.name).set(rt.throttler.queued);
    for (const pod of rt.podHandles()) m.podInFlight.labels(rt.name, pod.id).set(pod.inFlight);
  }
}

export class ConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

/** `tidegate serve`: runs until SIGTERM/SIGINT, then shuts down gracefully and exits 0. */
export async function main(values: Record<string, string | boolean | undefined>): Promise<number> {
  const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);
  const configFile = str(values['config']) ?? process.env['TIDEGATE_CONFIG'];
  if (!configFile) {
    process.stderr.write('tidegate serve: --config FILE (or TIDEGATE_CONFIG) is required\n');
    return 2;
  }
  const port = Number(str(values['port']) ?? process.env['PORT'] ?? 8080);
  const adminPort = Number(str(values['admin-port']) ?? process.env['ADMIN_PORT'] ?? 9090);
  const redisUrl = str(values['redis']) ?? process.env['REDIS_URL'];
  const logger = createLogger('tidegate');
  let handle: ServeHandle;
  try {
    handle = await startServe({ configFile, port, adminPort, logger, ...(redisUrl ? { redisUrl } : {}) });
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.lines) process.stderr.write(`${line}\n`);
      return 1;
    }
    throw err;
  }
  exitOnSignal(logger, () => handle.close());
  return -1;
}
