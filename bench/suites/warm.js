/**
 * Suite `warm`: a warm `command` revision (pod spawned by the local
 * actuator, activator out of the path) against the router alone in front of
 * a static backend. Same backend code, same CPU: the ratio between the two
 * is what the activator machinery costs once it has stepped aside (goal: ≈ 1).
 */
import { startTidegate, startTidegateWarm } from '../lib/targets.js';
import { runThroughputSuite } from './throughput.js';

export function run(ctx) {
  const { settings, dir } = ctx;
  return runThroughputSuite(ctx, {
    suite: 'warm',
    note: "Targets: `direct`; `tidegate` (static `endpoints` revision: the router alone); `tidegate-warm` (a `command` revision running the same backend as tidegate's pod, min-scale 1, target-burst-capacity 0, so the activator is out of the path; checked in `/status` before measuring).",
    scenarioNames: ['get-100c'],
    starters: [
      (b) => startTidegate({ cpus: settings.serverCpus, dir, endpoints: [`127.0.0.1:${b.port}`] }),
      () => startTidegateWarm({ cpus: settings.serverCpus, dir }),
    ],
    // Equal within the noise of one shared machine.
    goals: [{ scenario: 'get-100c', target: 'tidegate-warm', base: 'tidegate', min: 0.95, label: 'target ≈ 1 × tidegate (≥ 0.95)' }],
  });
}
