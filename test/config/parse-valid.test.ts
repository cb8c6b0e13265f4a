import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';
import { DEFAULT_ACTIVATOR, DEFAULT_AUTOSCALER, DEFAULT_READINESS_PROBE, DEFAULT_LIMITS } from '../../src/config/defaults.js';
import type { Config } from '../../src/config/types.js';
import { BASE } from './fixtures.js';

function parse(text: string, file = 'tg.yaml'): Config {
  const result = parseConfig(text, file, '/abs/tg.yaml');
  if (!result.ok) throw new Error(result.problems.map((p) => `${p.line}:${p.col}: ${p.message}`).join('\n'));
  return result.config;
}

describe('a valid config becomes the frozen Config', () => {
  const config = parse(BASE);

  test('top level: domain, sections with defaults filled in, absolute file', () => {
    expect(config.file).toBe('/abs/tg.yaml');
    expect(config.domain).toBe('example.com');
    expect(config.tagHeaderRouting).toBe(false);
    expect(config.autoscaler).toEqual(DEFAULT_AUTOSCALER);
    expect(config.activator).toEqual(DEFAULT_ACTIVATOR);
    expect(config.limits).toEqual({ maxBodyBytes: 1024 ** 3, maxHeaderBytes: 16 * 1024 });
  });

  test('services: own host first, extra hosts after, traffic resolved', () => {
    expect(config.services.map((s) => ({ name: s.name, hosts: s.hosts, revisions: s.revisions.map((r) => r.name), traffic: s.traffic }))).toEqual([
      {
        name: 'hello',
        hosts: ['hello.example.com', 'hello.localhost'],
        revisions: ['hello-00001', 'hello-00002'],
        traffic: [
          { revisionName: 'hello-00001', latestRevision: false, percent: 90, tag: null },
          { revisionName: 'hello-00002', latestRevision: false, percent: 10, tag: 'canary' },
          // latestRevision: true resolves to the last revision listed
          { revisionName: 'hello-00002', latestRevision: true, percent: 0, tag: 'latest' },
        ],
      },
      // no traffic block: Knative's default, all traffic to the latest revision
      { name: 'other', hosts: ['other.example.com'], revisions: ['other-1'], traffic: [{ revisionName: 'other-1', latestRevision: true, percent: 100, tag: null }] },
    ]);
  });

  test('revisions: every field, with defaults where not written', () => {
    expect(config.revisions.get('hello-00001')).toEqual({
      name: 'hello-00001',
      service: 'hello',
      command: ['node', 'app.js'],
      endpoints: null,
      kubernetes: null,
      env: { GREETING: 'one' },
      readinessPath: '/',
      readinessProbe: { ...DEFAULT_READINESS_PROBE, path: '/' },
      containerConcurrency: 0,
      timeoutSeconds: 300,
      responseStartTimeoutSeconds: 0,
      idleTimeoutSeconds: 0,
      queueProxy: false,
      protocol: 'http1',
      annotations: { 'autoscaling.knative.dev/target': '10', 'autoscaling.knative.dev/max-scale': '5' },
      autoscaling: { ...DEFAULT_AUTOSCALER, target: 10, maxScale: 5 },
    });
    expect(config.revisions.get('hello-00002')).toMatchObject({ endpoints: ['127.0.0.1:9001'], command: null, readinessPath: null, timeoutSeconds: 300, containerConcurrency: 0, env: {}, annotations: {} });
    expect(config.revisions.get('other-1')).toMatchObject({ service: 'other', kubernetes: { namespace: 'default', deployment: 'other', port: 8080 } });
    expect([...config.revisions.keys()]).toEqual(['hello-00001', 'hello-00002', 'other-1']);
    // the map and the service lists hold the same objects
    expect(config.revisions.get('hello-00001')).toBe(config.services[0]?.revisions[0]);
  });

  test('deep-frozen: no object, array or the revisions map can change', () => {
    const rev = config.revisions.get('hello-00001');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.services[0]?.traffic[0])).toBe(true);
    expect(Object.isFrozen(rev?.autoscaling)).toBe(true);
    expect(Object.isFrozen(rev?.command)).toBe(true);
    expect(Object.isFrozen(rev?.env)).toBe(true);
    expect(() => (config.services as unknown as unknown[]).push(1)).toThrow(TypeError);
    expect(() => ((rev?.autoscaling as { target: number }).target = 1)).toThrow(TypeError);
    const map = config.revisions as Map<string, unknown>;
    expect(() => map.set('x', 1)).toThrow(TypeError);
    expect(() => map.delete('hello-00001')).toThrow(TypeError);
    expect(() => map.clear()).toThrow(TypeError);
    expect(config.revisions.size).toBe(3);
  });

  test('two parses share nothing mutable with the defaults', () => {
    const again = parse(BASE);
    expect(again).not.toBe(config);
    expect(DEFAULT_LIMITS.maxBodyBytes).toBe(4 * 1024 ** 3);
  });
});

describe('smaller valid configs', () => {
  test('the minimum: one service with one static revision', () => {
    const c = parse('services:\n  - name: a\n    revisions:\n      - name: a-1\n        endpoints: ["localhost:80", "[::1]:8080"]\n');
    expect(c.domain).toBe('example.com');
    expect(c.limits).toEqual(DEFAULT_LIMITS);
    expect(c.services[0]?.hosts).toEqual(['a.example.com']);
    expect(c.revisions.get('a-1')?.endpoints).toEqual(['localhost:80', '[::1]:8080']);
  });

  test('hosts and domain are lower-cased, duplicates of the own host dropped', () => {
    const c = parse('domain: Example.COM\nservices:\n  - name: a\n    hosts: [A.Example.com, Other.LOCALHOST]\n    revisions:\n      - name: a-1\n        command: [x]\n');
    expect(c.domain).toBe('example.com');
    expect(c.services[0]?.hosts).toEqual(['a.example.com', 'other.localhost']);
  });

  test('limits, activator and every global autoscaler key', () => {
    const c = parse(`tagHeaderRouting: true
limits:
  max-body-size: 10Mi
  max-header-size: 8Ki
activator:
  max-buffered-requests: 5
  max-buffered-bytes: 1Mi
  buffer-timeout: 1m30s
autoscaler:
  container-concurrency-target-default: 50
  container-concurrency-target-percentage: 80
  requests-per-second-target-default: 100
  target-burst-capacity: -1
  stable-window: 2m
  panic-window-percentage: 5
  panic-threshold-percentage: 400
  max-scale-up-rate: 10
  max-scale-down-rate: 4
  enable-scale-to-zero: false
  scale-to-zero-grace-period: 45s
  scale-to-zero-pod-retention-period: 1m
  scale-down-delay: 30s
  initial-scale: 2
  allow-zero-initial-scale: true
  min-scale: 1
  max-scale: 9
  activation-scale: 2
services: []
`);
    expect(c.tagHeaderRouting).toBe(true);
    expect(c.limits).toEqual({ maxBodyBytes: 10 * 1024 ** 2, maxHeaderBytes: 8 * 1024 });
    expect(c.activator).toEqual({ maxBufferedRequests: 5, maxBufferedBytes: 1024 ** 2, bufferTimeoutMs: 90_000 });
    expect(c.autoscaler).toEqual({
      containerConcurrencyTargetDefault: 50,
      containerConcurrencyTargetPercentage: 80,
      requestsPerSecondTargetDefault: 100,
      targetBurstCapacity: -1,
      stableWindowMs: 120_000,
      panicWindowPercentage: 5,
      panicThresholdPercentage: 400,
      maxScaleUpRate: 10,
      maxScaleDownRate: 4,
      enableScaleToZero: false,
      scaleToZeroGracePeriodMs: 45_000,
      scaleToZeroPodRetentionPeriodMs: 60_000,
      scaleDownDelayMs: 30_000,
      initialScale: 2,
      allowZeroInitialScale: true,
      minScale: 1,
      maxScale: 9,
      maxScaleLimit: 0,
      activationScale: 2,
      metric: 'concurrency',
      metricAggregationAlgorithm: 'linear',
      targetUtilizationPercentage: 80,
      target: null,
    });
  });
});
