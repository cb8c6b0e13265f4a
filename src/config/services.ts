/**
 * The `services:` list: names, host names, revisions and traffic, with the
 * rules that span several entries (unique service and revision names, no
 * host answered by two services).
 */
import type { Node } from 'yaml';
import type { AutoscalerSettings, RevisionDefaults, ServiceSpec } from './types.js';
import { dns1035Reason, dns1123LabelReason, hostReason, serviceHost, tagHost } from './names.js';
import { parseDuration } from './units.js';
import { itemField, readRevision, type RevisionRead } from './revision.js';
import { readTraffic } from './traffic.js';
import { aString, aUnit, readList, readMap, readValue, valueNode, withRule, type Field, type Reporter } from './yaml-reader.js';

const SERVICE_KEYS = ['name', 'namespace', 'hosts', 'revisions', 'traffic', 'annotations'] as const;
const ROLLOUT_ANNOTATION = 'serving.knative.dev/rollout-duration';
const rolloutDuration = aUnit(parseDuration, { min: 0, max: 24 * 3_600_000, wholeSeconds: true, text: 'in 0s..24h' });

interface ServiceDraft {
  name: string | undefined;
  nameNode: Node | null;
  path: string;
  namespace: string | null;
  rolloutDurationMs: number;
  hosts: { host: string; node: Node }[];
  revisions: RevisionRead[];
  trafficField: Field | undefined;
}

export function readServices(r: Reporter, field: Field | undefined, domain: string, global: AutoscalerSettings, root: Node | null, defaults?: RevisionDefaults): ServiceSpec[] {
  if (!field) {
    r.at(root, 'services: missing key "services" (the list of services to route to)');
    return [];
  }
  const items = readList(r, field) ?? [];
  const drafts: ServiceDraft[] = [];
  const serviceNames = new Map<string, Node>();
  const revisionNames = new Map<string, { service: string; node: Node }>();

  for (const item of items) {
    const fields = readMap(r, item.node, item.path, SERVICE_KEYS, field.keyNode);
    if (!fields) continue;
    const nameField = fields.get('name');
    if (!nameField) r.at(item.node, `${item.path}: missing key "name"`);
    const name = nameField && readValue(r, nameField, withRule(aString, dns1035Reason));
    if (name !== undefined && nameField) {
      if (serviceNames.has(name)) r.at(valueNode(nameField), `${nameField.path}: duplicate service name ${JSON.stringify(name)}`);
      else serviceNames.set(name, valueNode(nameField));
    }
    const nsField = fields.get('namespace');
    const namespace = (nsField && readValue(r, nsField, withRule(aString, dns1123LabelReason))) ?? null;
    const draft: ServiceDraft = { name, nameNode: nameField ? valueNode(nameField) : item.node, path: item.path, namespace, rolloutDurationMs: readRollout(r, fields.get('annotations')), hosts: [], revisions: [], trafficField: fields.get('traffic') };

    const hostsField = fields.get('hosts');
    const hostItems = hostsField ? readList(r, hostsField) : undefined;
    hostItems?.forEach((h, i) => {
      const host = readValue(r, itemField(hostsField as Field, h.node, i), withRule(aString, hostReason));
      if (host !== undefined && h.node) draft.hosts.push({ host: host.toLowerCase(), node: h.node });
    });

    const revisionsField = fields.get('revisions');
    if (!revisionsField) r.at(draft.nameNode, `${item.path}: missing key "revisions" (a service needs at least one revision)`);
    const revisionItems = revisionsField ? readList(r, revisionsField) : undefined;
    if (revisionItems && revisionItems.length === 0) r.at(valueNode(revisionsField as Field), `${(revisionsField as Field).path}: a service needs at least one revision, got []`);
    for (const rev of revisionItems ?? []) {
      const read = readRevision(r, rev.node, rev.path, name ?? '', global, (revisionsField as Field).keyNode, defaults);
      if (!read) continue;
      const first = revisionNames.get(read.name);
      if (first) {
        r.at(read.nameNode, `${rev.path}.name: duplicate revision name ${JSON.stringify(read.name)} (already in service ${first.service}; revision names are unique across services)`);
        continue;
      }
      revisionNames.set(read.name, { service: name ?? '', node: read.nameNode });
      draft.revisions.push(read);
    }
    drafts.push(draft);
  }

  const owners = new Map([...revisionNames].map(([rev, v]) => [rev, v.service]));
  const services: ServiceSpec[] = [];
  for (const d of drafts) {
    if (d.name === undefined) continue;
    const traffic = readTraffic(r, d.trafficField, { service: d.name, own: d.revisions.map((x) => x.name), owners });
    const own = serviceHost(d.name, d.namespace, domain);
    const hosts = [own, ...d.hosts.map((h) => h.host).filter((h) => h !== own)];
    services.push({ name: d.name, namespace: d.namespace, hosts: [...new Set(hosts)], rolloutDurationMs: d.rolloutDurationMs, revisions: d.revisions.flatMap((x) => (x.spec ? [x.spec] : [])), traffic });
  }
  checkHosts(r, drafts, services, domain);
  return services;
}

/** A service's `annotations:`: Knative's route annotation `serving.knative.dev/rollout-duration` only. */
function readRollout(r: Reporter, field: Field | undefined): number {
  if (!field) return 0;
  let ms = 0;
  for (const f of readMap(r, field.node, field.path, [ROLLOUT_ANNOTATION], field.keyNode)?.values() ?? []) ms = readValue(r, f, rolloutDuration) ?? 0;
  return ms;
}

/** No host may be answered by two services: `{name}.{domain}`, `{tag}-{name}.{domain}` and extra hosts. */
function checkHosts(r: Reporter, drafts: readonly ServiceDraft[], services: readonly ServiceSpec[], domain: string): void {
  const owner = new Map<string, string>();
  for (const s of services) owner.set(serviceHost(s.name, s.namespace, domain), s.name);
  for (const s of services) {
    for (const t of s.traffic) {
      if (t.tag === null) continue;
      const host = tagHost(t.tag, s.name, s.namespace, domain);
      const other = owner.get(host);
      if (other !== undefined && other !== s.name) r.at(drafts.find((d) => d.name === s.name)?.nameNode, `services: tag host ${host} of service ${s.name} is also service ${other}'s host`);
      else owner.set(host, s.name);
    }
  }
  for (const d of drafts) {
    if (d.name === undefined) continue;
    for (const h of d.hosts) {
      const other = owner.get(h.host);
      if (other !== undefined && other !== d.name) r.at(h.node, `${d.path}.hosts: host ${JSON.stringify(h.host)} is already a host of service ${other}`);
      else owner.set(h.host, d.name);
    }
  }
}
