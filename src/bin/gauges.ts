/** The edge's gauges, refreshed once a second: what each event loop counts itself, and what only the main thread knows. */
import type { EdgeMetrics } from '../admin/metrics.js';
import type { Edge } from '../router/edge.js';
import type { StoreView } from '../store/view.js';

/** One loop's own counts (several loops' samples add up in the aggregated /metrics). */
export function updateLoopGauges(edge: Edge, m: EdgeMetrics): void {
  m.podInFlight.reset();
  for (const rt of edge.allRevisions()) {
    m.buffered.labels(rt.name).set(rt.throttler.queued);
    m.queueDepth.labels(rt.name).set(rt.throttler.queued);
    m.webSockets.labels(rt.name).set(rt.openWebSockets);
    for (const pod of rt.podHandles()) m.podInFlight.labels(rt.name, pod.id).set(rt.throttler.inFlightOf(pod.id));
  }
}

/** The store's view of each revision (main thread only). */
export function updateControlGauges(edge: Edge, view: StoreView, m: EdgeMetrics): void {
  for (const rt of edge.allRevisions()) {
    const st = view.status(rt.name);
    m.readyPods.labels(rt.name).set(rt.readyPods);
    if (st) {
      m.desiredPods.labels(rt.name).set(st.desiredPods);
      m.stableConcurrency.labels(rt.name).set(st.stableConcurrency);
      m.panicMode.labels(rt.name).set(st.mode === 'panic' ? 1 : 0);
    }
  }
}
