/**
 * One entry of a service's `revisions:` list. A revision runs in exactly one
 * way: `command` (local processes), `endpoints` (static pods) or
 * `kubernetes` (a Deployment's scale subresource).
 */
import { isScalar, type Node } from 'yaml';
import type { AutoscalerSettings, KubernetesTarget, RevisionDefaults, RevisionSpec, UpstreamProtocol } from './types.js';
import { DEFAULT_READINESS_PROBE, DEFAULT_REVISION_DEFAULTS, REVISION_DEFAULTS } from './defaults.js';
import { readReadinessProbe } from './readiness-probe.js';
import { readAnnotations } from './autoscaling.js';
import { dns1123LabelReason, endpointReason, envNameReason } from './names.js';
import { aBoolean, aNumber, aString, join, oneOf, readList, readMap, readValue, valueNode, withRule, type Check, type Field, type Reporter } from './yaml-reader.js';

const REVISION_KEYS = [
  'name', 'command', 'endpoints', 'kubernetes', 'env', 'readinessPath', 'readinessProbe', 'containerConcurrency',
  'timeoutSeconds', 'responseStartTimeoutSeconds', 'idleTimeoutSeconds', 'queueProxy', 'protocol', 'annotations',
] as const;
/** How the edge speaks to a pod: Knative's port names (`h2c`: HTTP/2 with prior knowledge, as gRPC needs). */
export const PROTOCOLS = ['http1', 'h2c'] as const;
const RUNS = ['command', 'endpoints', 'kubernetes'] as const;

export interface RevisionRead {
  /** Set when the name itself is valid, even if other fields are not, so duplicates are still found. */
  name: string;
  /** Where the name is, to point at for duplicates. */
  nameNode: Node;
  /** Set when the whole revision is valid. */
  spec: RevisionSpec | undefined;
}

function readStrings(r: Reporter, f: Field, check: Check<string>): string[] | undefined {
  const items = readList(r, f);
  if (!items) return undefined;
  if (items.length === 0) {
    r.at(valueNode(f), `${f.path}: must not be empty, got []`);
    return undefined;
  }
  const out: string[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const v = readValue(r, itemField(f, item.node, i), check);
    if (v === undefined) ok = false;
    else out.push(v);
  });
  return ok ? out : undefined;
}

/** A list item seen as a field, so value readers can report at it. */
export function itemField(list: Field, node: Node | null, i: number): Field {
  return { key: String(i), path: `${list.path}[${i}]`, keyNode: (node ?? list.keyNode) as Field['keyNode'], node, value: isScalar(node) ? node.value : undefined };
}

function readKubernetes(r: Reporter, f: Field): KubernetesTarget | undefined {
  const fields = readMap(r, f.node, f.path, ['namespace', 'deployment', 'port'], f.keyNode);
  if (!fields) return undefined;
  let ok = true;
  for (const key of ['namespace', 'deployment', 'port']) {
    if (!fields.has(key)) {
      r.at(valueNode(f), `${f.path}: missing key "${key}" (kubernetes needs namespace, deployment and port)`);
      ok = false;
    }
  }
  const ns = fields.get('namespace');
  const dep = fields.get('deployment');
  const port = fields.get('port');
  const namespace = ns && readValue(r, ns, withRule(aString, dns1123LabelReason));
  const deployment = dep && readValue(r, dep, withRule(aString, (v) => (v.split('.').every((l) => dns1123LabelReason(l) === null) && v.length <= 253 ? null : 'must be a DNS-1123 subdomain (a Deployment name)')));
  const portNumber = port && readValue(r, port, aNumber({ min: 1, max: 65535, integer: true }));
  if (!ok || namespace === undefined || deployment === undefined || portNumber === undefined) return undefined;
  return { namespace, deployment, port: portNumber };
}

function readEnv(r: Reporter, f: Field): Record<string, string> {
  const env: Record<string, string> = {};
  const fields = readMap(r, f.node, f.path, null, f.keyNode);
  for (const v of fields?.values() ?? []) {
    const reason = envNameReason(v.key);
    if (reason) r.at(v.keyNode, `${v.path}: ${reason}, got ${JSON.stringify(v.key)}`);
    // PORT and HOST are how the local actuator tells the process where to listen (HOST keeps it on loopback).
    else if (v.key === 'PORT') r.at(v.keyNode, `${v.path}: PORT is set by tidegate to the port the pod must listen on`);
    else if (v.key === 'HOST') r.at(v.keyNode, `${v.path}: HOST is set by tidegate to the address the pod must listen on (127.0.0.1)`);
    const value = readValue<string>(r, v, (x) => (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' ? { ok: true, value: String(x) } : { ok: false, reason: 'must be a string' }));
    if (value !== undefined) env[v.key] = value;
  }
  return env;
}

const readinessPath: Check<string | null> = (v) =>
  v === null ? { ok: true, value: null } : typeof v === 'string' && v.startsWith('/') ? { ok: true, value: v } : { ok: false, reason: 'must be a URL path starting with "/" (or null for a TCP probe)' };

export function readRevision(
  r: Reporter,
  node: Node | null,
  path: string,
  service: string,
  global: AutoscalerSettings,
  at: Node,
  defaults: RevisionDefaults = DEFAULT_REVISION_DEFAULTS,
): RevisionRead | undefined {
  const fields = readMap(r, node, path, REVISION_KEYS, at);
  if (!fields) return undefined;
  const nameField = fields.get('name');
  if (!nameField) r.at(node, `${path}: missing key "name"`);
  const name = nameField && readValue(r, nameField, withRule(aString, dns1123LabelReason));

  // File order, so the problem points at whichever came second.
  const runs = [...fields.keys()].filter((k) => (RUNS as readonly string[]).includes(k));
  if (runs.length === 0) r.at(nameField?.keyNode ?? node, `${path}: needs one of command (local processes), endpoints (static pods) or kubernetes`);
  for (const extra of runs.slice(1)) {
    r.at((fields.get(extra) as Field).keyNode, `${join(path, extra)}: a revision has exactly one of command, endpoints, kubernetes; this one also has ${runs[0]}`);
  }
  const commandField = fields.get('command');
  const endpointsField = fields.get('endpoints');
  const kubernetesField = fields.get('kubernetes');
  const command = commandField ? readStrings(r, commandField, aString) : undefined;
  const endpoints = endpointsField ? readStrings(r, endpointsField, withRule(aString, endpointReason)) : undefined;
  const kubernetes = kubernetesField ? readKubernetes(r, kubernetesField) : undefined;

  const get = <T>(key: string, check: Check<T>, fallback: T): T => {
    const f = fields.get(key);
    return f ? (readValue(r, f, check) ?? fallback) : fallback;
  };
  const envField = fields.get('env');
  const env = envField ? readEnv(r, envField) : {};
  const probePath = get('readinessPath', readinessPath, REVISION_DEFAULTS.readinessPath);
  const probeField = fields.get('readinessProbe');
  const pathField = fields.get('readinessPath');
  if (probeField && pathField) r.at(probeField.keyNode, `${join(path, 'readinessProbe')}: give readinessPath or readinessProbe, not both (readinessPath is readinessProbe.httpGet.path)`);
  const readinessProbe = probeField ? (readReadinessProbe(r, probeField) ?? DEFAULT_READINESS_PROBE) : { ...DEFAULT_READINESS_PROBE, path: probePath };
  const containerConcurrency = get('containerConcurrency', aNumber({ min: 0, integer: true }), REVISION_DEFAULTS.containerConcurrency);
  // Knative's bounds: timeoutSeconds ≤ max-revision-timeout-seconds, responseStart ≤ timeoutSeconds, idle ≤ the max (it may outlast timeoutSeconds: WebSockets).
  const max = defaults.maxRevisionTimeoutSeconds;
  const timeoutSeconds = get('timeoutSeconds', aNumber({ min: 1, max, integer: true }), Math.min(defaults.revisionTimeoutSeconds, max));
  const responseStartTimeoutSeconds = get('responseStartTimeoutSeconds', aNumber({ min: 0, max: timeoutSeconds, integer: true }), Math.min(defaults.revisionResponseStartTimeoutSeconds, timeoutSeconds));
  const idleTimeoutSeconds = get('idleTimeoutSeconds', aNumber({ min: 0, max, integer: true }), Math.min(defaults.revisionIdleTimeoutSeconds, max));
  const queueProxy = get('queueProxy', aBoolean, REVISION_DEFAULTS.queueProxy);
  const protocol = get<UpstreamProtocol>('protocol', oneOf(PROTOCOLS), REVISION_DEFAULTS.protocol);
  const { annotations, autoscaling } = readAnnotations(r, fields.get('annotations'), global);
  if (name === undefined) return undefined;
  const nameNode = valueNode(nameField as Field);
  if (runs.length !== 1) return { name, nameNode, spec: undefined };
  const spec: RevisionSpec = {
    name,
    service,
    command: command ?? null,
    endpoints: endpoints ?? null,
    kubernetes: kubernetes ?? null,
    env,
    readinessPath: readinessProbe.path,
    readinessProbe,
    containerConcurrency,
    timeoutSeconds,
    responseStartTimeoutSeconds,
    idleTimeoutSeconds,
    queueProxy,
    protocol,
    annotations,
    autoscaling,
  };
  return { name, nameNode, spec };
}
