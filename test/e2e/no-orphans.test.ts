import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/serve.js';
import { alive, appConfig, fixtureStats, hit, revisionStatus } from './harness.js';
import { HAVE_DIST, descendants, spawnServe, type ServeProcess } from './serve-process.js';

// `tidegate serve` runs the pods as its own child processes. However it is
// stopped, none of them may outlive it.
let serve: ServeProcess | null = null;

afterEach(async () => {
  await serve?.cleanup();
  serve = null;
});

/** Starts serve with two warm pods; returns every process below it. */
async function serveWithPods(): Promise<{ serve: ServeProcess; tree: number[] }> {
  const s = await spawnServe(appConfig({ minScale: 2, maxScale: 2, initialScale: 2 }));
  serve = s;
  await waitFor(async () => (await revisionStatus(s.adminPort)).readyPods === 2, 10_000, 'two ready pods');
  expect((await hit(s.port, '/')).status).toBe(200);
  const rev = await revisionStatus(s.adminPort);
  const podPids = await Promise.all(rev.pods.map(async (p) => (await fixtureStats(p.address)).pid));
  const tree = descendants(s.child.pid!);
  // The pods really are in serve's process tree (else the checks below prove nothing).
  for (const pid of podPids) expect(tree).toContain(pid);
  return { serve: s, tree };
}

describe.skipIf(!HAVE_DIST)('no process left behind (needs dist/: npm run build)', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s: serve exits 0 and stops every pod', async (signal) => {
    const { serve: s, tree } = await serveWithPods();
    s.child.kill(signal);
    expect(await s.exit).toBe(0);
    await waitFor(() => tree.every((pid) => !alive(pid)), 5000, `pods to be gone (left: ${tree.filter(alive).join(', ')})`);
  });

  it('SIGKILL: the pods notice their parent is gone and exit', async () => {
    const { serve: s, tree } = await serveWithPods();
    s.child.kill('SIGKILL');
    await s.exit;
    await waitFor(() => tree.every((pid) => !alive(pid)), 5000, `pods to be gone (left: ${tree.filter(alive).join(', ')})`);
  });
});
