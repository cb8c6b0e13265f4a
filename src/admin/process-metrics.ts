import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's Node/process metrics under their standard names
 * (process_cpu_seconds_total, nodejs_heap_size_used_bytes, …), so stock Node
 * dashboards match. Left out: the three nodejs_active_{handles,requests,
 * resources}_total, gauges that promtool refuses for their `_total`;
 * sum(nodejs_active_handles) and the others give the same numbers.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
}
