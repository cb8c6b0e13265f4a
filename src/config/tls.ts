/**
 * The `tls:` section (DESIGN.md "TLS (config)"): reading it, with every
 * certificate and key file read and checked at load so a broken certificate
 * is refused like a broken config, and the runtime object the TLS port
 * serves from (TlsContexts: SNI name → SecureContext).
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import path from 'node:path';
import tls, { type SecureContext } from 'node:tls';
import type { Node } from 'yaml';
import type { ConfigEnv, TlsCertificate, TlsConfig } from './types.js';
import { itemField } from './revision.js';
import { hostReason } from './names.js';
import { aBoolean, aString, oneOf, readList, readMap, readValue, valueNode, withRule, type Field, type Reporter } from './yaml-reader.js';

const TLS_KEYS = ['certificates', 'min-version', 'redirect-http', 'http2'] as const;
const CERTIFICATE_KEYS = ['hosts', 'cert', 'key'] as const;
const MIN_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
const DAY_MS = 86_400_000;
/** A certificate that expires sooner than this is worth a warning at every load. */
export const EXPIRY_WARNING_MS = 14 * DAY_MS;

/** A host a certificate answers for: a host name, or "*." and one. Trailing dot dropped, lower-cased. */
export function tlsHostReason(host: string): string | null {
  const h = host.replace(/\.$/, '');
  const name = h.startsWith('*.') ? h.slice(2) : h;
  if (name.includes('*')) return 'a wildcard is allowed only as the whole first label, e.g. "*.example.com"';
  return hostReason(name);
}

function normalHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/** `tls:` → TlsConfig, or undefined with the problems reported. `baseDir`: where relative file names start. */
export function readTls(r: Reporter, field: Field, baseDir: string, env: ConfigEnv | undefined): TlsConfig | undefined {
  const fields = readMap(r, field.node, field.path, TLS_KEYS, field.keyNode);
  if (!fields) return undefined;
  const mv = fields.get('min-version');
  const minVersion = mv ? readValue(r, mv, oneOf(MIN_VERSIONS)) : 'TLSv1.2';
  const rh = fields.get('redirect-http');
  const redirectHttp = rh ? readValue(r, rh, aBoolean) : false;
  const h2 = fields.get('http2');
  const http2 = h2 ? readValue(r, h2, aBoolean) : true;
  // Reported, and the certificates still checked: one load names every mistake of the section.
  const versionRefused = http2 === false && minVersion === 'TLSv1.3' && mv !== undefined;
  if (versionRefused) {
    r.at(valueNode(mv), `${mv.path}: TLSv1.3 needs http2: true (with http2: false the TLS port is uWebSockets.js's own TLS, which has no minimum-version setting: it accepts TLSv1.2 and TLSv1.3)`);
  }
  const list = fields.get('certificates');
  if (!list) {
    r.at(field.keyNode, `${field.path}: missing key "certificates" (at least one certificate and its key)`);
    return undefined;
  }
  if (env === undefined) {
    // Only a caller that parses text from nowhere gets here: loadConfigFile and the watcher pass the disk.
    r.at(field.keyNode, `${field.path}: the certificate files cannot be read here (no file reader was given to the parser)`);
    return undefined;
  }
  const items = readList(r, list);
  if (!items) return undefined;
  if (items.length === 0) {
    r.at(valueNode(list), `${list.path}: must list at least one certificate (the first is the default), got []`);
    return undefined;
  }
  const owners = new Map<string, string>();
  const certificates: TlsCertificate[] = [];
  for (const item of items) {
    const c = readCertificate(r, item, list.keyNode, baseDir, env, minVersion ?? 'TLSv1.2', owners);
    if (c) certificates.push(c);
  }
  if (versionRefused || minVersion === undefined || redirectHttp === undefined || http2 === undefined || certificates.length !== items.length) return undefined;
  return { certificates, minVersion, redirectHttp, http2 };
}

function readCertificate(
  r: Reporter,
  item: { node: Node | null; path: string },
  at: Node,
  baseDir: string,
  env: ConfigEnv,
  minVersion: tls.SecureVersion,
  owners: Map<string, string>,
): TlsCertificate | undefined {
  const fields = readMap(r, item.node, item.path, CERTIFICATE_KEYS, at);
  if (!fields) return undefined;
  for (const key of CERTIFICATE_KEYS) if (!fields.has(key)) r.at(item.node, `${item.path}: missing key "${key}"`);
  const hostsField = fields.get('hosts');
  const hosts = hostsField && readHosts(r, hostsField, item.path, owners);
  const certField = fields.get('cert');
  const keyField = fields.get('key');
  const cert = certField && readFile(r, certField, baseDir, env, 'certificate');
  const key = keyField && readFile(r, keyField, baseDir, env, 'private key');
  if (!hosts || !cert || !key || !certField || !keyField) return undefined;

  const chain = parseChain(r, certField, cert);
  const keyObject = parseKey(r, keyField, key);
  const leaf = chain?.[0];
  if (!chain || !leaf || !keyObject) return undefined;
  if (!leaf.checkPrivateKey(keyObject)) {
    r.at(valueNode(keyField), `${keyField.path}: the key ${key.name} does not match the certificate ${cert.name}`);
    return undefined;
  }
  try {
    // What the TLS port will do with them; it refuses what the checks above cannot see (e.g. a key too weak for OpenSSL's security level).
    tls.createSecureContext({ cert: cert.text, key: key.text, minVersion });
  } catch (err) {
    r.at(valueNode(certField), `${certField.path}: the certificate ${cert.name} and key ${key.name} are refused by TLS: ${messageOf(err)}`);
    return undefined;
  }
  warnDates(r, certField, cert.name, hosts, chain, env.now);
  warnNames(r, cert.name, hosts, leaf);
  return {
    hosts: hosts.map((h) => h.host),
    certFile: cert.absolute,
    keyFile: key.absolute,
    certPem: cert.text,
    keyPem: key.text,
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
  };
}

interface HostRead {
  host: string;
  path: string;
  node: Node;
}

function readHosts(r: Reporter, f: Field, owner: string, owners: Map<string, string>): HostRead[] | undefined {
  const items = readList(r, f);
  if (!items) return undefined;
  if (items.length === 0) {
    r.at(valueNode(f), `${f.path}: must list at least one host name, got []`);
    return undefined;
  }
  const out: HostRead[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const hf = itemField(f, item.node, i);
    const raw = readValue(r, hf, withRule(aString, tlsHostReason));
    if (raw === undefined) {
      ok = false;
      return;
    }
    const host = normalHost(raw);
    const first = owners.get(host);
    if (first !== undefined) {
      r.at(valueNode(hf), `${hf.path}: host ${JSON.stringify(host)} is already listed by ${first}`);
      ok = false;
      return;
    }
    owners.set(host, owner);
    out.push({ host, path: hf.path, node: valueNode(hf) });
  });
  return ok ? out : undefined;
}

interface FileRead {
  /** As written in the config. */
  name: string;
  absolute: string;
  text: string;
}

function readFile(r: Reporter, f: Field, baseDir: string, env: ConfigEnv, what: string): FileRead | undefined {
  const name = readValue(r, f, aString);
  if (name === undefined) return undefined;
  const absolute = path.resolve(baseDir, name);
  try {
    return { name, absolute, text: env.readFile(absolute).toString('utf8') };
  } catch (err) {
    r.at(valueNode(f), `${f.path}: cannot read the ${what} file ${name} (${absolute}): ${readReason(err)}`);
    return undefined;
  }
}

function readReason(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return messageOf(err);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM chain, leaf first. */
function parseChain(r: Reporter, f: Field, file: FileRead): X509Certificate[] | undefined {
  const blocks = file.text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    r.at(valueNode(f), `${f.path}: ${file.name} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" block)`);
    return undefined;
  }
  const chain: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      chain.push(new X509Certificate(block));
    } catch (err) {
      const which = blocks.length > 1 ? `certificate ${i + 1} of ${blocks.length} in ${file.name}` : `the certificate in ${file.name}`;
      r.at(valueNode(f), `${f.path}: ${which} does not parse: ${messageOf(err)}`);
      return undefined;
    }
  }
  return chain;
}

function parseKey(r: Reporter, f: Field, file: FileRead): KeyObject | undefined {
  try {
    return createPrivateKey(file.text);
  } catch (err) {
    r.at(valueNode(f), `${f.path}: ${file.name} is not a PEM private key (unencrypted): ${messageOf(err)}`);
    return undefined;
  }
}

/** Not an error: an expired certificate still serves clients that do not check (and the old one would be no better). */
function warnDates(r: Reporter, f: Field, name: string, hosts: readonly HostRead[], chain: readonly X509Certificate[], now: number): void {
  const names = hosts.map((h) => h.host).join(', ');
  chain.forEach((c, i) => {
    const which = i === 0 ? `certificate ${name} for ${names}` : `certificate ${i + 1} of the chain in ${name} (${c.subject.replace(/\n/g, ', ')})`;
    const from = Date.parse(c.validFrom);
    const to = Date.parse(c.validTo);
    if (now < from) r.warn(valueNode(f), `${f.path}: ${which} is not valid until ${new Date(from).toISOString()}`);
    else if (now >= to) r.warn(valueNode(f), `${f.path}: ${which} expired on ${new Date(to).toISOString()}`);
    else if (to - now < EXPIRY_WARNING_MS) {
      const days = Math.floor((to - now) / DAY_MS);
      r.warn(valueNode(f), `${f.path}: ${which} expires on ${new Date(to).toISOString()} (in ${days === 0 ? 'less than a day' : days === 1 ? '1 day' : `${days} days`})`);
    }
  });
}

/** A host the certificate does not name: clients that verify will refuse it. */
function warnNames(r: Reporter, name: string, hosts: readonly HostRead[], leaf: X509Certificate): void {
  for (const h of hosts) {
    // A wildcard entry must be covered by a wildcard certificate: any one label below it must pass.
    const probe = h.host.startsWith('*.') ? `tidegate-sni-check${h.host.slice(1)}` : h.host;
    if (leaf.checkHost(probe) === undefined) {
      r.warn(h.node, `${h.path}: the certificate ${name} does not name ${h.host} (it names ${leaf.subjectAltName ?? leaf.subject.replace(/\n/g, ', ')}); clients that verify will refuse it`);
    }
  }
}

// ---- runtime ----

/** What the TLS port serves from, built once per loaded config (router/tls-server.ts's TlsCertificates). */
export interface TlsContexts {
  /** The first certificate's chain and key: tls.createServer's `cert` and `key`. */
  readonly defaultCert: Buffer;
  readonly defaultKey: Buffer;
  readonly minVersion: tls.SecureVersion;
  readonly redirectHttp: boolean;
  /** Absolute paths of every certificate and key file, to watch. */
  readonly files: readonly string[];
  /** Exact name first, then a wildcard for exactly one more label; case and a trailing dot do not matter; else the default. */
  contextFor(servername: string | undefined): SecureContext;
  /** tls.createServer's SNICallback (a bound function: pass it as it is). */
  readonly sniCallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;
}

class Contexts implements TlsContexts {
  readonly defaultCert: Buffer;
  readonly defaultKey: Buffer;
  readonly minVersion: tls.SecureVersion;
  readonly redirectHttp: boolean;
  readonly files: readonly string[];
  private readonly byName = new Map<string, SecureContext>();
  private readonly fallback: SecureContext;

  constructor(config: TlsConfig) {
    const first = config.certificates[0];
    if (first === undefined) throw new TypeError('a TlsConfig has at least one certificate');
    this.defaultCert = Buffer.from(first.certPem);
    this.defaultKey = Buffer.from(first.keyPem);
    this.minVersion = config.minVersion;
    this.redirectHttp = config.redirectHttp;
    this.files = [...new Set(config.certificates.flatMap((c) => [c.certFile, c.keyFile]))];
    const contexts = config.certificates.map((c) => tls.createSecureContext({ cert: c.certPem, key: c.keyPem, minVersion: config.minVersion }));
    config.certificates.forEach((c, i) => {
      for (const h of c.hosts) this.byName.set(h, contexts[i] as SecureContext);
    });
    this.fallback = contexts[0] as SecureContext;
  }

  contextFor(servername: string | undefined): SecureContext {
    if (servername === undefined || servername === '') return this.fallback;
    const name = normalHost(servername);
    const exact = this.byName.get(name);
    if (exact) return exact;
    const dot = name.indexOf('.');
    return (dot > 0 ? this.byName.get(`*${name.slice(dot)}`) : undefined) ?? this.fallback;
  }

  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    cb(null, this.contextFor(servername));
  };
}

const built = new WeakMap<TlsConfig, TlsContexts>();

/** The contexts of a loaded `tls:` section; the same object for the same (frozen) config, so a config's contexts are built once. */
export function tlsCertificatesOf(config: TlsConfig): TlsContexts {
  let c = built.get(config);
  if (!c) {
    c = new Contexts(config);
    built.set(config, c);
  }
  return c;
}
