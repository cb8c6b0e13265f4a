/**
 * parseConfig: YAML text (a tidegate config, or Knative Service and
 * ConfigMap documents) → the frozen Config, or every problem in the file
 * with its line and column. No clock, and no I/O of its own: the `tls:`
 * section's files come through the injected ConfigEnv.
 */
import { LineCounter, parseDocument, type Node } from 'yaml';
import path from 'node:path';
import type { ActivatorSettings, Config, ConfigEnv, ConfigProblem, LimitSettings, RevisionDefaults } from './types.js';
import { DEFAULT_ACTIVATOR, DEFAULT_DOMAIN, DEFAULT_LIMITS, DEFAULT_REVISION_DEFAULTS } from './defaults.js';
import { readAutoscaler } from './autoscaling.js';
import { deepFreeze, frozenMap } from './freeze.js';
import { hostReason } from './names.js';
import { looksLikeManifest, manifestRoot } from './knative/manifest.js';
import { readServices } from './services.js';
import { readTls } from './tls.js';
import { parseDuration, parseSize } from './units.js';
import { aBoolean, aNumber, aString, aUnit, readMap, readValue, Reporter, withRule, type Check, type Field } from './yaml-reader.js';

/** `warnings`: accepted but worth telling (printed by validate, logged by serve). */
export type ConfigResult = { ok: true; config: Config; warnings: ConfigProblem[] } | { ok: false; problems: ConfigProblem[] };

const TOP_KEYS = ['domain', 'tagHeaderRouting', 'autoscaler', 'defaults', 'activator', 'limits', 'tls', 'services'] as const;

function section<T extends object>(r: Reporter, field: Field | undefined, defaults: T, keys: Record<string, [keyof T, Check<number>]>): T {
  const out = { ...defaults };
  if (!field) return out;
  const fields = readMap(r, field.node, field.path, Object.keys(keys), field.keyNode);
  for (const f of fields?.values() ?? []) {
    const spec = keys[f.key];
    const value = spec && readValue(r, f, spec[1]);
    if (spec && value !== undefined) (out as Record<keyof T, unknown>)[spec[0]] = value;
  }
  return out;
}

function readActivator(r: Reporter, field: Field | undefined): ActivatorSettings {
  return section(r, field, DEFAULT_ACTIVATOR, {
    'max-buffered-requests': ['maxBufferedRequests', aNumber({ min: 0, integer: true })],
    'max-buffered-bytes': ['maxBufferedBytes', aUnit(parseSize)],
    'buffer-timeout': ['bufferTimeoutMs', aUnit(parseDuration, { min: 0, minExclusive: true, text: 'longer than 0s' })],
  });
}

/** Knative's config-defaults keys for revision timeouts, with its cross-checks (pkg/apis/config/defaults.go). */
function readRevisionDefaults(r: Reporter, field: Field | undefined): RevisionDefaults {
  const seconds = aNumber({ min: 0, integer: true });
  const d = section(r, field, DEFAULT_REVISION_DEFAULTS, {
    'revision-timeout-seconds': ['revisionTimeoutSeconds', aNumber({ min: 1, integer: true })],
    'max-revision-timeout-seconds': ['maxRevisionTimeoutSeconds', aNumber({ min: 1, integer: true })],
    'revision-response-start-timeout-seconds': ['revisionResponseStartTimeoutSeconds', seconds],
    'revision-idle-timeout-seconds': ['revisionIdleTimeoutSeconds', seconds],
  });
  const at = field?.keyNode ?? null;
  if (d.revisionTimeoutSeconds > d.maxRevisionTimeoutSeconds) r.at(at, `defaults: revision-timeout-seconds (${d.revisionTimeoutSeconds}) cannot be greater than max-revision-timeout-seconds (${d.maxRevisionTimeoutSeconds})`);
  if (d.revisionResponseStartTimeoutSeconds > d.revisionTimeoutSeconds) r.at(at, `defaults: revision-response-start-timeout-seconds (${d.revisionResponseStartTimeoutSeconds}) cannot be greater than revision-timeout-seconds (${d.revisionTimeoutSeconds})`);
  if (d.revisionIdleTimeoutSeconds > d.maxRevisionTimeoutSeconds) r.at(at, `defaults: revision-idle-timeout-seconds (${d.revisionIdleTimeoutSeconds}) cannot be greater than max-revision-timeout-seconds (${d.maxRevisionTimeoutSeconds})`);
  return d;
}

function readLimits(r: Reporter, field: Field | undefined): LimitSettings {
  return section(r, field, DEFAULT_LIMITS, {
    'max-body-size': ['maxBodyBytes', aUnit(parseSize)],
    // Below 1Ki not even a plain browser request fits.
    'max-header-size': ['maxHeaderBytes', aUnit(parseSize, { min: 1024, text: 'at least 1Ki' })],
  });
}

/**
 * `file` is what problems name (as the user wrote it); `absolutePath` goes
 * into Config.file, and the `tls:` files are relative to its directory.
 * `env` reads those files and says when "now" is (load.ts's diskEnv); the
 * rest of the parse does no I/O.
 */
export function parseConfig(text: string, file: string, absolutePath: string = file, env?: ConfigEnv): ConfigResult {
  const lines = new LineCounter();
  const r = new Reporter(file, lines);
  let root: Node | null;
  if (looksLikeManifest(text)) {
    // Knative documents become the same tree, their nodes keeping their place in the file.
    root = manifestRoot(r, text, lines);
    if (root === null) return { ok: false, problems: r.problems };
  } else {
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    for (const err of doc.errors) r.atOffset(err.pos[0], `YAML: ${err.message}`);
    if (doc.errors.length > 0) return { ok: false, problems: r.problems };
    root = doc.contents;
  }
  const top = readMap(r, root, '', TOP_KEYS);
  if (!top) return { ok: false, problems: r.problems };
  const domainField = top.get('domain');
  const domain = (domainField ? readValue(r, domainField, withRule(aString, hostReason)) : DEFAULT_DOMAIN)?.toLowerCase() ?? DEFAULT_DOMAIN;
  const tagField = top.get('tagHeaderRouting');
  const tagHeaderRouting = (tagField && readValue(r, tagField, aBoolean)) ?? false;
  const autoscaler = readAutoscaler(r, top.get('autoscaler'));
  const activator = readActivator(r, top.get('activator'));
  const limits = readLimits(r, top.get('limits'));
  const revisionDefaults = readRevisionDefaults(r, top.get('defaults'));
  const tlsField = top.get('tls');
  const tls = tlsField && readTls(r, tlsField, path.dirname(path.resolve(absolutePath)), env);
  const services = readServices(r, top.get('services'), domain, autoscaler, root, revisionDefaults);
  if (r.problems.length > 0) return { ok: false, problems: sortProblems(r.problems) };

  const revisions = frozenMap(services.flatMap((s) => s.revisions.map((rev) => [rev.name, deepFreeze(rev)] as const)));
  const config: Config = { file: absolutePath, domain, tagHeaderRouting, autoscaler, activator, limits, services, revisions, ...(tls ? { tls } : {}) };
  return { ok: true, config: deepFreeze(config), warnings: sortProblems(r.warnings) };
}

/** File order, so the output reads top to bottom. */
function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.map((p, i) => ({ p, i })).sort((a, b) => a.p.line - b.p.line || a.p.col - b.p.col || a.i - b.i).map((x) => x.p);
}

/** FILE:LINE:COL: message — the form editors and CI annotate. */
export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}
