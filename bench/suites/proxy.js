/** Suite `proxy`: direct vs through tidegate (vs nginx and haproxy when installed). */
import fs from 'node:fs';
import path from 'node:path';
import { haproxyVersion } from '../lib/haproxy.js';
import { startHaproxy, startNginx, startTidegate } from '../lib/targets.js';
import { runThroughputSuite } from './throughput.js';

export function run(ctx) {
  const { settings, dir } = ctx;
  return runThroughputSuite(ctx, {
    suite: 'proxy',
    note: `Targets: \`direct\` (the uWS backend), \`tidegate\` (\`tidegate serve\`, one static revision at the backend, Host bench.example.com), \`nginx\` (1 worker, upstream keepalive) and \`haproxy\` (\`nbthread 1\`, \`mode http\`, \`http-reuse always\`, no logging; ${haproxyVersion()}) when installed.`,
    scenarioNames: ['get-100c', 'get-1000c', 'post64k-100c', 'slow-1000c'],
    starters: [
      (b) => startTidegate({ cpus: settings.serverCpus, dir, endpoints: [`127.0.0.1:${b.port}`] }),
      (b) => startNginx({ cpus: settings.serverCpus, dir, backendPort: b.port, connections: 1024 }),
      (b) => startHaproxy({ cpus: settings.serverCpus, dir, backendPort: b.port, connections: 1024 }),
      ...(settings.baseline ? [(b) => startBaseline(settings, dir, b)] : []),
    ],
    goals: [
      { scenario: 'get-100c', target: 'tidegate', min: 0.25, label: 'target ≥ 0.25 × direct' },
      { scenario: 'slow-1000c', target: 'tidegate', min: 0.97, label: 'target ≥ 0.97 × direct' },
    ],
  });
}

/** BASELINE=DIR: another build of tidegate (DIR/cli.js), measured in the same run as `tidegate-baseline`. */
function startBaseline(settings, dir, backend) {
  const cli = path.join(settings.baseline, 'cli.js');
  if (!fs.existsSync(cli)) return Promise.resolve({ name: 'tidegate-baseline', skipped: `${cli} does not exist` });
  return startTidegate({ cpus: settings.serverCpus, dir, endpoints: [`127.0.0.1:${backend.port}`], name: 'tidegate-baseline', cli });
}
