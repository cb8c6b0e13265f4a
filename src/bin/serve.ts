import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/types.js';
import { ConfigError, loadConfigFile, formatProblem } from '../config/load.js';
import { watchConfig } from '../config/watch.js';
import { realClock, type Clock } from '../shared/clock.js';
import { createLogger, type Logger } from '../shared/log.js';
import { createStore } from '../store/index.js';
import { StoreView } from '../store/view.js';
import type { Store } from '../store/store.js';
import { Edge } from '../router/edge.js';
import { EdgeServer } from '../router/edge-server.js';
import { listenFronts } from './fronts.js';
import { EdgeMetrics } from '../admin/metrics.js';
import { AdminServer } from '../admin/server.js';
import { buildStatus } from '../admin/status.js';
import { HistorySampler } from '../admin/history-sampler.js';
import { AutoscalerRunner } from '../autoscaler/runner.js';
import { createActuator } from '../actuators/index.js';
import type { Actuator } from '../actuators/actuator.js';
import { staticPods } from '../actuators/static-pods.js';
import { EventLoops } from './event-loops.js';
import { updateControlGauges, updateLoopGauges } from './gauges.js';
import { exitOnSignal } from '../shared/signals.js';
import { rawSocketsFromEnv, UpstreamRuntime } from '../upstream/runtime.js';
import { TidegateError } from '../shared/errors.js';
import { hostPort } from '../shared/uws.js';
import { isOn, workerCount } from '../cli/flags.js';
import { AccessLog } from '../observe/access-log.js';
import { fdWriter, type WriteFn } from '../observe/line-writer.js';
import { OtlpExporter, tracesUrl } from '../observe/otlp-exporter.js';
import { Tracer } from '../observe/spans.js';

export interface ServeOptions {
  configFile: string;
  port: number;
  adminPort: number;
  /** Data-plane bind address (default 0.0.0.0). */
  host?: string;
  /** Admin bind address (default 127.0.0.1). */
  adminHost?: string;
  redisUrl?: string;
  clock?: Clock;
  logger?: Logger;
  /** How long shutdown waits for in-flight and buffered requests (default 30 s). */
  drainTimeoutMs?: number;
  /** `--access-log`: true writes the lines to stdout; a WriteFn takes them instead (tests). */
  accessLog?: boolean | WriteFn;
  /** `--otlp-endpoint`: the OTLP/HTTP base URL spans go to (its /v1/traces). */
  otlpEndpoint?: string;
  /** `--trace-sample`: the share of root requests traced (default 0.01). */
  traceSample?: number;
  /** How long a span waits for its batch before export (default 1 s). */
  traceDelayMs?: number;
  /** `--workers`: event loops serving the data port (default 1: this thread alone). */
  workers?: number;
  /** `--tls-port`: the HTTPS port (default 8443 when the config has `tls:`; an error without it). */
  tlsPort?: number;
  /** `--h2c-port`: cleartext HTTP/2 with prior knowledge (default off). */
  h2cPort?: number;
}

export interface ServeHandle {
  port: number;
  /** The HTTPS port, or null without `tls:`. */
  tlsPort: number | null;
  /** The h2c port, or null without `--h2c-port`. */
  h2cPort: number | null;
  adminPort: number;
  edge: Edge;
  store: Store;
  view: StoreView;
  actuator: Actuator;
  metrics: EdgeMetrics;
  /** The event loops (`--workers`). */
  loops: EventLoops;
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
  // E.g. a Knative manifest's image, which is not pulled: its command runs as a local process.
  for (const w of loaded.warnings) logger.warn({ file: w.file, line: w.line, col: w.col }, formatProblem(w));
  let config = loaded.config;
  const edgeId = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const metrics = new EdgeMetrics();
  // Where access-log lines go: stdout, or a test's function; the other event loops' lines too.
  const accessWrite: WriteFn = typeof opts.accessLog === 'function' ? opts.accessLog : fdWriter(1);
  const accessLog = opts.accessLog ? new AccessLog({ clock, logger, registry: metrics.registry, write: accessWrite }) : null;
  const exporter = opts.otlpEndpoint
    ? new OtlpExporter({
        endpoint: opts.otlpEndpoint,
        clock,
        logger,
        registry: metrics.registry,
        resource: { 'service.name': 'tidegate', 'service.instance.id': edgeId, 'host.name': os.hostname() },
        ...(opts.traceDelayMs !== undefined ? { delayMs: opts.traceDelayMs } : {}),
      })
    : null;
  const tracer = exporter === null ? null : new Tracer({ sink: exporter, sample: opts.traceSample ?? 0.01 });
  // Every port is bound before anything starts (store, autoscaler, pods), so a
  // port that cannot be bound ends startup with nothing to undo but the ports.
  // Until the store exists there is nowhere to poke: the autoscaler's first tick reads the buffers anyway.
  let store: Store | null = null;
  let view: StoreView | null = null;
  const upstream = new UpstreamRuntime({ clock, rawSockets: rawSocketsFromEnv() });
  const loops = new EventLoops(
    opts.workers ?? 1,
    logger,
    (rev) => {
      store?.poke(rev).catch(() => undefined);
    },
    metrics,
    accessWrite,
  );
  const edge = new Edge({
    clock,
    logger,
    metrics,
    upstream,
    poke: (rev) => {
      store?.poke(rev).catch((err: unknown) => logger.debug({ err: String(err), revision: rev }, 'poke failed'));
    },
    accessLog,
    tracer,
  });
  edge.setConfig(config);
  let started = false;
  let closing = false;
  const server = new EdgeServer(edge);
  const statusDoc = () =>
    buildStatus({
      config,
      pods: (r) => view?.pods(r) ?? [],
      status: (r) => view?.status(r) ?? null,
      buffered: (r) => (edge.revision(r)?.throttler.queued ?? 0) + loops.buffered(r),
      inFlight: (r, id) => (edge.revision(r)?.throttler.inFlightOf(id) ?? 0) + loops.inFlight(r, id),
      activatorInPath: (r) => edge.revision(r)?.activatorInPath ?? true,
      effectiveTraffic: (s) => edge.effectiveTraffic(s),
    });
  // The dashboard's last 15 minutes, sampled every second (admin/history.ts).
  const registry = loops.metricsOf(metrics.registry);
  const sampler = new HistorySampler({
    clock,
    config: () => config,
    status: statusDoc,
    requests: registry.metric('tidegate_requests_total', metrics.requests),
    duration: registry.metric('tidegate_request_duration_seconds', metrics.duration),
    coldStart: registry.metric('tidegate_cold_start_seconds', metrics.coldStart),
  });
  const admin = new AdminServer({
    registry,
    ready: () => started && !closing,
    status: statusDoc,
    history: (since) => sampler.history.since(since),
  });
  const undo: Array<() => unknown> = [
    () => exporter?.close(),
    () => accessLog?.flush(),
    () => {
      edge.close();
      edge.closePools();
    },
  ];
  const host = opts.host ?? '0.0.0.0';
  const adminHost = opts.adminHost ?? '127.0.0.1';
  try {
    const port = await loops.listen(server, host, opts.port);
    undo.push(() => server.stopListening());
    undo.push(() => loops.terminate());
    const fronts = await listenFronts(edge, config, host, opts, logger);
    undo.push(() => fronts.destroy());
    const adminPort = await admin.listen(adminHost, opts.adminPort);
    undo.push(() => admin.close());

    const st = await createStore({ ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}), clock, logger });
    store = st;
    undo.push(() => st.close());
    const v = new StoreView({ store: st, clock, logger });
    view = v;
    undo.push(() => v.stop());
    const refresh = (rev: string) => loops.pods(edge, rev, v.pods(rev), v.status(rev));
    v.onChange(refresh);
    await v.start();
    await loops.start({ host, port, tlsPort: fronts.http2 ? null : fronts.tlsPort, config, edgeId, rawSockets: upstream.raw !== null, accessLog: accessLog !== null, otlpEndpoint: opts.otlpEndpoint ?? null, traceSample: opts.traceSample ?? 0.01 }, edge);
    for (const rev of config.revisions.keys()) refresh(rev);

    const registerStatic = () => {
      for (const pod of staticPods(config)) st.registerPod(pod, STATIC_POD_TTL_MS).catch(() => undefined);
    };
    registerStatic();

    const actuator = createActuator({
      config: () => config,
      store: st,
      clock,
      logger,
      cliPath: cliPath(),
      cwd: path.dirname(path.dirname(path.resolve(opts.configFile))),
      isIdle: (podId: string) => isIdle(edge, podId) && loops.idle(podId),
      registry: metrics.registry,
      ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}),
    });
    undo.push(() => actuator.close());
    const runner = new AutoscalerRunner({ store: st, actuator, clock, logger, config: () => config, holder: edgeId, lease: opts.redisUrl !== undefined });
    runner.start();
    undo.push(() => runner.stop());
    sampler.start();
    undo.push(() => sampler.stop());

    let edgeShare = '0/1';
    const heartbeatEdge = (address: string) => {
      st.registerPod({ id: edgeId, revision: EDGES, address, ready: true }, STATIC_POD_TTL_MS).catch(() => undefined);
      st.listPods(EDGES).then(
        (edges) => {
          const ids = edges.map((e) => e.id).sort();
          const index = ids.indexOf(edgeId);
          const share = `${index}/${ids.length}`;
          if (index < 0 || share === edgeShare) return;
          edgeShare = share;
          edge.setEdges(index, ids.length);
          loops.edges(index, ids.length);
          logger.info({ index, edges: ids.length }, 'edge share of pod capacity changed');
        },
        () => undefined, // fail static: keep the last share
      );
    };

    const periodic = clock.setInterval(() => {
      registerStatic();
      heartbeatEdge(`${os.hostname()}:${port}`);
      // fail static: the store logs its own state changes
      void loops.collectStats(edge, edgeId).then((stats) => (stats.length > 0 ? st.reportStats(stats) : undefined)).catch(() => undefined);
      updateLoopGauges(edge, metrics);
      updateControlGauges(edge, v, metrics);
    }, STATS_PERIOD_MS);
    periodic.unref?.();

    const watcher = watchConfig(opts.configFile, {
      onConfig: (next, warnings) => {
        for (const w of warnings) logger.warn({ file: w.file, line: w.line, col: w.col }, formatProblem(w));
        config = next;
        fronts.reconfigure(next);
        loops.config(edge, next);
        for (const rev of next.revisions.keys()) refresh(rev);
        registerStatic();
        metrics.configReloads.labels('ok').inc();
        logger.info({ file: opts.configFile, services: next.services.length, revisions: next.revisions.size }, 'config reloaded');
      },
      onProblems: (problems) => {
        metrics.configReloads.labels('failed').inc();
        for (const p of problems) logger.error({ file: p.file, line: p.line, col: p.col }, `config reload refused: ${formatProblem(p)}`);
      },
    }, { loadedText: loaded.text, loadedFiles: loaded.files });

    started = true;
    const urls = { url: urlOf(host, port, '/'), dashboard: urlOf(adminHost, adminPort, '/'), metrics: urlOf(adminHost, adminPort, '/metrics') };
    logger.info(
      {
        address: host,
        port,
        tlsPort: fronts.tlsPort,
        h2cPort: fronts.h2cPort,
        adminAddress: adminHost,
        adminPort,
        ...urls,
        config: opts.configFile,
        redis: opts.redisUrl ?? null,
        edgeId,
        upstreamSockets: upstream.raw !== null ? 'raw' : 'net',
        accessLog: accessLog !== null,
        traces: opts.otlpEndpoint ? tracesUrl(opts.otlpEndpoint) : null,
      },
      `tidegate serving ${urls.url} (dashboard ${urls.dashboard}, metrics ${urls.metrics})`,
    );

    const close = async () => {
      if (closing) return;
      closing = true;
      logger.info('shutting down: no new connections, finishing in-flight requests');
      server.stopListening();
      fronts.stopListening();
      watcher.close();
      edge.closeWebSockets();
      const drainMs = opts.drainTimeoutMs ?? 30_000;
      const bound = new Promise<void>((resolve) => clock.setTimeout(resolve, drainMs));
      await Promise.all([Promise.race([edge.drained(), bound]), loops.drain(drainMs)]);
      edge.close();
      fronts.destroy();
      clock.clearInterval(periodic);
      sampler.stop();
      await runner.stop();
      await actuator.close();
      edge.closePools();
      v.stop();
      await st.close();
      await accessLog?.flush();
      await exporter?.close();
      admin.close();
      logger.info('stopped');
    };
    return { port, tlsPort: fronts.tlsPort, h2cPort: fronts.h2cPort, adminPort, edge, store: st, view: v, actuator, metrics, loops, config: () => config, close };
  } catch (err) {
    // Undo what started, newest first; the error that stopped startup is the one reported.
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (undoErr) {
        logger.debug({ err: String(undoErr) }, 'undoing a failed start');
      }
    }
    throw err;
  }
}

/** Where to point a browser or curl: a wildcard bind address is reached through loopback. */
function urlOf(host: string, port: number, urlPath: string): string {
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${hostPort(reach, port)}${urlPath}`;
}

function isIdle(edge: Edge, podId: string): boolean {
  for (const rt of edge.allRevisions()) if (rt.throttler.inFlightOf(podId) > 0) return false;
  return true;
}

/**
 * `tidegate serve`: runs until SIGTERM/SIGINT, then shuts down gracefully and
 * exits 0. `values` come checked from cli/flags.ts (flag, else env, else
 * default). A port that cannot be bound: one line, exit 1, nothing left running.
 */
export async function main(values: Record<string, string | boolean | undefined>): Promise<number> {
  const str = (k: string) => (typeof values[k] === 'string' ? values[k] : undefined);
  const configFile = str('config');
  if (!configFile) {
    process.stderr.write('tidegate serve: --config FILE (or TIDEGATE_CONFIG) is required\n');
    return 2;
  }
  const redisUrl = str('redis');
  const otlpEndpoint = str('otlp-endpoint');
  const logger = createLogger('tidegate');
  let handle: ServeHandle;
  try {
    handle = await startServe({
      configFile,
      port: Number(str('port') ?? 8080),
      adminPort: Number(str('admin-port') ?? 9090),
      ...(str('tls-port') !== undefined ? { tlsPort: Number(str('tls-port')) } : {}),
      ...(str('h2c-port') !== undefined ? { h2cPort: Number(str('h2c-port')) } : {}),
      host: str('address') ?? '0.0.0.0',
      adminHost: str('admin-address') ?? '127.0.0.1',
      logger,
      ...(redisUrl ? { redisUrl } : {}),
      accessLog: isOn(values['access-log']),
      ...(otlpEndpoint ? { otlpEndpoint } : {}),
      traceSample: Number(str('trace-sample') ?? 0.01),
      workers: workerCount(str('workers') ?? '1', os.availableParallelism()),
    });
  } catch (err) {
    logger.flush();
    if (err instanceof ConfigError) {
      for (const line of err.lines) process.stderr.write(`${line}\n`);
      return 1;
    }
    if (err instanceof TidegateError && err.code === 'TG_ERR_LISTEN') {
      process.stderr.write(`tidegate serve: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  exitOnSignal(logger, () => handle.close());
  return -1;
}
