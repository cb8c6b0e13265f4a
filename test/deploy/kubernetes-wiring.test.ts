/**
 * deploy/kubernetes/ is wired to the real tidegate: every flag and variable
 * its containers use is one the CLI declares (read from `--help` of the built
 * CLI, and the command lines parsed by tidegate's own parser), the ConfigMap's
 * config passes `tidegate validate`, the example revision matches what the
 * config says about it, the probes and the preStop hook hit the ports that
 * serve them, and the Role grants exactly the API calls the kubernetes
 * actuator makes (recorded against the fake API server).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { COMMANDS } from '../../src/cli/commands.js';
import { parseCommandLine } from '../../src/cli/flags.js';
import { KubernetesActuator } from '../../src/actuators/kubernetes.js';
import { silentLogger } from '../../src/shared/log.js';
import { localRevision } from '../actuators/support/revision.js';
import { startFakeKubeApi } from '../actuators/support/fake-kube-api.js';
import { CLI } from '../support/cli.js';
import { container, deployments, envValue, find, flag, portNumber, tidegateContainers, type Container, type DeploymentManifest, type Manifest, loadManifests } from './manifests.js';

const all = loadManifests();
const edge = find<DeploymentManifest>(all, 'Deployment', 'tidegate-edge');
const autoscaler = find<DeploymentManifest>(all, 'Deployment', 'tidegate-autoscaler');
const revision = find<DeploymentManifest>(all, 'Deployment', 'hello-00001');
const configMap = find<Manifest & { data: Record<string, string> }>(all, 'ConfigMap', 'tidegate-config');
const version = (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string }).version;

/** Variables the containers may set that no flag reads: documented in docs/operations.md ("Logs"). */
const OTHER_VARIABLES = new Set(['LOG_LEVEL']);

interface Help {
  flags: Set<string>;
  env: Set<string>;
}

function help(command: string): Help {
  const r = spawnSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8', timeout: 10_000 });
  expect(r.status, r.stderr).toBe(0);
  return {
    flags: new Set([...r.stdout.matchAll(/^\s+--([a-z][a-z-]*)/gm)].map((m) => m[1]!)),
    env: new Set([...r.stdout.matchAll(/\(env ([A-Z_]+)/g)].map((m) => m[1]!)),
  };
}

/** The container's environment as the kubelet gives it: $(VAR) expanded, fieldRefs given sample values. */
function containerEnv(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) env[e.name] = e.value !== undefined ? e.value.replace(/\$\(([A-Z_]+)\)/g, (_, v: string) => env[v] ?? '') : e.name === 'POD_IP' ? '10.1.2.3' : 'sample';
  return env;
}

let config: string;
beforeAll(() => {
  config = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-deploy-')), 'tidegate.yaml');
  fs.writeFileSync(config, configMap.data['tidegate.yaml']!);
});
afterAll(() => fs.rmSync(path.dirname(config), { recursive: true, force: true }));

describe('deploy/kubernetes runs the real tidegate CLI', () => {
  it('every tidegate container runs a command whose --help lists each flag and variable it uses', () => {
    const helps = new Map<string, Help>();
    const used = tidegateContainers(all);
    expect(used.map((u) => `${u.deployment.metadata.name}/${u.container.name}`).sort()).toEqual(['hello-00001/queue-proxy', 'tidegate-autoscaler/autoscaler', 'tidegate-edge/edge']);
    for (const { deployment, container: c } of used) {
      const where = `${deployment.metadata.name}/${c.name}`;
      const command = c.args?.[0] ?? '';
      if (!helps.has(command)) helps.set(command, help(command));
      const h = helps.get(command)!;
      const flags = (c.args ?? []).filter((a) => a.startsWith('--')).map((a) => a.slice(2));
      expect(flags.filter((f) => !h.flags.has(f)), `${where}: flags ${command} --help does not list`).toEqual([]);
      // A variable is read by a flag, documented elsewhere, or only feeds $(VAR) in another one.
      const referenced = new Set((c.env ?? []).flatMap((e) => [...(e.value ?? '').matchAll(/\$\(([A-Z_]+)\)/g)].map((m) => m[1]!)));
      const unknown = (c.env ?? []).map((e) => e.name).filter((n) => !h.env.has(n) && !OTHER_VARIABLES.has(n) && !referenced.has(n));
      expect(unknown, `${where}: variables ${command} --help does not list`).toEqual([]);
    }
  });

  it("tidegate's own parser accepts every container's command line with its environment", () => {
    for (const { deployment, container: c } of tidegateContainers(all)) {
      const parsed = parseCommandLine(c.args ?? [], COMMANDS, containerEnv(c), version);
      expect(parsed.kind === 'run' ? 'run' : parsed.text, `${deployment.metadata.name}/${c.name}`).toBe('run');
    }
  });

  it('the ConfigMap holds a config that passes `tidegate validate`', () => {
    const r = spawnSync(process.execPath, [CLI, 'validate', config], { encoding: 'utf8', timeout: 10_000 });
    expect(`${r.stdout}${r.stderr}`.trim(), 'validate output').not.toMatch(/:\d+:\d+:/);
    expect(r.status).toBe(0);
  });

  it('edges and the autoscaler load that config from the ConfigMap, mounted as a directory so edits reach them', () => {
    for (const d of [edge, autoscaler]) {
      const c = d.spec.template.spec.containers[0]!;
      const file = flag(c, 'config')!;
      const mount = c.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`));
      expect(mount, `${d.metadata.name}: a volume mounted above ${file}`).toBeDefined();
      expect(mount!.subPath, 'subPath mounts never see ConfigMap updates').toBeUndefined();
      const volume = d.spec.template.spec.volumes?.find((v) => v.name === mount!.name);
      expect(volume?.configMap?.name).toBe(configMap.metadata.name);
      expect(Object.keys(configMap.data)).toContain(path.basename(file));
    }
  });

  it('every tidegate part shares the one Redis Service, and the image is this version', () => {
    const redis = find<Manifest & { spec: { ports: Array<{ port: number }> } }>(all, 'Service', 'redis');
    for (const { deployment, container: c } of tidegateContainers(all)) {
      expect(flag(c, 'redis'), `${deployment.metadata.name}/${c.name}`).toBe(`redis://${redis.metadata.name}:${redis.spec.ports[0]!.port}`);
      expect(c.image).toBe(`tidegate:${version}`);
    }
  });

  it('the example revision is the Deployment the config names, and its queue-proxy enforces what the config says', () => {
    const doc = parseDocument(configMap.data['tidegate.yaml']!).toJS() as {
      services: Array<{ revisions: Array<{ name: string; kubernetes?: { namespace: string; deployment: string; port: number }; containerConcurrency?: number; timeoutSeconds?: number }> }>;
    };
    const rev = doc.services.flatMap((s) => s.revisions).find((r) => r.kubernetes?.deployment === revision.metadata.name);
    expect(rev, 'a revision with kubernetes.deployment = hello-00001').toBeDefined();
    expect(rev!.kubernetes!.namespace).toBe(revision.metadata.namespace);
    const qp = container(revision, 'queue-proxy');
    const app = container(revision, 'app');
    expect(flag(qp, 'revision')).toBe(rev!.name);
    expect(flag(qp, 'container-concurrency')).toBe(String(rev!.containerConcurrency ?? 0));
    expect(flag(qp, 'timeout-seconds')).toBe(String(rev!.timeoutSeconds ?? 300));
    expect(flag(qp, 'upstream')).toBe(`127.0.0.1:${rev!.kubernetes!.port}`);
    expect(envValue(app, 'PORT')).toBe(String(rev!.kubernetes!.port));
    expect(revision.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(rev!.timeoutSeconds ?? 300);
    // The autoscaler owns spec.replicas: a value here would be reset by every `kubectl apply`.
    expect(revision.spec.replicas).toBeUndefined();
    expect(containerEnv(qp)['TIDEGATE_ADVERTISE']).toBe(`10.1.2.3:${flag(qp, 'port')}`);
  });

  it("probes, the preStop drain and the scrape annotations hit the ports that serve them", () => {
    const e = container(edge, 'edge');
    const adminPort = Number(flag(e, 'admin-port') ?? 9090);
    expect(e.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(portNumber(e, e.readinessProbe!.httpGet!.port)).toBe(adminPort);
    expect(portNumber(e, e.livenessProbe!.httpGet!.port)).toBe(adminPort);
    expect(edge.spec.template.metadata.annotations?.['prometheus.io/port']).toBe(String(adminPort));
    for (const [d, c] of [[edge, e], [revision, container(revision, 'queue-proxy')]] as const) {
      // The kubelet and Prometheus come from the pod IP, not from loopback.
      expect(envValue(c, 'TIDEGATE_ADMIN_ADDRESS'), `${d.metadata.name}/${c.name}`).toBe('0.0.0.0');
      expect(d.spec.template.metadata.annotations?.['prometheus.io/scrape']).toBe('true');
    }

    const qp = container(revision, 'queue-proxy');
    const dataPort = Number(flag(qp, 'port'));
    const qpAdmin = Number(flag(qp, 'admin-port'));
    expect([dataPort, qpAdmin]).toEqual([8012, 9091]);
    const probe = qp.readinessProbe!.httpGet!;
    expect(portNumber(qp, probe.port)).toBe(dataPort);
    expect(probe.httpHeaders).toEqual([{ name: 'K-Network-Probe', value: 'queue' }]);
    expect(revision.spec.template.metadata.annotations?.['prometheus.io/port']).toBe(String(qpAdmin));
    const preStop = container(revision, 'app').lifecycle?.preStop?.httpGet;
    expect(preStop).toEqual({ path: '/wait-for-drain', port: qpAdmin });
  });

  it('selectors match their pods: Deployments, the edge Service and the PodDisruptionBudget', () => {
    const matches = (sel: Record<string, string>, labels: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    for (const d of deployments(all)) expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels), d.metadata.name).toBe(true);
    const svc = find<Manifest & { spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> } }>(all, 'Service', 'tidegate');
    const pdb = find<Manifest & { spec: { selector: { matchLabels: Record<string, string> } } }>(all, 'PodDisruptionBudget', 'tidegate-edge');
    expect(matches(svc.spec.selector, edge.spec.template.metadata.labels)).toBe(true);
    expect(matches(pdb.spec.selector.matchLabels, edge.spec.template.metadata.labels)).toBe(true);
    expect(portNumber(container(edge, 'edge'), svc.spec.ports[0]!.targetPort)).toBe(Number(flag(container(edge, 'edge'), 'port')));
    expect(edge.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(autoscaler.spec.replicas).toBe(2);
  });
});

describe('RBAC: exactly what the kubernetes actuator calls', () => {
  it('the Role grants the verbs and resources of the API requests the actuator makes, and binds the account edges and autoscaler run as', async () => {
    const api = await startFakeKubeApi();
    try {
      const ns = revision.metadata.namespace!;
      api.replicas.set(`${ns}/${revision.metadata.name}`, 1);
      const actuator = new KubernetesActuator({ logger: silentLogger, connection: { server: api.url, token: 't', source: 'test' } });
      const rev = localRevision({ name: 'hello-00001', command: null, kubernetes: { namespace: ns, deployment: revision.metadata.name, port: 8080 } });
      for (const n of [3, 0, 2]) await actuator.scale(rev, n);
      await actuator.close();
      // An API path and method → the RBAC (namespace, group, resource, verb) it needs.
      const needed = new Set(
        api.requests.map((r) => {
          const m = /^\/apis\/([^/]+)\/[^/]+\/namespaces\/([^/]+)\/([^/]+)\/[^/]+(?:\/([^/?]+))?$/.exec(r.path);
          if (!m) throw new Error(`unexpected API path ${r.path}`);
          const verb = ({ GET: 'get', PATCH: 'patch', PUT: 'update', POST: 'create', DELETE: 'delete' } as Record<string, string>)[r.method] ?? r.method;
          return `${m[2]} ${m[1]} ${m[3]}${m[4] ? `/${m[4]}` : ''} ${verb}`;
        }),
      );
      expect(api.requests.length).toBeGreaterThanOrEqual(3);

      const role = find<Manifest & { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }>(all, 'Role', 'tidegate-scaler');
      const granted = new Set(role.rules.flatMap((rule) => rule.apiGroups.flatMap((g) => rule.resources.flatMap((res) => rule.verbs.map((v) => `${role.metadata.namespace} ${g} ${res} ${v}`)))));
      expect([...granted].sort()).toEqual([...needed].sort());

      const binding = find<Manifest & { subjects: Array<{ kind: string; name: string; namespace: string }>; roleRef: { kind: string; name: string } }>(all, 'RoleBinding', 'tidegate-scaler');
      expect(binding.roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name });
      // Edges may hold the autoscaler lease too, so both run as the bound account.
      for (const d of [edge, autoscaler]) {
        expect(binding.subjects).toContainEqual({ kind: 'ServiceAccount', name: d.spec.template.spec.serviceAccountName, namespace: d.metadata.namespace });
      }
      expect(all.some((m) => m.kind === 'ClusterRole' || m.kind === 'ClusterRoleBinding')).toBe(false);
    } finally {
      await api.close();
    }
  });
});
