/**
 * Knative's own table for config-autoscaler (pkg/autoscaler/config/config_test.go,
 * TestNewConfig, cases named as there), run against tidegate's `autoscaler:`
 * section with the values written as Knative's ConfigMap strings. Where
 * tidegate deliberately differs, the case says so and docs/config.md gives
 * the reason.
 */
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';
import { DEFAULT_AUTOSCALER } from '../../src/config/defaults.js';
import type { AutoscalerSettings, ConfigProblem } from '../../src/config/types.js';

type Outcome = { ok: true; settings: AutoscalerSettings; warnings: ConfigProblem[] } | { ok: false; problems: ConfigProblem[] };

function load(data: Record<string, string>): Outcome {
  const lines = Object.entries(data).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  const text = `${lines.length > 0 ? `autoscaler:\n${lines.join('\n')}\n` : ''}services:
  - name: s
    revisions:
      - name: s-1
        endpoints: ["127.0.0.1:9001"]
`;
  const result = parseConfig(text, 'config-autoscaler.yaml');
  return result.ok ? { ok: true, settings: result.config.autoscaler, warnings: result.warnings } : { ok: false, problems: result.problems };
}

const defaults = DEFAULT_AUTOSCALER;
const want = (changes: Partial<AutoscalerSettings>): AutoscalerSettings => ({ ...defaults, ...changes });

// Knative keeps container-concurrency-target-percentage as a fraction; tidegate as a percent (0.71 → 71).
const VALID: [string, Record<string, string>, AutoscalerSettings][] = [
  ['default', {}, defaults],
  ['actual', { _example: '################################\n# the example block of Knative\'s shipped ConfigMap\n' }, defaults],
  [
    'example',
    // The documented defaults of config/core/configmaps/autoscaler.yaml (KNATIVE.md 1.1), as strings.
    {
      'container-concurrency-target-percentage': '70',
      'container-concurrency-target-default': '100',
      'requests-per-second-target-default': '200',
      'target-burst-capacity': '211',
      'stable-window': '60s',
      'panic-window-percentage': '10.0',
      'panic-threshold-percentage': '200.0',
      'max-scale-up-rate': '1000.0',
      'max-scale-down-rate': '2.0',
      'enable-scale-to-zero': 'true',
      'scale-to-zero-grace-period': '30s',
      'scale-to-zero-pod-retention-period': '0s',
      'pod-autoscaler-class': 'kpa.autoscaling.knative.dev',
      'activator-capacity': '100.0',
      'initial-scale': '1',
      'allow-zero-initial-scale': 'false',
      'min-scale': '0',
      'max-scale': '0',
      'scale-down-delay': '0s',
      'max-scale-limit': '0',
    },
    defaults,
  ],
  [
    'overridden (with the KPA class; see the deviation below)',
    {
      'enable-scale-to-zero': 'true',
      'max-scale-down-rate': '3.0',
      'max-scale-up-rate': '1.01',
      'container-concurrency-target-percentage': '0.71',
      'container-concurrency-target-default': '10.5',
      'requests-per-second-target-default': '10.11',
      'target-burst-capacity': '12345',
      'scale-down-delay': '15m',
      'stable-window': '5m',
      'tick-interval': '2s',
      'panic-window-percentage': '10',
      'panic-threshold-percentage': '200',
      'pod-autoscaler-class': 'kpa.autoscaling.knative.dev',
      'activator-capacity': '905',
      'scale-to-zero-pod-retention-period': '2m3s',
    },
    want({
      targetBurstCapacity: 12345,
      containerConcurrencyTargetDefault: 10.5,
      containerConcurrencyTargetPercentage: 71,
      targetUtilizationPercentage: 71,
      requestsPerSecondTargetDefault: 10.11,
      maxScaleDownRate: 3,
      maxScaleUpRate: 1.01,
      scaleDownDelayMs: 15 * 60_000,
      stableWindowMs: 5 * 60_000,
      scaleToZeroPodRetentionPeriodMs: 123_000,
    }),
  ],
  [
    'minimum',
    {
      'max-scale-up-rate': '1.001',
      'container-concurrency-target-percentage': '0.5',
      'container-concurrency-target-default': '10.0',
      'target-burst-capacity': '0',
      'stable-window': '5m',
      'tick-interval': '2s',
      'panic-window-percentage': '10',
      'panic-threshold-percentage': '200',
      'activator-capacity': '1',
    },
    want({ containerConcurrencyTargetPercentage: 50, targetUtilizationPercentage: 50, containerConcurrencyTargetDefault: 10, maxScaleUpRate: 1.001, targetBurstCapacity: 0, stableWindowMs: 300_000 }),
  ],
  ['concurrencty target percentage as percent', { 'container-concurrency-target-percentage': '55' }, want({ containerConcurrencyTargetPercentage: 55, targetUtilizationPercentage: 55 })],
  ['with -1 tbc', { 'target-burst-capacity': '-1' }, want({ targetBurstCapacity: -1 })],
  ['with toggles on strange casing', { 'enable-scale-to-zero': 'TRUE' }, defaults],
  ['with toggles explicitly flipped', { 'enable-scale-to-zero': 'false' }, want({ enableScaleToZero: false })],
  ['with explicit grace period', { 'enable-scale-to-zero': 'false', 'scale-to-zero-grace-period': '33s' }, want({ enableScaleToZero: false, scaleToZeroGracePeriodMs: 33_000 })],
  ['with valid default initial scale', { 'allow-zero-initial-scale': 'true', 'initial-scale': '0' }, want({ allowZeroInitialScale: true, initialScale: 0 })],
  ['with valid default max scale', { 'max-scale': '10' }, want({ maxScale: 10 })],
  // From config.go's validate() and Go's parsers (not cases of config_test.go):
  ['scale-down-delay "0" (a Go duration without a unit)', { 'scale-down-delay': '0' }, defaults],
  ['scale-to-zero-pod-retention-period "0"', { 'scale-to-zero-pod-retention-period': '0' }, defaults],
  ['a duration in microseconds', { 'scale-to-zero-pod-retention-period': '1500000us' }, want({ scaleToZeroPodRetentionPeriodMs: 1500 })],
  ['max-scale within max-scale-limit', { 'max-scale': '10', 'max-scale-limit': '100' }, want({ maxScale: 10, maxScaleLimit: 100 })],
];

const INVALID: [string, Record<string, string>, RegExp][] = [
  ['malformed float', { 'max-scale-up-rate': 'not a float' }, /max-scale-up-rate/],
  ['invalid scale-down-delay', { 'scale-down-delay': '-1m23s' }, /scale-down-delay/],
  ['invalid pod retention period', { 'scale-to-zero-pod-retention-period': '-4m11s' }, /scale-to-zero-pod-retention-period/],
  ['malformed duration', { 'stable-window': 'not a duration' }, /stable-window/],
  ['invalid target burst capacity', { 'target-burst-capacity': '-11' }, /target-burst-capacity/],
  ['invalid target %, too small', { 'container-concurrency-target-percentage': '-42' }, /container-concurrency-target-percentage/],
  ['invalid target %, too big', { 'container-concurrency-target-percentage': '142.4' }, /container-concurrency-target-percentage/],
  ['invalid RPS target, too small', { 'requests-per-second-target-default': '-5.25' }, /requests-per-second-target-default/],
  ['max scale up rate 1.0', { 'max-scale-up-rate': '1' }, /max-scale-up-rate/],
  ['max down down rate negative', { 'max-scale-down-rate': '-55' }, /max-scale-down-rate/],
  ['max down down rate 1.0', { 'max-scale-down-rate': '1' }, /max-scale-down-rate/],
  ['stable window too big', { 'stable-window': '1h1s' }, /stable-window/],
  ['stable window too small', { 'stable-window': '1s' }, /stable-window/],
  ['stable not seconds', { 'stable-window': '61984ms' }, /stable-window.*whole number of seconds/],
  ['scale-down-delay not seconds', { 'scale-down-delay': '61984ms' }, /scale-down-delay.*whole number of seconds/],
  ['activator-capacity invalid', { 'activator-capacity': '0.95' }, /activator-capacity/],
  ['panic window percentage too small', { 'panic-window-percentage': '0.1' }, /panic-window-percentage/],
  ['panic window percentage too big', { 'stable-window': '12s', 'panic-window': '3s', 'panic-window-percentage': '110' }, /panic-window-percentage/],
  ['TU*CC < 0.01', { 'container-concurrency-target-percentage': '1', 'container-concurrency-target-default': '0.001' }, /container-concurrency-target-default/],
  ['with prohibited default initial scale', { 'allow-zero-initial-scale': 'false', 'initial-scale': '0' }, /initial-scale.*allow-zero-initial-scale/],
  ['with negative default initial scale', { 'allow-zero-initial-scale': 'false', 'initial-scale': '-1' }, /initial-scale/],
  ['with non-parseable default initial scale', { 'allow-zero-initial-scale': 'false', 'initial-scale': 'invalid' }, /initial-scale/],
  ['with non-parseable allow-zero-initial-scale', { 'allow-zero-initial-scale': 'invalid' }, /allow-zero-initial-scale/],
  ['with negative default max scale', { 'max-scale': '-1' }, /max-scale/],
  // From config.go's validate():
  ['max-scale 0 (unlimited) while max-scale-limit is set', { 'max-scale-limit': '10' }, /max-scale.*1\.\.max-scale-limit \(10\)/],
  ['max-scale over max-scale-limit', { 'max-scale': '11', 'max-scale-limit': '10' }, /max-scale.*max-scale-limit \(10\).*got 11/],
  ['negative max-scale-limit', { 'max-scale-limit': '-1' }, /max-scale-limit/],
  ['initial-scale beyond int32', { 'initial-scale': '2147483648' }, /initial-scale/],
  ['min-scale over max-scale', { 'min-scale': '3', 'max-scale': '2' }, /min-scale.*max-scale 2/],
  ['activation-scale below min-scale', { 'min-scale': '3', 'activation-scale': '2' }, /activation-scale.*min-scale 3/],
  ['activation-scale over max-scale', { 'max-scale': '3', 'activation-scale': '4' }, /activation-scale.*max-scale 3/],
];

describe("Knative's config_test.go TestNewConfig against the autoscaler section", () => {
  test.each(VALID)('%s', (_name, data, expected) => {
    const got = load(data);
    if (!got.ok) throw new Error(got.problems.map((p) => p.message).join('\n'));
    expect(got.settings).toEqual(expected);
  });

  test.each(INVALID)('%s', (_name, data, message) => {
    const got = load(data);
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.problems.map((p) => p.message).join('\n')).toMatch(message);
  });
});

describe('deviations from config_test.go (docs/config.md, "Knative compatibility")', () => {
  test('overridden: pod-autoscaler-class "some.class" is refused by name (Knative hands it to a custom autoscaler; tidegate has none)', () => {
    const got = load({ 'pod-autoscaler-class': 'some.class' });
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.problems[0]?.message).toMatch(/pod-autoscaler-class: tidegate does not implement the autoscaler class "some\.class"/);
  });

  test('grace window too small: 4s is accepted, as Knative HEAD requires only > 0 (the case comes from an older config.go)', () => {
    const got = load({ 'stable-window': '12s', 'scale-to-zero-grace-period': '4s' });
    expect(got.ok).toBe(true);
  });
});

describe('Knative keys and values', () => {
  test('the HPA class is refused with a message naming it', () => {
    const got = load({ 'pod-autoscaler-class': 'hpa.autoscaling.knative.dev' });
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.problems[0]?.message).toMatch(/hpa\.autoscaling\.knative\.dev is Kubernetes' HPA .* tidegate does not implement/);
  });

  test("Knative's keys tidegate ignores are accepted with a warning that says so", () => {
    const got = load({ 'activator-capacity': '905', 'tick-interval': '2s' });
    expect(got.ok).toBe(true);
    if (got.ok) {
      expect(got.warnings.map((w) => w.message)).toEqual([
        expect.stringMatching(/^autoscaler\.activator-capacity: Knative's key, accepted and ignored: /),
        expect.stringMatching(/^autoscaler\.tick-interval: Knative's key, accepted and ignored: /),
      ]);
      expect(got.warnings[0]).toMatchObject({ line: 2, col: 3 });
    }
  });

  test('an unknown key is still an error with a did-you-mean', () => {
    const got = load({ 'stable-windw': '60s' });
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.problems[0]?.message).toBe('autoscaler.stable-windw: unknown key "stable-windw" (did you mean "stable-window"?)');
  });
});
