import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';

// A local pod (real processes) whose app stops answering its readiness
// probe leaves the edge's rotation and comes back once it answers again, as
// Knative keeps probing a pod for its whole life. With and without a
// queue-proxy in front of the app.
const APP = path.resolve('test/fixtures/probe-app.js');
let edge: TestEdge | null = null;
let dir = '';

afterEach(async () => {
  await edge?.close();
  edge = null;
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

async function run(queueProxy: boolean): Promise<void> {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-probe-'));
  const readyFile = path.join(dir, 'ready');
  await fs.writeFile(readyFile, '');
  edge = await startEdge(
    `domain: example.com
services:
  - name: app
    revisions:
      - name: app-1
        command: ["${process.execPath}", "${APP}"]
        env: { READY_FILE: "${readyFile}" }
        queueProxy: ${queueProxy}
        readinessProbe:
          httpGet: { path: /healthz }
          periodSeconds: 1
          timeoutSeconds: 1
          failureThreshold: 2
        annotations:
          autoscaling.knative.dev/min-scale: "1"
`,
  );
  const rev = () => edge!.edge.revision('app-1');
  await waitFor(() => rev()?.readyPods === 1, 15_000, 'pod in rotation');
  expect((await edge.get('app.example.com')).status).toBe(200);

  await fs.rm(readyFile);
  await waitFor(() => rev()?.readyPods === 0, 15_000, 'pod out of rotation');

  await fs.writeFile(readyFile, '');
  await waitFor(() => rev()?.readyPods === 1, 15_000, 'pod back in rotation');
  const back = await edge.get('app.example.com');
  expect(back.status).toBe(200);
  expect(back.body).toMatch(/^ok \d+$/);
}

describe('a ready pod that stops answering its readiness probe', () => {
  it('leaves rotation and comes back (app alone)', async () => {
    await run(false);
  });

  it('leaves rotation and comes back (behind a queue-proxy)', async () => {
    await run(true);
  });
});
