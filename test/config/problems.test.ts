import { describe, expect, test } from 'vitest';
import { formatProblem, parseConfig } from '../../src/config/parse.js';
import { BASE, broken, lineColOf } from './fixtures.js';

function problems(text: string): string[] {
  const result = parseConfig(text, 'tg.yaml');
  return result.ok ? [] : result.problems.map(formatProblem);
}

interface Case {
  rule: string;
  from: string;
  to: string;
  /** Unique piece of the broken text, with ‸ before the character the problem must point at. */
  at: string;
  message: RegExp;
}

const cases: Case[] = [
  { rule: 'unknown top-level key', from: 'domain: example.com', to: 'domian: example.com', at: '‸domian', message: /^domian: unknown key "domian" \(did you mean "domain"\?\)/ },
  { rule: 'unknown revision key', from: 'timeoutSeconds: 300', to: 'timeout: 300', at: '‸timeout: 300', message: /services\[0\]\.revisions\[0\]\.timeout: unknown key "timeout"/ },
  { rule: 'unknown autoscaler key', from: 'stable-window: 60s', to: 'stable-windw: 60s', at: '‸stable-windw', message: /did you mean "stable-window"/ },
  { rule: 'unknown key in limits', from: 'max-body-size: 1Gi', to: 'max-body: 1Gi', at: '‸max-body', message: /limits\.max-body: unknown key/ },
  { rule: 'misspelt autoscaling annotation', from: 'autoscaling.knative.dev/target: "10"', to: 'autoscaling.knative.dev/targett: "10"', at: '‸autoscaling.knative.dev/targett', message: /unknown annotation "autoscaling.knative.dev\/targett"/ },
  { rule: 'annotation outside autoscaling', from: 'autoscaling.knative.dev/target: "10"', to: 'serving.knative.dev/rollout-duration: "10s"', at: '‸serving', message: /unknown annotation "serving.knative.dev\/rollout-duration"/ },
  { rule: 'the same annotation in two spellings', from: 'autoscaling.knative.dev/target: "10"', to: 'autoscaling.knative.dev/maxScale: "3"', at: '‸autoscaling.knative.dev/max-scale', message: /"autoscaling.knative.dev\/max-scale" repeats "autoscaling.knative.dev\/maxScale"/ },
  { rule: 'wrong type: string for integer', from: 'containerConcurrency: 0', to: 'containerConcurrency: ten', at: 'containerConcurrency: ‸ten', message: /containerConcurrency: must be an integer ≥ 0, got "ten"/ },
  { rule: 'wrong type: scalar for list', from: 'hosts: [hello.localhost]', to: 'hosts: hello.localhost', at: 'hosts: ‸hello', message: /services\[0\]\.hosts: must be a list, got "hello.localhost"/ },
  { rule: 'wrong type: boolean', from: 'domain: example.com', to: 'domain: example.com\ntagHeaderRouting: 1', at: 'tagHeaderRouting: ‸1', message: /tagHeaderRouting: must be true or false, got 1/ },
  { rule: 'percents not summing to 100', from: 'percent: 90', to: 'percent: 80', at: '    ‸traffic:\n      - revisionName: hello-00001', message: /services\[0\]\.traffic: percents add up to 90, must be 100/ },
  { rule: 'percent over 100', from: 'percent: 90', to: 'percent: 190', at: 'percent: ‸190', message: /percent: must be an integer in 0\.\.100, got 190/ },
  { rule: 'negative percent', from: 'percent: 10', to: 'percent: -10', at: 'percent: ‸-10', message: /percent: must be an integer in 0\.\.100, got -10/ },
  { rule: 'duplicate service name', from: '- name: other\n', to: '- name: hello\n', at: '- name: ‸hello\n    revisions', message: /services\[1\]\.name: duplicate service name "hello"/ },
  { rule: 'duplicate revision name across services', from: 'name: other-1', to: 'name: hello-00002', at: 'name: ‸hello-00002\n        kubernetes', message: /duplicate revision name "hello-00002" \(already in service hello/ },
  { rule: 'duplicate tag in a service', from: 'tag: latest', to: 'tag: canary', at: 'percent: 0\n        tag: ‸canary', message: /traffic\[2\]\.tag: duplicate tag "canary"/ },
  { rule: 'tag not a DNS-1035 label', from: 'tag: canary', to: 'tag: 1canary', at: 'tag: ‸1canary', message: /tag: must be a DNS-1035 label.*got "1canary"/ },
  { rule: 'tag with upper case', from: 'tag: canary', to: 'tag: Canary', at: 'tag: ‸Canary', message: /DNS-1035/ },
  { rule: 'traffic to an unknown revision', from: 'revisionName: hello-00002', to: 'revisionName: hello-00003', at: 'revisionName: ‸hello-00003', message: /unknown revision "hello-00003"/ },
  { rule: "traffic to another service's revision", from: 'revisionName: hello-00002', to: 'revisionName: other-1', at: 'revisionName: ‸other-1', message: /belongs to service other/ },
  { rule: 'latestRevision with a revisionName', from: '- latestRevision: true\n', to: '- latestRevision: true\n        revisionName: hello-00001\n', at: '- ‸latestRevision', message: /latestRevision: true .* cannot also name revisionName "hello-00001"/ },
  { rule: 'a target with neither', from: '- latestRevision: true\n', to: '- latestRevision: false\n', at: '- ‸latestRevision', message: /needs revisionName or latestRevision: true/ },
  { rule: 'revision with none of command/endpoints/kubernetes', from: '        endpoints: ["127.0.0.1:9001"]\n', to: '        timeoutSeconds: 10\n', at: '- ‸name: hello-00002', message: /revisions\[1\]: needs one of command .*, endpoints .* or kubernetes/ },
  { rule: 'revision with two of them', from: 'endpoints: ["127.0.0.1:9001"]', to: 'endpoints: ["127.0.0.1:9001"]\n        command: [x]', at: '‸command: [x]', message: /revisions\[1\]\.command: a revision has exactly one of command, endpoints, kubernetes; this one also has endpoints/ },
  { rule: 'endpoint without a port', from: '"127.0.0.1:9001"', to: '"127.0.0.1"', at: '[‸"127.0.0.1"]', message: /endpoints\[0\]: must be HOST:PORT.*got "127.0.0.1"/ },
  { rule: 'endpoint port out of range', from: '"127.0.0.1:9001"', to: '"127.0.0.1:70000"', at: '[‸"127.0.0.1:70000"]', message: /port must be in 1\.\.65535/ },
  { rule: 'endpoint with a bad IPv4', from: '"127.0.0.1:9001"', to: '"300.0.0.1:80"', at: '[‸"300.0.0.1:80"]', message: /not a valid IPv4 address/ },
  { rule: 'kubernetes without a port', from: 'deployment: other, port: 8080 }', to: 'deployment: other }', at: 'kubernetes: ‸{', message: /kubernetes: missing key "port"/ },
  { rule: 'duration without a unit', from: 'stable-window: 60s', to: 'stable-window: 60', at: 'stable-window: ‸60', message: /autoscaler\.stable-window: a duration needs a unit \(ms, s, m or h\), e\.g\. "60s", got 60/ },
  { rule: 'malformed duration', from: 'buffer-timeout: 60s', to: 'buffer-timeout: 1 minute', at: 'buffer-timeout: ‸1 minute', message: /activator\.buffer-timeout: not a duration/ },
  { rule: 'bad size', from: 'max-body-size: 1Gi', to: 'max-body-size: 1GB', at: 'max-body-size: ‸1GB', message: /limits\.max-body-size: not a size.*got "1GB"/ },
  { rule: 'bad extra host', from: 'hosts: [hello.localhost]', to: 'hosts: [hello_world.localhost]', at: '[‸hello_world', message: /hosts\[0\]: must be a host name.*got "hello_world.localhost"/ },
  { rule: 'host with a port', from: 'hosts: [hello.localhost]', to: 'hosts: ["hello.localhost:8080"]', at: '[‸"hello', message: /without a port/ },
  { rule: 'bad domain', from: 'domain: example.com', to: 'domain: "-example.com"', at: 'domain: ‸"', message: /^domain: must be a host name/ },
  { rule: 'host answered by two services', from: '  - name: other\n', to: '  - name: other\n    hosts: [HELLO.localhost]\n', at: '[‸HELLO', message: /host "hello.localhost" is already a host of service hello/ },
  { rule: 'stable-window under 6s', from: 'stable-window: 60s', to: 'stable-window: 5s', at: 'stable-window: ‸5s', message: /stable-window: must be in 6s\.\.1h, got "5s"/ },
  { rule: 'stable-window over 1h', from: 'stable-window: 60s', to: 'stable-window: 61m', at: 'stable-window: ‸61m', message: /must be in 6s\.\.1h/ },
  { rule: 'stable-window not whole seconds', from: 'stable-window: 60s', to: 'stable-window: 6500ms', at: 'stable-window: ‸6500ms', message: /must be a whole number of seconds/ },
  { rule: 'window annotation out of range', from: 'autoscaling.knative.dev/target: "10"', to: 'autoscaling.knative.dev/window: "2h"', at: 'window: ‸"2h"', message: /\["autoscaling.knative.dev\/window"\]: must be in 6s\.\.1h, got "2h"/ },
  { rule: 'panic-window-percentage 0', from: 'stable-window: 60s', to: 'panic-window-percentage: 0', at: 'panic-window-percentage: ‸0', message: /must be a number in 1\.\.100, got 0/ },
  { rule: 'panic-window-percentage annotation 101', from: 'autoscaling.knative.dev/target: "10"', to: 'autoscaling.knative.dev/panic-window-percentage: "101"', at: ': ‸"101"', message: /must be a number in 1\.\.100, got "101"/ },
  { rule: 'panic-threshold-percentage annotation 105', from: 'autoscaling.knative.dev/target: "10"', to: 'autoscaling.knative.dev/panic-threshold-percentage: "105"', at: ': ‸"105"', message: /must be a number in 110\.\.1000, got "105"/ },
  { rule: 'panic-threshold-percentage annotation 1001', from: 'autoscaling.knative.dev/target: "10"', to: 'autoscaling.knative.dev/panicThresholdPercentage: "1001"', at: ': ‸"1001"', message: /must be a number in 110\.\.1000/ },
  { rule: 'max-scale-up-rate 1', from: 'stable-window: 60s', to: 'max-scale-up-rate: 1', at: 'max-scale-up-rate: ‸1', message: /max-scale-up-rate: must be a number > 1, got 1/ },
  { rule: 'max-scale-down-rate 0.5', from: 'stable-window: 60s', to: 'max-scale-down-rate: 0.5', at: 'max-scale-down-rate: ‸0.5', message: /must be a number > 1, got 0.5/ },
  { rule: 'target-burst-capacity -2', from: 'stable-window: 60s', to: 'target-burst-capacity: -2', at: 'target-burst-capacity: ‸-2', message: /must be a number ≥ 0 or -1, got -2/ },
  { rule: 'target-burst-capacity annotation -5', from: 'autoscaling.knative.dev/target: "10"', to: 'autoscaling.knative.dev/target-burst-capacity: "-5"', at: ': ‸"-5"', message: /must be a number ≥ 0 or -1, got "-5"/ },
  { rule: 'activation-scale annotation 1', from: 'autoscaling.knative.dev/target: "10"', to: 'autoscaling.knative.dev/activation-scale: "1"', at: ': ‸"1"', message: /activation-scale"\]: must be an integer in 2\.\.2147483647, got "1"/ },
  { rule: 'min-scale over max-scale (annotations)', from: 'autoscaling.knative.dev/target: "10"', to: 'autoscaling.knative.dev/min-scale: "6"', at: 'min-scale: ‸"6"', message: /min-scale 6 must not exceed max-scale 5/ },
  { rule: 'min-scale over max-scale (global)', from: 'stable-window: 60s', to: 'min-scale: 3\n  max-scale: 2', at: 'min-scale: ‸3', message: /autoscaler\.min-scale: must not exceed max-scale 2, got 3/ },
  { rule: 'target under 0.01', from: 'autoscaling.knative.dev/target: "10"', to: 'autoscaling.knative.dev/target: "0.001"', at: ': ‸"0.001"', message: /target"\]: must be a number ≥ 0.01, got "0.001"/ },
  { rule: 'target not a number', from: 'autoscaling.knative.dev/target: "10"', to: 'autoscaling.knative.dev/target: "ten"', at: ': ‸"ten"', message: /must be a number ≥ 0.01, got "ten"/ },
  { rule: 'metric the KPA cannot use', from: 'autoscaling.knative.dev/target: "10"', to: 'autoscaling.knative.dev/metric: cpu', at: ': ‸cpu', message: /metric"\]: must be one of concurrency, rps, got "cpu"/ },
  { rule: 'initial-scale 0 without allow-zero-initial-scale', from: 'stable-window: 60s', to: 'initial-scale: 0', at: 'initial-scale: ‸0', message: /needs allow-zero-initial-scale: true/ },
  { rule: 'container-concurrency-target-percentage over 100', from: 'stable-window: 60s', to: 'container-concurrency-target-percentage: 150', at: 'percentage: ‸150', message: /must be a percentage in \(0, 100\]/ },
  { rule: 'containerConcurrency negative', from: 'containerConcurrency: 0', to: 'containerConcurrency: -1', at: 'containerConcurrency: ‸-1', message: /must be an integer ≥ 0, got -1/ },
  { rule: 'timeoutSeconds 0', from: 'timeoutSeconds: 300', to: 'timeoutSeconds: 0', at: 'timeoutSeconds: ‸0', message: /timeoutSeconds: must be an integer in 1\.\.600, got 0/ },
  { rule: 'timeoutSeconds 601', from: 'timeoutSeconds: 300', to: 'timeoutSeconds: 601', at: 'timeoutSeconds: ‸601', message: /must be an integer in 1\.\.600, got 601/ },
  { rule: 'readinessPath without a slash', from: 'readinessPath: /', to: 'readinessPath: healthz', at: 'readinessPath: ‸healthz', message: /must be a URL path starting with "\/"/ },
  { rule: 'env PORT is tidegate’s', from: 'env: { GREETING: one }', to: 'env: { PORT: "80" }', at: '{ ‸PORT', message: /env\.PORT: PORT is set by tidegate/ },
  { rule: 'env HOST is tidegate’s', from: 'env: { GREETING: one }', to: 'env: { HOST: 0.0.0.0 }', at: '{ ‸HOST', message: /env\.HOST: HOST is set by tidegate/ },
  { rule: 'service name not a DNS label', from: '- name: other\n', to: '- name: Other_Svc\n', at: '- name: ‸Other_Svc', message: /services\[1\]\.name: must be a DNS-1035 label/ },
  { rule: 'max-buffered-requests negative', from: 'buffer-timeout: 60s', to: 'max-buffered-requests: -1', at: 'requests: ‸-1', message: /activator\.max-buffered-requests: must be an integer ≥ 0, got -1/ },
];

describe('every broken rule is reported at its key or value', () => {
  test('the base fixture itself is valid', () => {
    expect(problems(BASE)).toEqual([]);
  });

  test.each(cases)('$rule', ({ from, to, at, message }) => {
    const text = broken(from, to);
    const found = problems(text);
    const hit = found.find((p) => message.test(p.replace(/^tg\.yaml:\d+:\d+: /, '')));
    expect(hit, `expected ${message} among:\n${found.join('\n')}`).toBeDefined();
    expect(hit?.split(': ')[0]).toBe(`tg.yaml:${lineColOf(text, at)}`);
  });
});

describe('exact output', () => {
  test('a handful of messages, verbatim', () => {
    expect(problems(broken('timeoutSeconds: 300', 'timeoutSeconds: 900'))).toEqual(['tg.yaml:18:25: services[0].revisions[0].timeoutSeconds: must be an integer in 1..600, got 900']);
    expect(problems(broken('percent: 90', 'percent: 85'))).toEqual(['tg.yaml:24:5: services[0].traffic: percents add up to 95, must be 100']);
    expect(problems(broken('stable-window: 60s', 'stable-window: 60'))).toEqual(['tg.yaml:3:18: autoscaler.stable-window: a duration needs a unit (ms, s, m or h), e.g. "60s", got 60']);
    expect(problems(broken('tag: latest', 'tag: canary'))).toEqual(['tg.yaml:32:14: services[0].traffic[2].tag: duplicate tag "canary" in service hello']);
    expect(problems(broken('  - name: other\n', '  - name: hello\n'))).toEqual([
      'tg.yaml:33:11: services[1].name: duplicate service name "hello"',
    ]);
  });

  test('YAML syntax errors carry their position', () => {
    const text = broken('domain: example.com', 'domain: example.com\ndomain: example.org');
    expect(problems(text)).toEqual([expect.stringMatching(/^tg\.yaml:2:1: YAML: Map keys must be unique/)]);
    const unclosed = problems(broken('hosts: [hello.localhost]', 'hosts: [hello.localhost'));
    expect(unclosed.length).toBeGreaterThan(0);
    expect(unclosed[0]).toMatch(/^tg\.yaml:\d+:\d+: YAML: /);
  });

  test('a missing services list is reported at 1:1, and so is an empty file', () => {
    expect(problems('domain: example.com\n')).toEqual(['tg.yaml:1:1: services: missing key "services" (the list of services to route to)']);
    expect(problems('')).toEqual(['tg.yaml:1:1: the file: must be a map, got nothing']);
  });
});

test('all problems are reported at once, in file order', () => {
  let text = broken('stable-window: 60s', 'stable-window: 5s');
  text = text.replace('timeoutSeconds: 300', 'timeoutSeconds: 900').replace('tag: canary', 'tag: Canary').replace('name: other-1', 'name: hello-00001');
  const found = problems(text);
  expect(found.map((p) => p.split(': ')[0])).toEqual([
    `tg.yaml:${lineColOf(text, 'stable-window: ‸5s')}`,
    `tg.yaml:${lineColOf(text, 'timeoutSeconds: ‸900')}`,
    `tg.yaml:${lineColOf(text, 'tag: ‸Canary')}`,
    `tg.yaml:${lineColOf(text, 'name: ‸hello-00001\n        kubernetes')}`,
  ]);
});

test('a broken file is not a config: nothing half-built leaks out', () => {
  const result = parseConfig(broken('percent: 90', 'percent: 80'), 'tg.yaml');
  expect(result.ok).toBe(false);
  expect('config' in result).toBe(false);
});
