/**
 * A revision's `readinessProbe:` block: the fields of a Knative container's
 * readinessProbe (httpGet or tcpSocket, periodSeconds, timeoutSeconds,
 * successThreshold, failureThreshold), with Kubernetes' defaults and
 * Knative's periodSeconds 0 (the aggressive probe) when none is given.
 */
import type { ReadinessProbeSpec } from './types.js';
import { DEFAULT_READINESS_PROBE } from './defaults.js';
import { aNumber, aString, join, readMap, readValue, withRule, type Field, type Reporter } from './yaml-reader.js';

const PROBE_KEYS = ['httpGet', 'tcpSocket', 'exec', 'grpc', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold', 'initialDelaySeconds'] as const;
/** `port` is accepted (Knative allows the container's own port) and ignored: tidegate probes the port it gave the pod. */
const HTTP_GET_KEYS = ['path', 'port', 'scheme', 'httpHeaders'] as const;
const TCP_KEYS = ['port'] as const;

const urlPath = withRule(aString, (v) => (v.startsWith('/') ? null : 'must be a URL path starting with "/"'));

export function readReadinessProbe(r: Reporter, f: Field): ReadinessProbeSpec | undefined {
  const fields = readMap(r, f.node, f.path, PROBE_KEYS, f.keyNode);
  if (!fields) return undefined;
  const http = fields.get('httpGet');
  const tcp = fields.get('tcpSocket');
  let path: string | null = null;
  if (http && tcp) r.at(tcp.keyNode, `${join(f.path, 'tcpSocket')}: a probe has one of httpGet or tcpSocket; this one also has httpGet`);
  for (const kind of ['exec', 'grpc'] as const) {
    const k = fields.get(kind);
    if (k) r.at(k.keyNode, `${join(f.path, kind)}: tidegate runs httpGet and tcpSocket readiness probes only`);
  }
  if (http) {
    const h = readMap(r, http.node, http.path, HTTP_GET_KEYS, http.keyNode);
    const p = h?.get('path');
    path = p ? (readValue(r, p, urlPath) ?? null) : '/';
    const scheme = h?.get('scheme');
    if (scheme) readValue(r, scheme, withRule(aString, (v) => (v === 'HTTP' ? null : 'must be HTTP (tidegate probes pods over cleartext HTTP)')));
    const headers = h?.get('httpHeaders');
    if (headers) r.warn(headers.keyNode, `${headers.path}: not sent: tidegate's probe sends no extra headers`);
  } else if (tcp) {
    readMap(r, tcp.node, tcp.path, TCP_KEYS, tcp.keyNode);
  }
  const get = (key: string, min: number, fallback: number): number => {
    const x = fields.get(key);
    return x ? (readValue(r, x, aNumber({ min, integer: true })) ?? fallback) : fallback;
  };
  const spec: ReadinessProbeSpec = {
    path,
    periodSeconds: get('periodSeconds', 0, DEFAULT_READINESS_PROBE.periodSeconds),
    timeoutSeconds: get('timeoutSeconds', 1, DEFAULT_READINESS_PROBE.timeoutSeconds),
    successThreshold: get('successThreshold', 1, DEFAULT_READINESS_PROBE.successThreshold),
    failureThreshold: get('failureThreshold', 1, DEFAULT_READINESS_PROBE.failureThreshold),
  };
  const delay = fields.get('initialDelaySeconds');
  if (delay && readValue(r, delay, aNumber({ min: 0, integer: true })) !== undefined) {
    r.warn(delay.keyNode, `${delay.path}: ignored: tidegate probes from start-up (a pod serves only once it passes anyway)`);
  }
  return spec;
}
