import { Counter, Gauge, Registry } from 'prom-client';
import { collectProcessMetrics } from '../admin/process-metrics.js';
import { HotCounter, HotHistogram } from '../admin/hot-metrics.js';

/**
 * The queue-proxy's own Prometheus metrics (GET /metrics on its admin
 * port), on a registry of its own. Names follow the edge's (DESIGN.md
 * "Metrics") where the concept is the same; probes and admin-port requests
 * are not counted.
 */
export class QueueMetrics {
  readonly registry = new Registry();
  // Updated on every request: plain counters read at scrape time (admin/hot-metrics.ts).
  readonly requests = new HotCounter(this.registry, 'tidegate_requests_total', 'Requests answered by this queue-proxy, by status code (0 = client went away)', ['revision', 'code']);
  readonly duration = new HotHistogram(this.registry, 'tidegate_request_duration_seconds', 'Arrival (including time queued) to the last response byte', ['revision'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  readonly inFlight = new Gauge({ name: 'tidegate_pod_inflight_requests', help: 'Requests in this pod: running in the app plus queued for a slot', labelNames: ['revision', 'pod'] as const, registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'tidegate_queue_depth', help: 'Requests waiting for a containerConcurrency slot', labelNames: ['revision'] as const, registers: [this.registry] });
  readonly concurrency = new Gauge({ name: 'tidegate_pod_average_concurrency', help: 'Time-weighted average in-flight requests over the last 1 s period (what is reported to the autoscaler)', labelNames: ['revision', 'pod'] as const, registers: [this.registry] });
  readonly proxiedConcurrency = new Gauge({ name: 'tidegate_pod_average_proxied_concurrency', help: 'The part of the average that came through the activator', labelNames: ['revision', 'pod'] as const, registers: [this.registry] });
  readonly requestRate = new Gauge({ name: 'tidegate_pod_requests_per_second', help: 'Arrivals per second over the last 1 s period', labelNames: ['revision', 'pod'] as const, registers: [this.registry] });
  readonly errors = new Counter({ name: 'tidegate_errors_total', help: 'Failed requests by the hop that failed them', labelNames: ['hop'] as const, registers: [this.registry] });
  readonly ready = new Gauge({ name: 'tidegate_queue_app_ready', help: '1 once the app passed its readiness probe (0 again while draining)', labelNames: ['revision', 'pod'] as const, registers: [this.registry] });

  constructor(defaults = true) {
    if (defaults) collectProcessMetrics(this.registry);
  }
}
