/**
 * Throwaway certificates made with the openssl CLI: one CA per call of
 * makeCertificates (a test file makes one and issues what it needs), and
 * leaf certificates signed by it for chosen names and validity. `openssl ca`
 * rather than `openssl x509 -req`, because OpenSSL 3.0 can backdate only
 * through `ca -startdate/-enddate` (x509's -not_before/-not_after came in 3.4).
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const HOUR_MS = 3_600_000;

export interface LeafFiles {
  /** Absolute paths of the PEM certificate and its private key. */
  readonly cert: string;
  readonly key: string;
  readonly names: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface IssueOptions {
  /** File name stem in the directory (default leaf-N). */
  name?: string;
  /** Default: an hour ago. */
  notBefore?: Date;
  /** Default: notBefore + `days`. */
  notAfter?: Date;
  /** Default 30 (beyond the 14 days under which a load warns). */
  days?: number;
}

export interface TestCertificates {
  readonly dir: string;
  /** The CA certificate, PEM: what a client trusts. */
  readonly ca: string;
  readonly caFile: string;
  /** The leaf for the names makeCertificates was given. */
  readonly leaf: LeafFiles;
  /** Another leaf signed by the same CA. */
  issue(names: readonly string[], opts?: IssueOptions): Promise<LeafFiles>;
  cleanup(): void;
}

/** openssl ca's time format: YYYYMMDDHHMMSSZ. */
function asn1Time(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function san(names: readonly string[]): string {
  return names.map((n) => (/^[\d.]+$/.test(n) || n.includes(':') ? `IP:${n}` : `DNS:${n}`)).join(', ');
}

const CA_CONFIG = `[ca]
default_ca = tg
[tg]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
`;

/** A CA in a new temporary directory, and a leaf for `names` valid from an hour ago for `opts.days` (30) days. */
export async function makeCertificates(names: readonly string[], opts: IssueOptions = {}): Promise<TestCertificates> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tidegate-certs-'));
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  writeFileSync(path.join(dir, 'ca.cnf'), CA_CONFIG);
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'serial'), '1000\n');
  await openssl('req', '-x509', ...EC, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '3650', '-subj', '/CN=tidegate test CA');
  const caFile = path.join(dir, 'ca.pem');
  let seq = 0;
  // openssl ca keeps its serial and index in files: one signing at a time.
  let queue: Promise<unknown> = Promise.resolve();

  const sign = async (leafNames: readonly string[], o: IssueOptions): Promise<LeafFiles> => {
    const stem = o.name ?? `leaf-${++seq}`;
    const notBefore = o.notBefore ?? new Date(Date.now() - HOUR_MS);
    const notAfter = o.notAfter ?? new Date(notBefore.getTime() + (o.days ?? 30) * 24 * HOUR_MS);
    const ext = `${stem}.ext`;
    writeFileSync(path.join(dir, ext), `[leaf]\nsubjectAltName = ${san(leafNames)}\nextendedKeyUsage = serverAuth\nbasicConstraints = CA:false\n`);
    await openssl('req', ...EC, '-keyout', `${stem}-key.pem`, '-out', `${stem}.csr`, '-subj', `/CN=${leafNames[0] ?? stem}`);
    await openssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca-key.pem', '-in', `${stem}.csr`, '-out', `${stem}.pem`, '-notext', '-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter), '-extfile', ext, '-extensions', 'leaf');
    return { cert: path.join(dir, `${stem}.pem`), key: path.join(dir, `${stem}-key.pem`), names: [...leafNames], notBefore, notAfter };
  };
  const issue = (leafNames: readonly string[], o: IssueOptions = {}): Promise<LeafFiles> => {
    const next = queue.then(() => sign(leafNames, o));
    queue = next.catch(() => undefined);
    return next;
  };

  const leaf = await issue(names, opts);
  return { dir, ca: readFileSync(caFile, 'utf8'), caFile, leaf, issue, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The serial number of the (first) certificate in a PEM file. */
export function serialOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).serialNumber;
}

/** Renews `target` in place as a certificate tool does (key first, then the chain): the files of `renewed` copied over it; the new serial. */
export function renewInPlace(target: LeafFiles, renewed: LeafFiles): string {
  copyFileSync(renewed.key, target.key);
  copyFileSync(renewed.cert, target.cert);
  return serialOf(renewed.cert);
}
