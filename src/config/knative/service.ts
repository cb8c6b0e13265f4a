/**
 * One Knative `serving.knative.dev/v1` Service document → the revision its
 * template defines, in tidegate's own terms (DESIGN.md "Knative manifests as
 * config"): the container's command + args run as a local pod (the image is
 * not pulled), env and the readinessProbe carry over, a port named `h2c`
 * makes the revision's protocol h2c, containerConcurrency
 * and the timeouts are Knative's fields, and the annotations
 * `tidegate.dev/endpoints` / `tidegate.dev/kubernetes` choose the other
 * actuators.
 */
import { isScalar, type Node, type YAMLMap } from 'yaml';
import { ANNOTATION_PREFIX } from '../autoscaling.js';
import { readList, readMap, readValue, aString, type Field, type Reporter } from '../yaml-reader.js';
import { mapOf, scalar, seqOf } from './nodes.js';

export const ENDPOINTS_ANNOTATION = 'tidegate.dev/endpoints';
export const KUBERNETES_ANNOTATION = 'tidegate.dev/kubernetes';
export const ROLLOUT_ANNOTATION = 'serving.knative.dev/rollout-duration';

/** Kubernetes object metadata: the keys tidegate reads, and the ones a `kubectl get -o yaml` adds, which it ignores. */
export const METADATA_KEYS = ['name', 'namespace', 'labels', 'annotations', 'generateName', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'ownerReferences', 'finalizers'] as const;
const TEMPLATE_KEYS = ['metadata', 'spec'] as const;
/** Revision spec = PodSpec + Knative's fields. Fields a local pod has no use for are accepted with a warning. */
const REVISION_SPEC_USED = ['containers', 'containerConcurrency', 'timeoutSeconds', 'responseStartTimeoutSeconds', 'idleTimeoutSeconds'] as const;
const REVISION_SPEC_IGNORED = ['serviceAccountName', 'imagePullSecrets', 'volumes', 'enableServiceLinks', 'automountServiceAccountToken', 'nodeSelector', 'tolerations', 'affinity', 'securityContext', 'runtimeClassName', 'priorityClassName', 'dnsPolicy', 'dnsConfig', 'hostAliases', 'topologySpreadConstraints', 'schedulerName', 'initContainers'] as const;
const CONTAINER_USED = ['name', 'image', 'command', 'args', 'env', 'ports', 'readinessProbe'] as const;
const CONTAINER_IGNORED = ['livenessProbe', 'startupProbe', 'resources', 'workingDir', 'securityContext', 'volumeMounts', 'imagePullPolicy', 'envFrom', 'lifecycle', 'terminationMessagePath', 'terminationMessagePolicy'] as const;

function warnIgnored(r: Reporter, fields: Map<string, Field>, ignored: readonly string[], why: string): void {
  for (const key of ignored) {
    const f = fields.get(key);
    if (f) r.warn(f.keyNode, `${f.path}: ignored: ${why}`);
  }
}

/** The revision of one Service document, as a node of tidegate's `revisions:` list. */
export function revisionNode(r: Reporter, spec: Field, serviceName: Node | null, serviceNameText: string, generation: number): YAMLMap | undefined {
  const specFields = readMap(r, spec.node, spec.path, ['template', 'traffic'], spec.keyNode);
  const template = specFields?.get('template');
  if (!specFields || !template) {
    if (specFields) r.at(spec.keyNode, `${spec.path}: missing key "template" (the revision to run)`);
    return undefined;
  }
  const t = readMap(r, template.node, template.path, TEMPLATE_KEYS, template.keyNode);
  if (!t) return undefined;
  const meta = t.get('metadata');
  const metaFields = meta ? readMap(r, meta.node, meta.path, METADATA_KEYS, meta.keyNode) : undefined;
  const podField = t.get('spec');
  if (!podField) {
    r.at(template.keyNode, `${template.path}: missing key "spec" (the containers to run)`);
    return undefined;
  }
  const pod = readMap(r, podField.node, podField.path, [...REVISION_SPEC_USED, ...REVISION_SPEC_IGNORED], podField.keyNode);
  if (!pod) return undefined;
  warnIgnored(r, pod, REVISION_SPEC_IGNORED, 'a local pod runs as a child process of tidegate');

  // Knative names revisions {service}-{generation, 5 digits} unless the template names one.
  const nameField = metaFields?.get('name');
  const name = nameField?.node ?? scalar(`${serviceNameText}-${String(generation).padStart(5, '0')}`, serviceName);
  const entries: [string, Node | null | undefined, Node | null][] = [['name', nameField?.keyNode ?? serviceName, name]];
  for (const key of ['containerConcurrency', 'timeoutSeconds', 'responseStartTimeoutSeconds', 'idleTimeoutSeconds'] as const) {
    const f = pod.get(key);
    if (f) entries.push([key, f.keyNode, f.node]);
  }

  const annotations = splitAnnotations(r, metaFields?.get('annotations'));
  if (annotations.autoscaling.length > 0) entries.push(['annotations', metaFields?.get('annotations')?.keyNode, mapOf(annotations.autoscaling)]);
  const runs = annotations.runs;
  const container = containerEntries(r, pod.get('containers'), podField, runs.length > 0);
  entries.push(...runs, ...container);
  return mapOf(entries);
}

type Entry = [string, Node | null | undefined, Node | null];

/** Template annotations: Knative's autoscaling ones stay annotations; tidegate's choose an actuator; the rest are ignored with a warning. */
function splitAnnotations(r: Reporter, f: Field | undefined): { autoscaling: Entry[]; runs: Entry[] } {
  const out = { autoscaling: [] as Entry[], runs: [] as Entry[] };
  if (!f) return out;
  const fields = readMap(r, f.node, f.path, null, f.keyNode);
  for (const a of fields?.values() ?? []) {
    if (a.key.startsWith(ANNOTATION_PREFIX)) out.autoscaling.push([a.key, a.keyNode, a.node]);
    else if (a.key === ENDPOINTS_ANNOTATION) {
      const text = readValue(r, a, aString);
      if (text !== undefined) out.runs.push(['endpoints', a.keyNode, seqOf(text.split(',').map((e) => scalar(e.trim(), a.node)), a.node)]);
    } else if (a.key === KUBERNETES_ANNOTATION) {
      const text = readValue(r, a, aString);
      const m = text === undefined ? null : /^([^/]+)\/([^:]+):(\d+)$/.exec(text.trim());
      if (text !== undefined && !m) r.at(a.node, `${a.path}: must be "namespace/deployment:port", got ${JSON.stringify(text)}`);
      else if (m) out.runs.push(['kubernetes', a.keyNode, mapOf([['namespace', a.node, scalar(m[1], a.node)], ['deployment', a.node, scalar(m[2], a.node)], ['port', a.node, scalar(Number(m[3]), a.node)]])]);
    } else r.warn(a.keyNode, `${a.path}: ignored: tidegate reads ${ANNOTATION_PREFIX}…, ${ENDPOINTS_ANNOTATION} and ${KUBERNETES_ANNOTATION} on a revision template`);
  }
  return out;
}

/** containers[0]: command + args → the local pod's command, env → env, readinessProbe as is. */
function containerEntries(r: Reporter, f: Field | undefined, podField: Field, otherActuator: boolean): Entry[] {
  if (!f) {
    r.at(podField.keyNode, `${podField.path}: missing key "containers"`);
    return [];
  }
  const items = readList(r, f);
  if (!items) return [];
  if (items.length !== 1) {
    r.at(f.keyNode, `${f.path}: tidegate runs one container per revision, got ${items.length}`);
    return [];
  }
  const item = items[0]!;
  const c = readMap(r, item.node, item.path, [...CONTAINER_USED, ...CONTAINER_IGNORED], f.keyNode);
  if (!c) return [];
  warnIgnored(r, c, CONTAINER_IGNORED, 'a local pod runs as a child process of tidegate');
  const out: Entry[] = [];
  const image = c.get('image');
  const command = c.get('command');
  const args = c.get('args');
  if (otherActuator) {
    for (const key of ['command', 'args', 'env'] as const) {
      const x = c.get(key);
      if (x) r.warn(x.keyNode, `${x.path}: ignored: the revision runs on the pods its tidegate.dev/ annotation names`);
    }
  } else if (!command) {
    const what = image && isScalar(image.node) ? ` instead of the image ${JSON.stringify(image.node.value)}` : '';
    r.at(image?.keyNode ?? item.node, `${item.path}: needs "command" (and "args"): tidegate runs the container as a local process${what} and pulls no image; or give the annotation ${ENDPOINTS_ANNOTATION} or ${KUBERNETES_ANNOTATION}`);
  } else {
    const commandItems = readList(r, command) ?? [];
    const argItems = args ? (readList(r, args) ?? []) : [];
    out.push(['command', command.keyNode, seqOf([...commandItems, ...argItems].map((x) => x.node ?? scalar(null, command.node)), command.node)]);
    if (image && isScalar(image.node)) r.warn(image.keyNode, `${image.path}: the image ${JSON.stringify(image.node.value)} is not pulled: tidegate runs the command as a local process`);
  }
  const env = c.get('env');
  if (env && !otherActuator) {
    const entries: Entry[] = [];
    for (const e of readList(r, env) ?? []) {
      const ef = readMap(r, e.node, e.path, ['name', 'value', 'valueFrom'], env.keyNode);
      const n = ef?.get('name');
      const from = ef?.get('valueFrom');
      if (from) r.at(from.keyNode, `${from.path}: valueFrom needs a cluster (Secrets, ConfigMaps, the downward API); give the value`);
      const nameText = n && readValue(r, n, aString);
      if (ef && !n) r.at(e.node, `${e.path}: missing key "name"`);
      if (nameText !== undefined && n) entries.push([nameText, n.node, ef?.get('value')?.node ?? scalar('', n.node)]);
    }
    out.push(['env', env.keyNode, mapOf(entries)]);
  }
  const probe = c.get('readinessProbe');
  if (probe) out.push(['readinessProbe', probe.keyNode, probe.node]);
  const ports = c.get('ports');
  if (ports) {
    // Knative sets PORT to ports[0].containerPort; tidegate sets PORT to a free port of its own, so an app reading $PORT runs unchanged.
    const first = (readList(r, ports) ?? [])[0];
    const pf = first && readMap(r, first.node, first.path, ['containerPort', 'name', 'protocol', 'hostPort', 'hostIP'], ports.keyNode);
    const cp = pf?.get('containerPort');
    if (cp) readValue(r, cp, (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535 ? { ok: true, value: v } : { ok: false, reason: 'must be a port in 1..65535' }));
    // Knative's convention: the port's name says how to speak to the app (h2c: HTTP/2 with prior knowledge, as gRPC needs).
    const pn = pf?.get('name');
    const protocol = pn && readValue(r, pn, (v) => (v === 'h2c' || v === 'http1' ? { ok: true, value: v } : { ok: false, reason: 'must be h2c or http1 (Knative allows only these port names)' }));
    if (pn && protocol !== undefined) out.push(['protocol', pn.keyNode, scalar(protocol, pn.node)]);
  }
  return out;
}
