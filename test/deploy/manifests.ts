/**
 * Reads deploy/kubernetes/ the way `kubectl kustomize` assembles it (the
 * files its kustomization lists, every YAML document in each, the `images:`
 * overrides applied), and small lookups the deploy tests share.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const KUSTOMIZE_DIR = path.resolve('deploy/kubernetes');

export interface Manifest {
  readonly file: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly [key: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { httpGet?: HttpGet; exec?: { command: string[] } } };
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string }>;
}

export interface HttpGet {
  path: string;
  port: number | string;
  httpHeaders?: Array<{ name: string; value: string }>;
}

export interface Probe {
  httpGet?: HttpGet;
}

export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    serviceAccountName?: string;
    terminationGracePeriodSeconds?: number;
    volumes?: Array<{ name: string; configMap?: { name: string } }>;
  };
}

export interface DeploymentManifest extends Manifest {
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: PodTemplate };
}

interface Kustomization {
  resources: string[];
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
}

export function readKustomization(): Kustomization {
  const docs = parseAllDocuments(fs.readFileSync(path.join(KUSTOMIZE_DIR, 'kustomization.yaml'), 'utf8'));
  return docs[0]!.toJS() as Kustomization;
}

/** Every document of `text`, failing on YAML errors (with the file named). */
export function parseManifests(text: string, file: string): Manifest[] {
  return parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${i + 1}: ${doc.errors[0]!.message}`);
    return { ...(doc.toJS() as Record<string, unknown>), file } as Manifest;
  });
}

function containersOf(m: Manifest): Container[] {
  const spec = (m as Partial<DeploymentManifest>).spec;
  return spec?.template?.spec?.containers ?? [];
}

/** The manifests of the kustomization's resources, with its image overrides applied (as kustomize renders them). */
export function loadManifests(): Manifest[] {
  const k = readKustomization();
  const all = k.resources.flatMap((r) => parseManifests(fs.readFileSync(path.join(KUSTOMIZE_DIR, r), 'utf8'), r));
  for (const m of all) {
    for (const c of containersOf(m)) {
      const override = k.images?.find((i) => c.image === i.name || c.image?.startsWith(`${i.name}:`));
      if (override) c.image = `${override.newName ?? override.name}:${override.newTag ?? 'latest'}`;
    }
  }
  return all;
}

export function find<T extends Manifest = Manifest>(all: readonly Manifest[], kind: string, name: string): T {
  const m = all.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return m as T;
}

export function deployments(all: readonly Manifest[]): DeploymentManifest[] {
  return all.filter((m): m is DeploymentManifest => m.kind === 'Deployment');
}

export function container(d: DeploymentManifest, name: string): Container {
  const c = d.spec.template.spec.containers.find((x) => x.name === name);
  if (!c) throw new Error(`Deployment ${d.metadata.name} has no container ${name}`);
  return c;
}

/** The value after `--flag` in a container's args (flags here are always `--flag value`). */
export function flag(c: Container, name: string): string | undefined {
  const args = c.args ?? [];
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export function envValue(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

/** A container port given by number or by name. */
export function portNumber(c: Container, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** Containers that run tidegate itself (the image's entrypoint, a tidegate command as args[0]). */
export function tidegateContainers(all: readonly Manifest[]): Array<{ deployment: DeploymentManifest; container: Container }> {
  return deployments(all).flatMap((d) =>
    d.spec.template.spec.containers.filter((c) => c.image?.startsWith('tidegate:') && !c.command).map((c) => ({ deployment: d, container: c })),
  );
}
