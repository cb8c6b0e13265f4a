import { describe, expect, it } from 'vitest';
import {
  clusterIpCapacity,
  podDirectCapacity,
  podShare,
  subsetIndices,
} from '../../src/activator/subset.js';

describe('subsetting: which pods edge i of n takes (KNATIVE §3)', () => {
  it.each([
    // pods, edge, edges, indices
    [3, 0, 2, [0, 2]],
    [3, 1, 2, [1]],
    [5, 0, 2, [0, 1, 4]],
    [5, 1, 2, [2, 3]],
    [7, 2, 3, [4, 5]],
    [7, 0, 3, [0, 1, 6]],
    [2, 3, 5, [1]], // more edges than pods: pod i mod P
    [2, 4, 5, [0]],
    [4, -1, 3, [0, 1, 2, 3]], // index -1 takes all
    [4, 0, 1, [0, 1, 2, 3]],
    [0, 0, 2, []],
  ])('%i pods, edge %i of %i → %j', (pods, edge, edges, want) => {
    expect(subsetIndices(pods, edge, edges)).toEqual(want);
  });

  it('with at least as many pods as edges, every pod belongs to exactly one edge', () => {
    for (let edges = 1; edges <= 8; edges++) {
      for (let pods = edges; pods <= 30; pods++) {
        const seen = new Array<number>(pods).fill(0);
        for (let i = 0; i < edges; i++) for (const j of subsetIndices(pods, i, edges)) seen[j]!++;
        expect(seen.every((c) => c === 1), `${pods} pods / ${edges} edges`).toBe(true);
      }
    }
  });
});

describe('capacity (KNATIVE scenario 23)', () => {
  it.each([
    [10, 10, 5, 20],
    [10, 10, 200, 1],
    [10, 0, 5, 0],
    [0, 3, 2, Infinity],
  ])('cluster-IP: CC=%i, %i backends, %i edges → %s', (cc, backends, edges, want) => {
    expect(clusterIpCapacity(cc, backends, edges)).toBe(want);
  });

  it.each([
    [10, 3, 0, 2, 20],
    [10, 3, 1, 2, 10],
    [1, 5, 0, 2, 3],
    [1, 5, 1, 2, 2],
    [10, 0, 0, 2, 0],
    [10, 4, -1, 2, 40],
  ])('pod-direct: CC=%i, %i pods, edge %i of %i → %i', (cc, pods, edge, edges, want) => {
    expect(podDirectCapacity(cc, pods, edge, edges)).toBe(want);
  });

  it('more edges than pods: the sharers of a pod split its CC and never exceed it together', () => {
    for (const [cc, pods, edges] of [
      [10, 1, 3],
      [10, 2, 5],
      [7, 3, 8],
      [100, 1, 2],
    ] as const) {
      const perPod = new Array<number>(pods).fill(0);
      for (let i = 0; i < edges; i++) perPod[subsetIndices(pods, i, edges)[0]!]! += podShare(cc, pods, i, edges);
      expect(perPod, `CC=${cc} pods=${pods} edges=${edges}`).toEqual(new Array<number>(pods).fill(cc));
    }
  });

  it('a share is at least 1 so every edge can make progress', () => {
    expect(podShare(1, 1, 2, 3)).toBe(1);
    expect(podShare(0, 1, 2, 3)).toBe(Infinity);
  });
});
