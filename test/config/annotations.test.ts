import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';
import type { AutoscalerSettings, Config } from '../../src/config/types.js';

function configWith(autoscaler: string, annotations: string): Config {
  const text = `${autoscaler ? `autoscaler:\n${autoscaler}\n` : ''}services:
  - name: s
    revisions:
      - name: s-1
        endpoints: ["127.0.0.1:9001"]
${annotations ? `        annotations:\n${annotations}\n` : ''}`;
  const result = parseConfig(text, 't.yaml');
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.config;
}

function revision(autoscaler: string, annotations: string): AutoscalerSettings {
  const rev = configWith(autoscaler, annotations).revisions.get('s-1');
  if (!rev) throw new Error('no revision');
  return rev.autoscaling;
}

describe('annotations layered over the global autoscaler settings', () => {
  test('no annotations: the revision gets the global settings', () => {
    const c = configWith('  stable-window: 30s\n  target-burst-capacity: 0', '');
    expect(c.revisions.get('s-1')?.autoscaling).toEqual(c.autoscaler);
    expect(c.autoscaler.stableWindowMs).toBe(30_000);
    expect(c.autoscaler.targetBurstCapacity).toBe(0);
  });

  test('every annotation lands in its field, the rest stays global', () => {
    const a = revision(
      '  stable-window: 30s\n  scale-down-delay: 10s\n  allow-zero-initial-scale: true',
      [
        '          autoscaling.knative.dev/target: "25"',
        '          autoscaling.knative.dev/target-utilization-percentage: "80"',
        '          autoscaling.knative.dev/target-burst-capacity: "-1"',
        '          autoscaling.knative.dev/window: "2m"',
        '          autoscaling.knative.dev/panic-window-percentage: "20"',
        '          autoscaling.knative.dev/panic-threshold-percentage: "300"',
        '          autoscaling.knative.dev/min-scale: "1"',
        '          autoscaling.knative.dev/max-scale: "7"',
        '          autoscaling.knative.dev/initial-scale: "0"',
        '          autoscaling.knative.dev/scale-to-zero-pod-retention-period: "1m"',
        '          autoscaling.knative.dev/activation-scale: "3"',
        '          autoscaling.knative.dev/metric: rps',
        '          autoscaling.knative.dev/metric-aggregation-algorithm: weighted-exponential',
        '          autoscaling.knative.dev/class: kpa.autoscaling.knative.dev',
      ].join('\n'),
    );
    expect(a).toMatchObject({
      target: 25,
      targetUtilizationPercentage: 80,
      targetBurstCapacity: -1,
      stableWindowMs: 120_000,
      panicWindowPercentage: 20,
      panicThresholdPercentage: 300,
      minScale: 1,
      maxScale: 7,
      initialScale: 0,
      scaleToZeroPodRetentionPeriodMs: 60_000,
      activationScale: 3,
      metric: 'rps',
      metricAggregationAlgorithm: 'weighted-exponential',
      // not annotated: from the global section
      scaleDownDelayMs: 10_000,
      containerConcurrencyTargetPercentage: 70,
      maxScaleUpRate: 1000,
    });
  });

  test('camelCase spellings are Knative aliases', () => {
    const a = revision('', '          autoscaling.knative.dev/minScale: "2"\n          autoscaling.knative.dev/maxScale: "4"\n          autoscaling.knative.dev/targetUtilizationPercentage: "50"\n          autoscaling.knative.dev/panicThresholdPercentage: "150"');
    expect(a).toMatchObject({ minScale: 2, maxScale: 4, targetUtilizationPercentage: 50, panicThresholdPercentage: 150 });
  });

  test('annotations keep the strings as written; a bare YAML number is accepted too', () => {
    const c = configWith('', '          autoscaling.knative.dev/target: 10\n          autoscaling.knative.dev/window: "90s"');
    expect(c.revisions.get('s-1')?.annotations).toEqual({ 'autoscaling.knative.dev/target': '10', 'autoscaling.knative.dev/window': '90s' });
    expect(c.revisions.get('s-1')?.autoscaling.target).toBe(10);
  });

  test('the scale-down-delay annotation and the global one', () => {
    expect(revision('', '          autoscaling.knative.dev/scale-down-delay: "15s"').scaleDownDelayMs).toBe(15_000);
  });
});

describe('container-concurrency-target-percentage', () => {
  test.each([
    [70, 70],
    [0.7, 70],
    [1, 100],
    [1.0, 100],
    [100, 100],
    [50, 50],
    [0.05, 5],
  ])('%d → %d %%', (written, percent) => {
    const a = revision(`  container-concurrency-target-percentage: ${written}`, '');
    expect(a.containerConcurrencyTargetPercentage).toBeCloseTo(percent, 9);
    // the utilization the KPA uses follows it unless a revision annotates its own
    expect(a.targetUtilizationPercentage).toBeCloseTo(percent, 9);
  });

  test('a revision annotation overrides the utilization but not the global percentage', () => {
    const a = revision('  container-concurrency-target-percentage: 0.5', '          autoscaling.knative.dev/target-utilization-percentage: "90"');
    expect(a.targetUtilizationPercentage).toBe(90);
    expect(a.containerConcurrencyTargetPercentage).toBe(50);
  });

  test.each([[0], [-1], [101], [150]])('%d is refused', (written) => {
    const result = parseConfig(`autoscaler:\n  container-concurrency-target-percentage: ${written}\nservices: []\n`, 't.yaml');
    expect(result.ok).toBe(false);
  });
});
