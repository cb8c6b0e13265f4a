import { describe, expect, it } from 'vitest';
import { loadManifests, parseManifests } from './manifests.js';
import { typeCheckObjects, validateObjects } from './k8s-schema.js';

describe('deploy/kubernetes against the Kubernetes OpenAPI schemas (offline, kubernetes-models)', () => {
  const all = loadManifests();

  it('holds the pieces the docs describe', () => {
    const kinds = all.map((m) => `${m.kind}/${m.metadata.name}`).sort();
    expect(kinds).toEqual(
      [
        'ConfigMap/tidegate-config',
        'Deployment/hello-00001',
        'Deployment/redis',
        'Deployment/tidegate-autoscaler',
        'Deployment/tidegate-edge',
        'Namespace/tidegate',
        'PodDisruptionBudget/tidegate-edge',
        'Role/tidegate-scaler',
        'RoleBinding/tidegate-scaler',
        'Service/redis',
        'Service/tidegate',
        'ServiceAccount/tidegate',
      ].sort(),
    );
  });

  it('every object passes its schema validator', async () => {
    expect(await validateObjects(all)).toEqual([]);
  });

  it('every object type-checks against its API type, with no unknown field', () => {
    expect(typeCheckObjects(all)).toEqual([]);
  }, 60_000);

  it('the checks catch a wrong type, a missing field and a misspelt field', async () => {
    const bad = parseManifests(
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: bad }',
        'spec:',
        '  selector: { matchLabels: { a: b } }',
        '  template:',
        '    metadata: { labels: { a: b } }',
        '    spec:',
        '      containers:',
        '        - name: c',
        '          image: x',
        '          ports: [{ containerPort: "8080" }]',
        '---',
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: misspelt }',
        'spec:',
        '  selector: { matchLabels: { a: b } }',
        '  template:',
        '    metadata: { labels: { a: b } }',
        '    spec:',
        '      containers:',
        '        - name: c',
        '          image: x',
        '          readinesProbe: { httpGet: { path: /, port: 80 } }',
        '---',
        'apiVersion: v1',
        'kind: Service',
        'metadata: { name: s }',
        'spec: { ports: [{ targetPort: 80 }] }',
      ].join('\n'),
      'bad.yaml',
    );
    const validated = await validateObjects(bad);
    expect(validated.join('\n')).toMatch(/containerPort must be integer/);
    expect(validated.join('\n')).toMatch(/Service s: .*must have required property port/);
    expect(typeCheckObjects(bad).join('\n')).toMatch(/bad\.yaml: Deployment misspelt: .*readinesProbe.* does not exist/);
  }, 60_000);
});
