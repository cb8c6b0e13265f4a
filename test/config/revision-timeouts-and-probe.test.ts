import { describe, expect, test } from 'vitest';
import { formatProblem, parseConfig } from '../../src/config/parse.js';
import type { RevisionSpec } from '../../src/config/types.js';

// Knative's per-revision timeout fields with config-defaults' bounds
// (pkg/apis/config/defaults.go), and a container readinessProbe block.
function config(revision: string, top = ''): string {
  return `${top}services:
  - name: app
    revisions:
      - name: app-1
        endpoints: ["127.0.0.1:9000"]
${revision
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
`;
}

function spec(text: string): RevisionSpec {
  const r = parseConfig(text, 'tg.yaml');
  if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
  return r.config.revisions.get('app-1')!;
}

function problems(text: string): string[] {
  const r = parseConfig(text, 'tg.yaml');
  return r.ok ? [] : r.problems.map(formatProblem);
}

describe('revision timeouts', () => {
  test('defaults: 300 s, no response-start or idle timeout', () => {
    expect(spec(config('timeoutSeconds: 300'))).toMatchObject({ timeoutSeconds: 300, responseStartTimeoutSeconds: 0, idleTimeoutSeconds: 0 });
  });

  test('responseStartTimeoutSeconds and idleTimeoutSeconds are read', () => {
    expect(spec(config('timeoutSeconds: 60\nresponseStartTimeoutSeconds: 10\nidleTimeoutSeconds: 500'))).toMatchObject({ timeoutSeconds: 60, responseStartTimeoutSeconds: 10, idleTimeoutSeconds: 500 });
  });

  test('responseStartTimeoutSeconds may not exceed timeoutSeconds', () => {
    expect(problems(config('timeoutSeconds: 60\nresponseStartTimeoutSeconds: 61'))).toEqual([expect.stringMatching(/^tg\.yaml:\d+:\d+: .*responseStartTimeoutSeconds: must be an integer in 0\.\.60, got 61/)]);
  });

  test('max-revision-timeout-seconds is configurable (Knative config-defaults), 600 by default', () => {
    expect(problems(config('timeoutSeconds: 900'))).toEqual([expect.stringMatching(/timeoutSeconds: must be an integer in 1\.\.600, got 900/)]);
    expect(spec(config('timeoutSeconds: 900', 'defaults:\n  max-revision-timeout-seconds: 3600\n')).timeoutSeconds).toBe(900);
    expect(problems(config('timeoutSeconds: 90', 'defaults:\n  max-revision-timeout-seconds: 60\n  revision-timeout-seconds: 30\n'))).toEqual([expect.stringMatching(/timeoutSeconds: must be an integer in 1\.\.60, got 90/)]);
    // As in Knative, the default timeout must fit under the maximum too.
    expect(problems(config('timeoutSeconds: 30', 'defaults:\n  max-revision-timeout-seconds: 60\n'))).toEqual([expect.stringMatching(/revision-timeout-seconds \(300\) cannot be greater than max-revision-timeout-seconds \(60\)/)]);
  });

  test('revision-timeout-seconds and friends set what a revision leaves out; their cross-checks are Knative\'s', () => {
    const top = 'defaults:\n  revision-timeout-seconds: 120\n  revision-response-start-timeout-seconds: 30\n  revision-idle-timeout-seconds: 20\n';
    expect(spec(config('containerConcurrency: 0', top))).toMatchObject({ timeoutSeconds: 120, responseStartTimeoutSeconds: 30, idleTimeoutSeconds: 20 });
    expect(problems(config('containerConcurrency: 0', 'defaults:\n  revision-timeout-seconds: 700\n'))).toEqual([expect.stringMatching(/revision-timeout-seconds \(700\) cannot be greater than max-revision-timeout-seconds \(600\)/)]);
    expect(problems(config('containerConcurrency: 0', 'defaults:\n  revision-timeut-seconds: 70\n'))).toEqual([expect.stringMatching(/unknown key "revision-timeut-seconds" \(did you mean "revision-timeout-seconds"\?\)/)]);
  });
});

describe('readinessProbe', () => {
  test('none given: TCP, Knative\'s aggressive probe (periodSeconds 0), Kubernetes\' thresholds', () => {
    expect(spec(config('containerConcurrency: 0')).readinessProbe).toEqual({ path: null, periodSeconds: 0, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 });
  });

  test('httpGet with Kubernetes\' fields; readinessPath follows it', () => {
    const s = spec(config('readinessProbe:\n  httpGet: { path: /healthz, port: 8080 }\n  periodSeconds: 5\n  timeoutSeconds: 2\n  successThreshold: 2\n  failureThreshold: 4'));
    expect(s.readinessProbe).toEqual({ path: '/healthz', periodSeconds: 5, timeoutSeconds: 2, successThreshold: 2, failureThreshold: 4 });
    expect(s.readinessPath).toBe('/healthz');
  });

  test('tcpSocket; readinessPath alone is the httpGet shorthand', () => {
    expect(spec(config('readinessProbe:\n  tcpSocket: { port: 8080 }\n  periodSeconds: 1')).readinessProbe).toMatchObject({ path: null, periodSeconds: 1 });
    expect(spec(config('readinessPath: /ready')).readinessProbe).toMatchObject({ path: '/ready', periodSeconds: 0 });
  });

  test('refused: both kinds, both spellings, a threshold of 0, an unknown field', () => {
    expect(problems(config('readinessProbe:\n  httpGet: { path: /a }\n  tcpSocket: {}'))).toEqual([expect.stringMatching(/readinessProbe\.tcpSocket: a probe has one of httpGet or tcpSocket/)]);
    expect(problems(config('readinessPath: /a\nreadinessProbe:\n  httpGet: { path: /a }'))).toEqual([expect.stringMatching(/give readinessPath or readinessProbe, not both/)]);
    expect(problems(config('readinessProbe:\n  failureThreshold: 0'))).toEqual([expect.stringMatching(/readinessProbe\.failureThreshold: must be an integer ≥ 1, got 0/)]);
    expect(problems(config('readinessProbe:\n  periodSecond: 1'))).toEqual([expect.stringMatching(/unknown key "periodSecond" \(did you mean "periodSeconds"\?\)/)]);
    expect(problems(config('readinessProbe:\n  exec: { command: [cat, /ready] }'))).toEqual([expect.stringMatching(/readinessProbe\.exec: tidegate runs httpGet and tcpSocket readiness probes only/)]);
    expect(problems(config('readinessProbe:\n  httpGet: { path: /a, scheme: HTTPS }'))).toEqual([expect.stringMatching(/scheme: must be HTTP/)]);
  });

  test('initialDelaySeconds and httpHeaders are accepted with a warning (Knative manifests carry them)', () => {
    const r = parseConfig(config('readinessProbe:\n  httpGet: { path: /a, httpHeaders: [{ name: X, value: y }] }\n  initialDelaySeconds: 5'), 'tg.yaml');
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.warnings.map(formatProblem)).toEqual([expect.stringMatching(/httpHeaders: not sent/), expect.stringMatching(/initialDelaySeconds: ignored/)]);
  });
});
