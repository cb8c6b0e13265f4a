/**
 * A file of Knative documents → the same config tree a tidegate config file
 * has, so one set of readers validates both. Documents: `serving.knative.dev/v1`
 * Services (several documents with one name are successive versions of that
 * Service: each template is a revision, in file order, and the last
 * document's traffic applies) and the ConfigMaps config-autoscaler,
 * config-domain and config-features.
 */
import { isMap, isScalar, parseAllDocuments, type LineCounter, type Node, type YAMLMap } from 'yaml';
import { aString, readMap, readValue, withRule, type Field, type Reporter } from '../yaml-reader.js';
import { dns1123LabelReason } from '../names.js';
import { mapOf, scalar, seqOf } from './nodes.js';
import { METADATA_KEYS, revisionNode, ROLLOUT_ANNOTATION } from './service.js';

const DOCUMENT_KEYS = ['apiVersion', 'kind', 'metadata', 'spec', 'data', 'status', 'binaryData'] as const;
const CONFIG_MAPS = ['config-autoscaler', 'config-domain', 'config-features'] as const;

/** A file is read as Knative documents when a document starts a top-level `apiVersion:` (a tidegate config has none). */
export function looksLikeManifest(text: string): boolean {
  return /^apiVersion\s*:/m.test(text);
}

interface ServiceGroup {
  name: Node;
  nameText: string;
  namespace: Node | null;
  annotations: Field | undefined;
  revisions: YAMLMap[];
  traffic: Field | undefined;
}

type Entry = [string, Node | null | undefined, Node | null];

/** The documents → a tidegate config tree (or null when the YAML itself is broken). */
export function manifestRoot(r: Reporter, text: string, lines: LineCounter): YAMLMap | null {
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  for (const d of list) for (const err of d.errors) r.atOffset(err.pos[0], `YAML: ${err.message}`);
  if (r.problems.length > 0) return null;

  const top: Entry[] = [];
  const groups = new Map<string, ServiceGroup>();
  list.forEach((d, i) => {
    const root = d.contents as Node | null;
    if (root === null) return; // an empty document (a trailing ---)
    const fields = readMap(r, root, `documents[${i}]`, DOCUMENT_KEYS);
    if (!fields) return;
    const kind = fields.get('kind');
    const api = fields.get('apiVersion');
    const kindText = kind && readValue(r, kind, aString);
    const apiText = api && readValue(r, api, aString);
    const meta = fields.get('metadata');
    const metaFields = meta ? readMap(r, meta.node, meta.path, METADATA_KEYS, meta.keyNode) : undefined;
    const nameField = metaFields?.get('name');
    const name = nameField && readValue(r, nameField, aString);
    if (kindText === undefined || apiText === undefined) {
      if (!kind || !api) r.at(root, `documents[${i}]: needs apiVersion and kind`);
      return;
    }
    if (name === undefined || !nameField) {
      if (!nameField) r.at(meta?.keyNode ?? root, `documents[${i}].metadata: missing key "name"`);
      return;
    }
    if (kindText === 'Service' && apiText === 'serving.knative.dev/v1') {
      const spec = fields.get('spec');
      if (!spec) {
        r.at(kind?.node, `documents[${i}]: a Service needs a spec`);
        return;
      }
      const nsField = metaFields?.get('namespace');
      const ns = nsField ? readValue(r, nsField, withRule(aString, dns1123LabelReason)) : 'default';
      const key = `${ns ?? ''}/${name}`;
      let g = groups.get(key);
      if (!g) {
        // kubectl puts a manifest without a namespace into "default"; so does tidegate.
        g = { name: nameField.node as Node, nameText: name, namespace: nsField?.node ?? scalar('default', nameField.node), annotations: undefined, revisions: [], traffic: undefined };
        groups.set(key, g);
      }
      g.annotations = metaFields?.get('annotations') ?? g.annotations;
      const rev = revisionNode(r, spec, nameField.node, name, g.revisions.length + 1);
      if (rev) g.revisions.push(rev);
      const specFields = isMap(spec.node) ? spec.node : null;
      const traffic = specFields?.items.find((p) => isScalar(p.key) && p.key.value === 'traffic');
      if (traffic) g.traffic = { key: 'traffic', path: `${spec.path}.traffic`, keyNode: traffic.key as Field['keyNode'], node: traffic.value as Node | null, value: undefined };
      return;
    }
    if (kindText === 'ConfigMap' && apiText === 'v1' && (CONFIG_MAPS as readonly string[]).includes(name)) {
      configMap(r, name, fields.get('data'), top);
      return;
    }
    if (kindText === 'ConfigMap') {
      r.warn(nameField.node, `documents[${i}]: ConfigMap ${name} ignored: tidegate reads ${CONFIG_MAPS.join(', ')}`);
      return;
    }
    r.at(kind?.node, `documents[${i}]: tidegate reads Knative Services (serving.knative.dev/v1) and the ConfigMaps ${CONFIG_MAPS.join(', ')}, got ${apiText} ${kindText}`);
  });

  const services = [...groups.values()].map((g) => {
    const entries: Entry[] = [['name', g.name, g.name], ['namespace', g.namespace, g.namespace], ['revisions', g.name, seqOf(g.revisions, g.name)]];
    if (g.traffic) entries.push(['traffic', g.traffic.keyNode, g.traffic.node]);
    const rollout = serviceAnnotations(r, g.annotations);
    if (rollout) entries.push(['annotations', g.annotations?.keyNode, mapOf([rollout])]);
    return mapOf(entries);
  });
  top.push(['services', null, seqOf(services, null)]);
  return mapOf(top);
}

/** A Service's own annotations: the rollout duration is read, others are Knative's business. */
function serviceAnnotations(r: Reporter, f: Field | undefined): Entry | undefined {
  if (!f) return undefined;
  let rollout: Entry | undefined;
  for (const a of readMap(r, f.node, f.path, null, f.keyNode)?.values() ?? []) {
    if (a.key === ROLLOUT_ANNOTATION) rollout = [a.key, a.keyNode, a.node];
    else r.warn(a.keyNode, `${a.path}: ignored: on a Service tidegate reads ${ROLLOUT_ANNOTATION} (autoscaling annotations belong on spec.template.metadata)`);
  }
  return rollout;
}

const TAG_HEADER = 'tag-header-based-routing';

function configMap(r: Reporter, name: string, data: Field | undefined, top: Entry[]): void {
  if (!data) return;
  if (name === 'config-autoscaler') {
    top.push(['autoscaler', data.keyNode, data.node]);
    return;
  }
  const fields = readMap(r, data.node, data.path, null, data.keyNode);
  if (!fields) return;
  if (name === 'config-domain') {
    // Knative: a key is a domain; an empty value makes it the default, a value is a label selector.
    let chosen = false;
    for (const f of fields.values()) {
      if (f.key === '_example') continue;
      const plain = f.node === null || (isScalar(f.node) && (f.node.value === '' || f.node.value === null));
      if (plain && !chosen) {
        top.push(['domain', f.keyNode, scalar(f.key, f.keyNode)]);
        chosen = true;
      } else r.warn(f.keyNode, `${f.path}: ignored: tidegate serves one domain, the first without a selector`);
    }
    return;
  }
  for (const f of fields.values()) {
    if (f.key === '_example') continue;
    if (f.key !== TAG_HEADER) {
      r.warn(f.keyNode, `${f.path}: ignored: of config-features tidegate reads ${TAG_HEADER}`);
      continue;
    }
    const v = readValue(r, f, (x) => (typeof x === 'string' && ['enabled', 'disabled', 'allowed'].includes(x.toLowerCase()) ? { ok: true, value: x.toLowerCase() } : { ok: false, reason: 'must be Enabled or Disabled' }));
    if (v !== undefined) top.push(['tagHeaderRouting', f.keyNode, scalar(v === 'enabled', f.node)]);
  }
}
