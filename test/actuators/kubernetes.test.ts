import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubernetesActuator } from '../../src/actuators/kubernetes.js';
import { silentLogger } from '../../src/shared/log.js';
import { startFakeKubeApi, type FakeKubeApi } from './support/fake-kube-api.js';
import { captureLogger } from './support/capture-logger.js';
import { localRevision } from './support/revision.js';

const rev = localRevision({ name: 'web-00001', command: null, kubernetes: { namespace: 'shop', deployment: 'web-00001', port: 8080 } });
const SCALE_PATH = '/apis/apps/v1/namespaces/shop/deployments/web-00001/scale';

let dir: string;
let api: FakeKubeApi | null = null;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-kube-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await api?.close();
  api = null;
});

function kubeconfig(server: string, user: Record<string, unknown> = { token: 'kc-token' }): string {
  const file = path.join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: test',
      'contexts:',
      '  - name: other',
      '    context: { cluster: nowhere, user: nobody }',
      '  - name: test',
      '    context: { cluster: fake, user: tester, namespace: shop }',
      'clusters:',
      '  - name: nowhere',
      '    cluster: { server: "http://127.0.0.1:1" }',
      '  - name: fake',
      `    cluster: { server: "${server}" }`,
      'users:',
      '  - name: tester',
      `    user: ${JSON.stringify(user)}`,
    ].join('\n'),
  );
  return file;
}

describe('KubernetesActuator against a recorded-protocol fake API server', () => {
  it('reads the scale, then PATCHes spec.replicas as a merge patch with the kubeconfig token', async () => {
    api = await startFakeKubeApi();
    api.replicas.set('shop/web-00001', 1);
    const a = new KubernetesActuator({ logger: silentLogger, kubeconfigPath: kubeconfig(api.url) });
    await a.scale(rev, 3);
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET ${SCALE_PATH}`, `PATCH ${SCALE_PATH}`]);
    const patch = api.requests[1]!;
    expect(patch.headers['content-type']).toBe('application/merge-patch+json');
    expect(patch.headers['authorization']).toBe('Bearer kc-token');
    expect(JSON.parse(patch.body)).toEqual({ spec: { replicas: 3 } });
    expect(api.replicas.get('shop/web-00001')).toBe(3);
    expect(a.currentScale(rev.name)).toBe(3);

    // Already 3: nothing to send.
    await a.scale(rev, 3);
    expect(api.requests).toHaveLength(2);
    // To zero (the API then omits spec.replicas).
    await a.scale(rev, 0);
    expect(JSON.parse(api.requests[2]!.body)).toEqual({ spec: { replicas: 0 } });
    expect(a.currentScale(rev.name)).toBe(0);
    await a.close();
  });

  it('learns the current replicas from the API and sends no PATCH when they already match', async () => {
    api = await startFakeKubeApi();
    api.replicas.set('shop/web-00001', 2);
    const a = new KubernetesActuator({ logger: silentLogger, kubeconfigPath: kubeconfig(api.url) });
    expect(a.currentScale(rev.name)).toBe(0);
    await a.scale(rev, 2);
    expect(api.requests.map((r) => r.method)).toEqual(['GET']);
    expect(a.currentScale(rev.name)).toBe(2);
  });

  it('logs a refused call with its status and body, and tries again on the next scale()', async () => {
    api = await startFakeKubeApi();
    api.replicas.set('shop/web-00001', 1);
    const { logger, entries } = captureLogger();
    const a = new KubernetesActuator({ logger, kubeconfigPath: kubeconfig(api.url) });
    await a.scale(rev, 1); // known: 1
    const forbidden = '{"kind":"Status","status":"Failure","reason":"Forbidden","code":403}';
    api.failWith = { status: 403, body: forbidden };
    await a.scale(rev, 4);
    const err = entries.find((e) => e['status'] === 403);
    expect(err).toMatchObject({ level: 50, body: forbidden, replicas: 4, revision: rev.name });
    expect(a.currentScale(rev.name)).toBe(1);

    api.failWith = null;
    await a.scale(rev, 4);
    expect(api.requests.filter((r) => r.method === 'PATCH')).toHaveLength(2);
    expect(a.currentScale(rev.name)).toBe(4);
  });

  it('survives an unreachable API server (logged, retried later)', async () => {
    const { logger, entries } = captureLogger();
    const a = new KubernetesActuator({ logger, kubeconfigPath: kubeconfig('http://127.0.0.1:1') });
    await a.scale(rev, 2);
    expect(entries.some((e) => e['level'] === 50 && String(e['err']).includes('ECONNREFUSED'))).toBe(true);
    expect(a.currentScale(rev.name)).toBe(0);
  });

  it('serializes calls per Deployment: the last request wins', async () => {
    api = await startFakeKubeApi();
    api.replicas.set('shop/web-00001', 0);
    const a = new KubernetesActuator({ logger: silentLogger, kubeconfigPath: kubeconfig(api.url) });
    await Promise.all([a.scale(rev, 1), a.scale(rev, 5), a.scale(rev, 2)]);
    expect(api.requests.filter((r) => r.method === 'PATCH').map((r) => (JSON.parse(r.body) as { spec: { replicas: number } }).spec.replicas)).toEqual([1, 5, 2]);
    expect(api.replicas.get('shop/web-00001')).toBe(2);
    expect(a.currentScale(rev.name)).toBe(2);
  });
});
