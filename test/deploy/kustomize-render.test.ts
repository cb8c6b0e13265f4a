/**
 * `kubectl kustomize deploy/kubernetes` (what `kubectl apply -k` applies)
 * renders exactly the objects the other deploy tests check: the files its
 * kustomization lists, with the image override applied, nothing lost or
 * added. Without kubectl this fails under CI=true (.ci/run installs Debian's
 * kubernetes-client) and is skipped elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { KUSTOMIZE_DIR, loadManifests, parseManifests, type Manifest } from './manifests.js';
import { typeCheckObjects, validateObjects } from './k8s-schema.js';

const KUBECTL = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const MISSING = "kubectl not found: apt-get install kubernetes-client (Debian's kubectl; .ci/run installs it)";

const key = (m: Manifest) => `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`;
const byKey = (ms: readonly Manifest[]) => Object.fromEntries(ms.map((m) => [key(m), { ...m, file: undefined }]));

describe('kubectl kustomize deploy/kubernetes', () => {
  it('renders the listed files, image override applied, and the result passes the schemas', async (ctx) => {
    if (!KUBECTL) {
      if (process.env['CI'] === 'true') throw new Error(MISSING);
      ctx.skip(MISSING);
    }
    const r = spawnSync('kubectl', ['kustomize', KUSTOMIZE_DIR], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rendered = parseManifests(r.stdout, 'kubectl kustomize');
    expect(byKey(rendered)).toEqual(byKey(loadManifests()));
    expect(await validateObjects(rendered)).toEqual([]);
    expect(typeCheckObjects(rendered)).toEqual([]);
  }, 60_000);
});
