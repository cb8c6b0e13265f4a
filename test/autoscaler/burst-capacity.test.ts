/**
 * What target-burst-capacity changes in tidegate (issue 14, difference 6;
 * docs/autoscaler.md "Target burst capacity here"). The edge throttles and
 * buffers every request itself, whatever the TBC; the TBC decides only the
 * published activatorInPath flag (and EBC), and through it the
 * scale-to-zero fast path. The same load through the same KPA with TBC 211,
 * 20, 0 and −1 gives the same pod counts at every tick except at the end.
 */
import { describe, expect, it } from 'vitest';
import { initialKpaState, kpaStep, type KpaState } from '../../src/autoscaler/kpa.js';
import { scalingParams } from '../../src/autoscaler/targets.js';
import { DEFAULT_AUTOSCALER } from '../../src/config/defaults.js';

const t0 = 1_700_000_000_000;
const S = 1000;

/** Ticks every 2 s; [stable, panic] from the load; pods follow the desired count at once. */
function script(tbc: number) {
  const p = scalingParams({ containerConcurrency: 10, annotations: {}, autoscaling: { ...DEFAULT_AUTOSCALER, targetBurstCapacity: tbc, targetUtilizationPercentage: 100 } });
  const load = (t: number): number => (t >= 10 && t < 100 ? 35 : 0);
  let ready = 1;
  let state: KpaState = initialKpaState(p, { now: t0, readyPods: ready, reachable: true, previous: null });
  const rows: { t: number; desired: number; inPath: boolean }[] = [];
  for (let t = 0; t <= 260; t += 2) {
    const r = kpaStep(p, state, { now: t0 + t * S, stable: load(t), panic: load(t), readyPods: ready, reachable: true });
    state = r.state;
    ready = r.desired;
    rows.push({ t, desired: r.desired, inPath: r.activatorInPath });
  }
  return rows;
}

describe('target-burst-capacity in a one-hop edge', () => {
  const runs = new Map([211, 20, 0, -1].map((tbc) => [tbc, script(tbc)]));
  const zeroAt = (tbc: number) => runs.get(tbc)?.find((r) => r.t > 100 && r.desired === 0)?.t;
  const inPathUnderLoad = (tbc: number) => runs.get(tbc)?.find((r) => r.t === 60)?.inPath;

  it('the pod counts under load and on the way down do not depend on it', () => {
    const base = runs.get(211)?.filter((r) => r.t <= 104).map((r) => r.desired);
    for (const tbc of [20, 0, -1]) expect(runs.get(tbc)?.filter((r) => r.t <= 104).map((r) => r.desired)).toEqual(base);
  });

  it('it decides the published activatorInPath: 4 pods of 10 under a load of 35 have EBC 40 − TBC − 35', () => {
    expect(inPathUnderLoad(211)).toBe(true); // 40 − 211 − 35 < 0
    expect(inPathUnderLoad(20)).toBe(true); // 40 − 20 − 35 < 0
    expect(inPathUnderLoad(0)).toBe(false); // TBC 0: out whenever a pod is ready
    expect(inPathUnderLoad(-1)).toBe(true); // always
  });

  it('and the scale-to-zero fast path: with the activator in the path all along the last pod goes right after the revision turns inactive; with TBC 0 only after the grace period', () => {
    // The load stops at 100 s: 4 → 2 → 1 pods (scale-down rate 2), and at 104 s the recommendation 0 turns it inactive.
    const inactiveAt = 104;
    expect(zeroAt(211)).toBe(inactiveAt + 2);
    expect(zeroAt(-1)).toBe(inactiveAt + 2);
    expect(zeroAt(20)).toBe(inactiveAt + 30); // 2 pods × 10 − 20 − 0 = 0 ≥ 0 took it out of the path at 100 s
    expect(zeroAt(0)).toBe(inactiveAt + 30);
  });
});
