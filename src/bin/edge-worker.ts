/**
 * One extra event loop of `serve --workers N`: a child process running an
 * Edge on the same data port as the other loops (SO_REUSEPORT). The main
 * process owns everything else — config, pods, the autoscaler, the
 * actuators, the store, the admin port — and decides admission for
 * revisions with a containerConcurrency (so every pod's limit holds across
 * the loops); this loop hears about it and reports back over IPC
 * (worker-protocol.ts). One process per loop, not a thread: uWS.js v20.30
 * aborts the whole process when a thread with open sockets ends, so a thread
 * that died could not be replaced.
 */
import os from 'node:os';
import { EdgeMetrics } from '../admin/metrics.js';
import { AccessLog } from '../observe/access-log.js';
import { OtlpExporter } from '../observe/otlp-exporter.js';
import { Tracer } from '../observe/spans.js';
import { Edge } from '../router/edge.js';
import { EdgeServer } from '../router/edge-server.js';
import { UwsTlsServer } from '../router/uws-tls-server.js';
import { realClock } from '../shared/clock.js';
import { TidegateError } from '../shared/errors.js';
import { createLogger } from '../shared/log.js';
import { UpstreamRuntime } from '../upstream/runtime.js';
import { updateLoopGauges } from './gauges.js';
import { loopCounts, type MainMessage, type WorkerInit, type WorkerMessage } from './worker-protocol.js';

const send = (m: WorkerMessage): void => {
  if (process.connected) process.send!(m);
};

/** Starts the loop on the main process's first message. */
function run(init: WorkerInit): void {
  const clock = realClock;
  const logger = createLogger('tidegate').child({ loop: init.index });
  const metrics = new EdgeMetrics(false);
  const accessLog = init.accessLog
    ? new AccessLog({
        clock,
        logger,
        registry: metrics.registry,
        // Lines go to the main process, which writes them to stdout in turn: writes of several processes to one pipe could interleave.
        write: (chunk, done) => {
          send({ type: 'log', chunk });
          done(null, chunk.length);
        },
      })
    : null;
  const exporter = init.otlpEndpoint
    ? new OtlpExporter({ endpoint: init.otlpEndpoint, clock, logger, registry: metrics.registry, resource: { 'service.name': 'tidegate', 'service.instance.id': `${init.edgeId}-${init.index}`, 'host.name': os.hostname() } })
    : null;
  const tracer = exporter === null ? null : new Tracer({ sink: exporter, sample: init.traceSample });
  const edge = new Edge({
    clock,
    logger,
    metrics,
    upstream: new UpstreamRuntime({ clock, rawSockets: init.rawSockets }),
    poke: (revision) => send({ type: 'poke', revision }),
    accessLog,
    tracer,
    remote: {
      acquire: (revision, id, bytes, avoid) => send({ type: 'acquire', revision, id, bytes, avoid }),
      release: (revision, pod) => send({ type: 'release', revision, pod }),
      cancel: (revision, id) => send({ type: 'cancel', revision, id }),
      eject: (revision, pod) => send({ type: 'eject', revision, pod }),
    },
  });
  edge.setConfig(init.config);
  edge.setEdges(init.edgeShare[0], init.edgeShare[1]);
  const server = new EdgeServer(edge);
  const tls = init.tlsPort !== null && init.config.tls !== undefined ? new UwsTlsServer(edge, init.config.tls, logger) : null;
  const gauges = clock.setInterval(() => updateLoopGauges(edge, metrics), 1000);
  gauges.unref?.();

  const onMessage = (m: MainMessage): void => {
    switch (m.type) {
      case 'config':
        edge.setConfig(m.config);
        if (m.config.tls !== undefined) tls?.setCertificates(m.config.tls);
        return;
      case 'pods':
        edge.updateRevision(m.revision, m.pods, m.status);
        return;
      case 'edges':
        edge.setEdges(m.index, m.count);
        return;
      case 'grant':
        edge.revision(m.revision)?.remote?.granted(m.id, m.pod);
        return;
      case 'reject':
        edge.revision(m.revision)?.remote?.rejected(m.id, new TidegateError(m.code, m.message));
        return;
      case 'collect':
        void metrics.registry.getMetricsAsJSON().then((json) => {
          send({ type: 'collected', id: m.id, stats: edge.collectStats(m.edgeId), counts: loopCounts(edge), metrics: json });
        });
        return;
      case 'drain':
        void drain(m.timeoutMs);
        return;
      case 'init':
        return;
    }
  };
  process.on('message', onMessage);

  /** SIGTERM as the main process passes it on: stop accepting, finish what is in flight (bounded), exit. */
  const drain = async (timeoutMs: number): Promise<void> => {
    server.stopListening();
    tls?.stopListening();
    edge.closeWebSockets();
    await Promise.race([edge.drained(), new Promise((r) => setTimeout(r, timeoutMs))]);
    edge.close();
    edge.closePools();
    clock.clearInterval(gauges);
    await accessLog?.flush();
    await exporter?.close();
    tls?.destroy();
    send({ type: 'drained' });
    process.exit(0);
  };

  Promise.all([server.listen(init.host, init.port, true), tls?.listen(init.host, init.tlsPort!, true)]).then(
    () => send({ type: 'listening' }),
    (err: unknown) => {
      send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    },
  );
}

process.once('message', (m: MainMessage) => {
  if (m.type === 'init') run(m.init);
});
// The main process is gone (killed, crashed): so is this loop.
process.on('disconnect', () => process.exit(1));
// SIGTERM/SIGINT reach the whole process group from a terminal; the main process drains the loops itself.
process.on('SIGTERM', () => undefined);
process.on('SIGINT', () => undefined);
