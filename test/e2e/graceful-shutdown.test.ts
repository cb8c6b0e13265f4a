import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { waitFor } from '../support/serve.js';
import { alive, appConfig, hit, revisionStatus, tally } from './harness.js';
import { HAVE_DIST, descendants, spawnServe, type ServeProcess } from './serve-process.js';

// SIGTERM while requests are still buffered for a cold revision (its app
// takes 1.5 s to listen): serve stops taking connections but finishes the
// buffered requests on the pod that comes up, then stops the pod and exits 0.
let serve: ServeProcess | null = null;

afterEach(async () => {
  await serve?.cleanup();
  serve = null;
});

describe.skipIf(!HAVE_DIST)('graceful shutdown with buffered requests (needs dist/: npm run build)', () => {
  it('answers every buffered request, then exits 0 leaving no pod', async () => {
    const s = await spawnServe(appConfig({ maxScale: 1, env: { STARTUP_DELAY_MS: '1500' } }));
    serve = s;
    const dispatcher = new Agent({ connections: 5 });
    try {
      const held = Array.from({ length: 5 }, (_, i) => hit(s.port, `/?i=${i}`, { dispatcher }));
      await waitFor(async () => (await revisionStatus(s.adminPort)).bufferedRequests === 5, 3000, 'five buffered requests');
      expect((await revisionStatus(s.adminPort)).readyPods).toBe(0);
      const tree = descendants(s.child.pid!);
      expect(tree.length).toBeGreaterThanOrEqual(1); // the (still starting) pod, at least
      s.child.kill('SIGTERM');

      const outcomes = await Promise.all(held);
      expect(tally(outcomes)).toEqual({ '200': 5 });
      expect(outcomes.every((o) => o.headers['x-tidegate-cold-start'] !== undefined)).toBe(true);
      expect(await s.exit).toBe(0);
      await waitFor(() => tree.every((pid) => !alive(pid)), 5000, 'no process left');
    } finally {
      await dispatcher.close();
    }
  });
});
