/**
 * Splitting pods between several edges (Knative's activator subsetting,
 * KNATIVE.md §3 and scenario 23). Every edge sorts the revision's ready pods
 * by address and knows its index i of n edges, so all edges agree on who
 * takes which pod without talking to each other. Pure functions.
 */

/**
 * Indices (into the address-sorted pods) that edge `edgeIndex` of
 * `edgeCount` takes. Edge i takes the block [i·⌊P/n⌋, (i+1)·⌊P/n⌋) plus one
 * of the P mod n leftovers when i < P mod n; with more edges than pods it
 * takes pod i mod P; index -1 (or a single edge) takes every pod.
 */
export function subsetIndices(podCount: number, edgeIndex: number, edgeCount: number): number[] {
  const out: number[] = [];
  if (podCount <= 0) return out;
  if (edgeIndex < 0 || edgeCount <= 1) {
    for (let j = 0; j < podCount; j++) out.push(j);
    return out;
  }
  const i = edgeIndex % edgeCount;
  if (edgeCount > podCount) {
    out.push(i % podCount);
    return out;
  }
  const block = Math.floor(podCount / edgeCount);
  for (let j = i * block; j < (i + 1) * block; j++) out.push(j);
  const leftovers = podCount % edgeCount;
  if (i < leftovers) out.push(podCount - leftovers + i);
  return out;
}

/**
 * This edge's capacity on one pod it took. With at least as many pods as
 * edges each pod belongs to one edge, which gets all of containerConcurrency.
 * With more edges than pods, several edges share a pod; Knative gives each
 * the full CC (the queue-proxy then queues the excess). tidegate has no
 * queue-proxy by default, so it splits CC between the sharers instead (sums
 * to CC exactly when CC ≥ sharers; at least 1 each so every edge can make
 * progress). CC = 0 is unlimited: Infinity.
 */
export function podShare(
  containerConcurrency: number,
  podCount: number,
  edgeIndex: number,
  edgeCount: number,
): number {
  if (containerConcurrency <= 0) return Infinity;
  if (edgeIndex < 0 || edgeCount <= 1 || edgeCount <= podCount || podCount <= 0) {
    return containerConcurrency;
  }
  const i = edgeIndex % edgeCount;
  const pod = i % podCount;
  const sharers = Math.floor(edgeCount / podCount) + (pod < edgeCount % podCount ? 1 : 0);
  const rank = Math.floor(i / podCount); // this edge's place among the pod's sharers
  const share =
    Math.floor(containerConcurrency / sharers) + (rank < containerConcurrency % sharers ? 1 : 0);
  return Math.max(1, share);
}

/** Total capacity of one edge for a revision when it sends to pods directly. */
export function podDirectCapacity(
  containerConcurrency: number,
  podCount: number,
  edgeIndex: number,
  edgeCount: number,
): number {
  if (podCount <= 0) return 0;
  const pods = subsetIndices(podCount, edgeIndex, edgeCount).length;
  return pods * podShare(containerConcurrency, podCount, edgeIndex, edgeCount);
}

/**
 * Knative's capacity when an activator reaches pods through a cluster IP
 * (it cannot pick pods): CC·backends split over the activators, at least 1,
 * 0 with no backend, unlimited when CC = 0.
 */
export function clusterIpCapacity(
  containerConcurrency: number,
  backendCount: number,
  edgeCount: number,
): number {
  if (backendCount <= 0) return 0;
  if (containerConcurrency <= 0) return Infinity;
  return Math.max(1, Math.floor((containerConcurrency * backendCount) / Math.max(1, edgeCount)));
}
