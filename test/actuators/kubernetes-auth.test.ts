import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubernetesActuator } from '../../src/actuators/kubernetes.js';
import { loadKubeConnection } from '../../src/actuators/kube-connection.js';
import { silentLogger } from '../../src/shared/log.js';
import { captureLogger } from './support/capture-logger.js';
import { startFakeKubeApi, type FakeKubeApi } from './support/fake-kube-api.js';
import { localRevision } from './support/revision.js';
import { makeTestCerts, type TestCerts } from './support/test-certs.js';

const rev = localRevision({ name: 'web-00001', command: null, kubernetes: { namespace: 'shop', deployment: 'web-00001', port: 8080 } });

let dir: string;
let certs: TestCerts | null;
let api: FakeKubeApi | null = null;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-kube-auth-'));
  certs = makeTestCerts(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await api?.close();
  api = null;
});

function write(name: string, text: string | Buffer): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

describe('in-cluster service account', () => {
  it('finds the API server from KUBERNETES_SERVICE_HOST/PORT and reads the token and CA files', async () => {
    const sa = path.dirname(write('sa1/token', 'sa-token\n'));
    write('sa1/ca.crt', 'not really a CA');
    const conn = await loadKubeConnection({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa });
    expect(conn.server).toBe('https://10.96.0.1:443');
    expect(conn.tokenFile).toBe(path.join(sa, 'token'));
    expect(conn.ca?.toString()).toBe('not really a CA');
  });

  it('talks TLS to the API server, verified with the service-account CA, with a Bearer token re-read on each call', async (ctx) => {
    if (!certs) ctx.skip('openssl is not installed: cannot make a test CA');
    api = await startFakeKubeApi({ cert: certs!.serverCert, key: certs!.serverKey });
    api.replicas.set('shop/web-00001', 1);
    const sa = path.dirname(write('sa2/token', 'first-token'));
    write('sa2/ca.crt', certs!.ca);
    const port = new URL(api.url).port;
    const a = new KubernetesActuator({ logger: silentLogger, env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port }, serviceAccountDir: sa });
    await a.scale(rev, 2);
    expect(api.requests.map((r) => [r.method, r.headers['authorization']])).toEqual([
      ['GET', 'Bearer first-token'],
      ['PATCH', 'Bearer first-token'],
    ]);
    // The kubelet rotates projected tokens: the next call uses the new one.
    write('sa2/token', 'rotated-token');
    await a.scale(rev, 3);
    expect(api.requests[2]!.headers['authorization']).toBe('Bearer rotated-token');
    expect(api.replicas.get('shop/web-00001')).toBe(3);
  });

  it('refuses a server its CA did not sign', async (ctx) => {
    if (!certs) ctx.skip('openssl is not installed: cannot make a test CA');
    api = await startFakeKubeApi({ cert: certs!.serverCert, key: certs!.serverKey });
    api.replicas.set('shop/web-00001', 1);
    const sa = path.dirname(write('sa3/token', 'tok'));
    write('sa3/ca.crt', certs!.serverCert); // wrong trust anchor
    const { logger, entries } = captureLogger();
    const a = new KubernetesActuator({ logger, env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(api.url).port }, serviceAccountDir: sa });
    await a.scale(rev, 2);
    expect(api.requests).toEqual([]);
    expect(entries.some((e) => e['level'] === 50)).toBe(true);
  });
});

describe('kubeconfig', () => {
  it('uses certificate-authority-data and a client certificate and key from files next to it', async (ctx) => {
    if (!certs) ctx.skip('openssl is not installed: cannot make a test CA');
    api = await startFakeKubeApi({ cert: certs!.serverCert, key: certs!.serverKey, ca: certs!.ca, requestCert: true });
    api.replicas.set('shop/web-00001', 0);
    write('kc/certs/client.crt', certs!.clientCert);
    write('kc/certs/client.key', certs!.clientKey);
    const file = write(
      'kc/config',
      `current-context: c\ncontexts: [{ name: c, context: { cluster: k, user: u } }]\n` +
        `clusters: [{ name: k, cluster: { server: "${api.url}", certificate-authority-data: ${certs!.ca.toString('base64')} } }]\n` +
        `users: [{ name: u, user: { client-certificate: certs/client.crt, client-key: certs/client.key } }]\n`,
    );
    const a = new KubernetesActuator({ logger: silentLogger, env: { KUBECONFIG: `${file}${path.delimiter}/nonexistent` }, homeDir: '/nonexistent' });
    await a.scale(rev, 1);
    expect(api.requests.map((r) => [r.method, r.clientCert, r.headers['authorization']])).toEqual([
      ['GET', 'tidegate-test-user', undefined],
      ['PATCH', 'tidegate-test-user', undefined],
    ]);
    expect(a.currentScale(rev.name)).toBe(1);
  });

  it('falls back to ~/.kube/config when neither in-cluster nor KUBECONFIG applies', async () => {
    write('home/.kube/config', 'current-context: c\ncontexts: [{ name: c, context: { cluster: k, user: u } }]\nclusters: [{ name: k, cluster: { server: "http://127.0.0.1:9" } }]\nusers: [{ name: u, user: { token: abc } }]\n');
    // Service host set but no token file: not in a cluster after all.
    const conn = await loadKubeConnection({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: path.join(dir, 'none'), homeDir: path.join(dir, 'home') });
    expect(conn).toMatchObject({ server: 'http://127.0.0.1:9', token: 'abc' });
    expect(conn.source).toContain(path.join(dir, 'home/.kube/config'));
  });

  it('explains what is missing or unsupported', async () => {
    await expect(loadKubeConnection({ env: {}, homeDir: path.join(dir, 'nohome') })).rejects.toThrow(/no Kubernetes credentials: .*nohome\/\.kube\/config/);
    const exec = write('exec-config', 'current-context: c\ncontexts: [{ name: c, context: { cluster: k, user: u } }]\nclusters: [{ name: k, cluster: { server: "https://x" } }]\nusers: [{ name: u, user: { exec: { command: aws } } }]\n');
    await expect(loadKubeConnection({ kubeconfigPath: exec })).rejects.toThrow(/exec\/auth-provider plugin/);
    const noCtx = write('noctx-config', 'current-context: missing\ncontexts: []\n');
    await expect(loadKubeConnection({ kubeconfigPath: noCtx })).rejects.toThrow(/context 'missing' not found/);
  });
});
