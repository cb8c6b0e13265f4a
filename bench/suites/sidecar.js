/** Suite `sidecar`: direct vs edge → app vs edge → queue-proxy → app (the Knative-shaped path). */
import { startTidegate, startTidegateQp, startTidegateTwoHops } from '../lib/targets.js';
import { runThroughputSuite } from './throughput.js';

export function run(ctx) {
  const { settings, dir } = ctx;
  return runThroughputSuite(ctx, {
    suite: 'sidecar',
    note: 'Targets: `direct`; `tidegate` (edge → app, one hop); `tidegate-qp` (edge → `tidegate queue-proxy` → app, two hops as in Knative); `tidegate-2hop` (edge → edge → app: what one more edge hop costs). All server processes share the server CPU.',
    scenarioNames: ['get-100c', 'slow-1000c'],
    starters: [
      (b) => startTidegate({ cpus: settings.serverCpus, dir, endpoints: [`127.0.0.1:${b.port}`] }),
      (b) => startTidegateQp({ cpus: settings.serverCpus, dir, backendPort: b.port }),
      (b) => startTidegateTwoHops({ cpus: settings.serverCpus, dir, backendPort: b.port }),
    ],
  });
}
