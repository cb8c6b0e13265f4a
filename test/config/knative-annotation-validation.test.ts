/**
 * Knative's table for the autoscaling annotations
 * (pkg/apis/autoscaling/annotation_validation_test.go,
 * TestValidateScaleBoundAnnotations, cases named as there), plus the rules
 * of annotation_validation.go that table does not cover in the version read
 * (activation-scale bounds, max-scale-limit, class, algorithm, int32).
 */
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';

const MIN = 'autoscaling.knative.dev/minScale';
const MAX = 'autoscaling.knative.dev/maxScale';
const PANIC_WINDOW = 'autoscaling.knative.dev/panicWindowPercentage';
const PANIC_THRESHOLD = 'autoscaling.knative.dev/panicThresholdPercentage';

function problems(annotations: Record<string, string> | null, autoscaler = ''): string[] {
  const entries = Object.entries(annotations ?? {});
  const text = `${autoscaler ? `autoscaler:\n${autoscaler}\n` : ''}services:
  - name: s
    revisions:
      - name: s-1
        endpoints: ["127.0.0.1:9001"]
${annotations === null ? '' : `        annotations:${entries.length === 0 ? ' {}' : ''}\n${entries.map(([k, v]) => `          ${k}: ${JSON.stringify(v)}`).join('\n')}\n`}`;
  const result = parseConfig(text, 't.yaml');
  return result.ok ? [] : result.problems.map((p) => p.message);
}

// [name, annotations, the annotation keys the problems must name ([] = valid)]
const CASES: [string, Record<string, string> | null, string[]][] = [
  ['nil annotations', null, []],
  ['empty annotations', {}, []],
  ['minScale is 0', { [MIN]: '0' }, []],
  ['maxScale is 0', { [MAX]: '0' }, []],
  ['minScale is -1', { [MIN]: '-1' }, [MIN]],
  ['maxScale is -1', { [MAX]: '-1' }, [MAX]],
  ['minScale is foo', { [MIN]: 'foo' }, [MIN]],
  ['maxScale is bar', { [MAX]: 'bar' }, [MAX]],
  ['max/minScale is bar', { [MAX]: 'bar', [MIN]: 'bar' }, [MAX, MIN]],
  ['minScale is 5', { [MIN]: '5' }, []],
  ['maxScale is 2', { [MAX]: '2' }, []],
  ['minScale is 2, maxScale is 5', { [MIN]: '2', [MAX]: '5' }, []],
  ['minScale is 5, maxScale is 2', { [MIN]: '5', [MAX]: '2' }, [MIN]],
  ['minScale is 0, maxScale is 0', { [MIN]: '0', [MAX]: '0' }, []],
  ['panic window percentange bad', { [PANIC_WINDOW]: '-1' }, [PANIC_WINDOW]],
  ['panic window percentange bad2', { [PANIC_WINDOW]: '202' }, [PANIC_WINDOW]],
  ['panic window percentange bad3', { [PANIC_WINDOW]: 'fifty' }, [PANIC_WINDOW]],
  ['panic threshold percentange good', { [PANIC_THRESHOLD]: '210' }, []],
  ['panic threshold percentange bad2', { [PANIC_THRESHOLD]: '109' }, [PANIC_THRESHOLD]],
  ['panic threshold percentange bad3', { [PANIC_THRESHOLD]: 'fifty' }, [PANIC_THRESHOLD]],
  ['all together now fail', { [PANIC_THRESHOLD]: 'fifty', [PANIC_WINDOW]: '-11', [MIN]: '-4', [MAX]: 'never' }, [PANIC_THRESHOLD, PANIC_WINDOW, MIN, MAX]],
  ['all together now, succeed', { [PANIC_THRESHOLD]: '125', [PANIC_WINDOW]: '75', [MIN]: '5', [MAX]: '8' }, []],
];

describe("Knative's annotation_validation_test.go", () => {
  test.each(CASES)('%s', (_name, annotations, keys) => {
    const got = problems(annotations);
    expect(got).toHaveLength(keys.length);
    keys.forEach((k, i) => expect(got.find((m) => m.includes(JSON.stringify(k))) ?? got[i]).toContain(JSON.stringify(k)));
  });
});

describe('the rest of annotation_validation.go', () => {
  const A = 'autoscaling.knative.dev/';
  test.each([
    ['activation-scale between min-scale and max-scale', { [`${A}min-scale`]: '2', [`${A}activation-scale`]: '3', [`${A}max-scale`]: '5' }, null],
    ['min-scale greater than activation-scale', { [`${A}min-scale`]: '4', [`${A}activation-scale`]: '3' }, /min-scale 4 is greater than activation-scale 3/],
    ['max-scale less than activation-scale', { [`${A}max-scale`]: '2', [`${A}activation-scale`]: '3' }, /max-scale 2 is less than activation-scale 3/],
    ['activation-scale must be greater than 1', { [`${A}activation-scale`]: '1' }, /activation-scale.*2\.\.2147483647/],
    ['min-scale out of the int32 range', { [`${A}min-scale`]: '2147483648' }, /min-scale.*0\.\.2147483647/],
    ['the KPA class', { [`${A}class`]: 'kpa.autoscaling.knative.dev' }, null],
    ['the HPA class, named in the refusal', { [`${A}class`]: 'hpa.autoscaling.knative.dev', [`${A}metric`]: 'cpu' }, /hpa\.autoscaling\.knative\.dev is Kubernetes' HPA/],
    ['a custom class', { [`${A}class`]: 'example.com/my-scaler' }, /does not implement the autoscaler class "example\.com\/my-scaler"/],
    ['weightedExponential, the alternative spelling', { [`${A}metric-aggregation-algorithm`]: 'weightedExponential' }, null],
    ['an unknown algorithm', { [`${A}metric-aggregation-algorithm`]: 'median' }, /metric-aggregation-algorithm/],
    ['scale-down-delay "0"', { [`${A}scale-down-delay`]: '0' }, null],
    ['scale-down-delay with sub-second precision', { [`${A}scale-down-delay`]: '1500ms' }, /whole number of seconds/],
  ] as [string, Record<string, string>, RegExp | null][])('%s', (_name, annotations, message) => {
    const got = problems(annotations);
    if (message === null) expect(got).toEqual([]);
    else expect(got.join('\n')).toMatch(message);
  });

  test('max-scale within the global max-scale-limit; 0 (unlimited) is refused when a limit is set', () => {
    const limit = '  max-scale: 5\n  max-scale-limit: 10';
    expect(problems({ 'autoscaling.knative.dev/max-scale': '10' }, limit)).toEqual([]);
    expect(problems({ 'autoscaling.knative.dev/max-scale': '11' }, limit).join('\n')).toMatch(/must be in 1\.\.10 .*got 11/);
    expect(problems({ 'autoscaling.knative.dev/max-scale': '0' }, limit).join('\n')).toMatch(/must be in 1\.\.10 .*got 0/);
  });

  test('the weightedExponential alias reads as weighted-exponential', () => {
    const text = 'services:\n  - name: s\n    revisions:\n      - name: s-1\n        endpoints: ["127.0.0.1:9001"]\n        annotations:\n          autoscaling.knative.dev/metric-aggregation-algorithm: weightedExponential\n';
    const result = parseConfig(text, 't.yaml');
    expect(result.ok && result.config.revisions.get('s-1')?.autoscaling.metricAggregationAlgorithm).toBe('weighted-exponential');
  });
});
