import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

/** Where and how to reach the Kubernetes API server. */
export interface KubeConnection {
  readonly server: string; // e.g. "https://10.0.0.1:443"
  readonly ca?: Buffer;
  readonly insecureSkipTlsVerify?: boolean;
  /** A fixed bearer token (kubeconfig `token`). */
  readonly token?: string;
  /** A token file read before every request: service-account tokens are rotated. */
  readonly tokenFile?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Where the settings came from, for logs and errors. */
  readonly source: string;
}

export interface KubeConnectionOptions {
  /** A kubeconfig to use, whatever the environment says. */
  readonly kubeconfigPath?: string;
  /** Service-account files (default /var/run/secrets/kubernetes.io/serviceaccount). */
  readonly serviceAccountDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly homeDir?: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * In-cluster (KUBERNETES_SERVICE_HOST/PORT and the pod's service-account
 * token and CA) when available, else a kubeconfig (KUBECONFIG's first file
 * or ~/.kube/config), as kubectl and client-go decide.
 */
export async function loadKubeConnection(opts: KubeConnectionOptions = {}): Promise<KubeConnection> {
  const env = opts.env ?? process.env;
  if (opts.kubeconfigPath) return fromKubeconfig(opts.kubeconfigPath);
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (host && port && (await exists(path.join(dir, 'token')))) return inCluster(host, port, dir);
  const listed = env['KUBECONFIG']?.split(path.delimiter).find((p) => p !== '');
  return fromKubeconfig(listed ?? path.join(opts.homeDir ?? os.homedir(), '.kube', 'config'));
}

async function inCluster(host: string, port: string, dir: string): Promise<KubeConnection> {
  const h = host.includes(':') ? `[${host}]` : host; // IPv6 service address
  const caFile = path.join(dir, 'ca.crt');
  const ca = (await exists(caFile)) ? await fs.readFile(caFile) : undefined;
  return { server: `https://${h}:${port}`, tokenFile: path.join(dir, 'token'), ...(ca ? { ca } : {}), source: `in-cluster service account (${dir})` };
}

type Doc = Record<string, unknown>;

function named(list: unknown, name: string, what: string, file: string): Doc {
  const entry = Array.isArray(list) ? (list as Doc[]).find((e) => e && e['name'] === name) : undefined;
  if (!entry) throw new Error(`${file}: ${what} '${name}' not found`);
  return (entry[what] as Doc | undefined) ?? {};
}

async function fromKubeconfig(file: string): Promise<KubeConnection> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`no Kubernetes credentials: not in a cluster and cannot read kubeconfig ${file} (${(err as Error).message})`, { cause: err });
  }
  const doc = (parse(text) ?? {}) as Doc;
  const current = doc['current-context'];
  if (typeof current !== 'string' || current === '') throw new Error(`${file}: no current-context`);
  const context = named(doc['contexts'], current, 'context', file);
  const cluster = named(doc['clusters'], String(context['cluster']), 'cluster', file);
  const userName = typeof context['user'] === 'string' ? context['user'] : null;
  const user = userName === null ? {} : named(doc['users'], userName, 'user', file);
  const server = cluster['server'];
  if (typeof server !== 'string') throw new Error(`${file}: cluster '${String(context['cluster'])}' has no server`);
  if (user['exec'] || user['auth-provider']) throw new Error(`${file}: user '${userName}' uses an exec/auth-provider plugin; tidegate supports token, tokenFile and client certificates`);
  const dir = path.dirname(file);
  const ca = await material(cluster, 'certificate-authority', dir);
  const cert = await material(user, 'client-certificate', dir);
  const key = await material(user, 'client-key', dir);
  const token = typeof user['token'] === 'string' ? user['token'] : undefined;
  const tokenFile = typeof user['tokenFile'] === 'string' ? path.resolve(dir, user['tokenFile']) : undefined;
  return {
    server: server.replace(/\/+$/, ''),
    ...(ca ? { ca } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
    ...(token ? { token } : {}),
    ...(tokenFile ? { tokenFile } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    source: `kubeconfig ${file} (context ${current})`,
  };
}

/** `NAME-data` (base64) or `NAME` (a path, relative to the kubeconfig's directory). */
async function material(section: Doc, name: string, dir: string): Promise<Buffer | undefined> {
  const data = section[`${name}-data`];
  if (typeof data === 'string') return Buffer.from(data, 'base64');
  const file = section[name];
  if (typeof file === 'string') return fs.readFile(path.resolve(dir, file));
  return undefined;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
