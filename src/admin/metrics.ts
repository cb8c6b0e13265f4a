import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from './process-metrics.js';
import { HotCounter, HotHistogram } from './hot-metrics.js';

/** Every Prometheus metric of the edge (DESIGN.md "Metrics"), on its own registry. */
export class EdgeMetrics {
  readonly registry = new Registry();
  // Updated on every request: plain counters read at scrape time (hot-metrics.ts).
  readonly requests = new HotCounter(this.registry, 'tidegate_requests_total', 'Requests answered, by service, revision and status code (0 = client went away)', ['service', 'revision', 'code']);
  readonly duration = new HotHistogram(this.registry, 'tidegate_request_duration_seconds', 'Time from request head to the last response byte', ['service', 'revision'], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  readonly readyPods = new Gauge({ name: 'tidegate_revision_ready_pods', help: 'Ready pods per revision', labelNames: ['revision'] as const, registers: [this.registry] });
  readonly desiredPods = new Gauge({ name: 'tidegate_revision_desired_pods', help: 'Pods the autoscaler wants per revision', labelNames: ['revision'] as const, registers: [this.registry] });
  readonly stableConcurrency = new Gauge({ name: 'tidegate_revision_stable_concurrency', help: 'Stable-window average concurrency per revision', labelNames: ['revision'] as const, registers: [this.registry] });
  readonly panicMode = new Gauge({ name: 'tidegate_revision_panic_mode', help: '1 while the revision is in panic mode', labelNames: ['revision'] as const, registers: [this.registry] });
  readonly buffered = new Gauge({ name: 'tidegate_activator_buffered_requests', help: 'Requests waiting in the activator buffer', labelNames: ['revision'] as const, registers: [this.registry] });
  readonly coldStart = new Histogram({
    name: 'tidegate_cold_start_seconds',
    help: 'First buffered request of a cold revision until it was released to a pod',
    labelNames: ['revision'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly podInFlight = new Gauge({ name: 'tidegate_pod_inflight_requests', help: 'Requests this edge has in flight per pod', labelNames: ['revision', 'pod'] as const, registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'tidegate_queue_depth', help: 'Requests waiting for a pod slot (activator buffer and containerConcurrency queue)', labelNames: ['revision'] as const, registers: [this.registry] });
  readonly configReloads = new Counter({ name: 'tidegate_config_reloads_total', help: 'Config reloads by result', labelNames: ['result'] as const, registers: [this.registry] });
  readonly errors = new Counter({ name: 'tidegate_errors_total', help: 'Failed requests by the hop that failed them', labelNames: ['hop'] as const, registers: [this.registry] });
  readonly retries = new Counter({ name: 'tidegate_upstream_retries_total', help: 'Retries of requests whose pod refused the connection (any method) or reset it (idempotent ones), on another pod or once one is free', labelNames: ['revision'] as const, registers: [this.registry] });
  readonly webSockets = new Gauge({ name: 'tidegate_websockets_open', help: 'WebSockets open through this edge, per revision (each is one in-flight request on its pod)', labelNames: ['revision'] as const, registers: [this.registry] });
  readonly wsMessages = new HotCounter(this.registry, 'tidegate_websocket_messages_total', 'WebSocket messages (or pieces of large ones) relayed, by revision and direction (to_app, to_client)', ['revision', 'direction']);
  readonly wsBytes = new HotCounter(this.registry, 'tidegate_websocket_bytes_total', 'WebSocket payload bytes relayed, by revision and direction (to_app, to_client)', ['revision', 'direction']);
  readonly workerRestarts = new Counter({ name: 'tidegate_worker_restarts_total', help: 'Event loops (serve --workers) that died and were restarted', registers: [this.registry] });
  readonly lostRequests = new Counter({ name: 'tidegate_worker_lost_requests_total', help: 'Requests in flight on an event loop when it died: failed, their clients cut', registers: [this.registry] });
  readonly ejections = new Counter({ name: 'tidegate_pod_ejections_total', help: 'Pods left out of rotation after refusing a connection (passive health check)', labelNames: ['revision'] as const, registers: [this.registry] });

  constructor(defaults = true) {
    if (defaults) collectProcessMetrics(this.registry);
  }
}
