/** The route table with a rollout's split: pinned targets keep their share, tags roll on their own host and header. */
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';
import type { Config } from '../../src/config/types.js';
import { RouteTable } from '../../src/router/route-table.js';
import type { RevisionShare } from '../../src/router/rollout.js';

function config(): Config {
  const r = parseConfig(
    `domain: example.com
tagHeaderRouting: true
services:
  - name: hello
    revisions:
      - { name: hello-1, endpoints: ["127.0.0.1:9001"] }
      - { name: hello-2, endpoints: ["127.0.0.1:9002"] }
      - { name: hello-3, endpoints: ["127.0.0.1:9003"] }
    traffic:
      - { revisionName: hello-1, percent: 30 }
      - { latestRevision: true, percent: 70, tag: latest }
`,
    't.yaml',
  );
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  return r.config;
}

const rolling: Record<string, RevisionShare[]> = {
  '': [
    { revision: 'hello-2', percent: 69 },
    { revision: 'hello-3', percent: 1 },
  ],
  latest: [
    { revision: 'hello-2', percent: 99 },
    { revision: 'hello-3', percent: 1 },
  ],
};

/** How 100 evenly spaced draws split. */
function split(pick: (random: () => number) => string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < 100; i++) {
    const r = pick(() => (i + 0.5) / 100)!;
    out[r] = (out[r] ?? 0) + 1;
  }
  return out;
}

describe('RouteTable during a rollout', () => {
  const table = new RouteTable(config(), (spec) => spec.name, { everReady: () => true, rollout: (s, tag) => (s === 'hello' ? (rolling[tag] ?? null) : null) });

  test('the untagged split: the pinned target keeps 30 %, the latestRevision 70 % is the rollout’s', () => {
    expect(split((rnd) => table.lookup('hello.example.com', '', rnd))).toEqual({ 'hello-1': 30, 'hello-2': 69, 'hello-3': 1 });
  });

  test('the tag rolls on its own at 100 %, on its host and by Knative-Serving-Tag', () => {
    expect(split((rnd) => table.lookup('latest-hello.example.com', '', rnd))).toEqual({ 'hello-2': 99, 'hello-3': 1 });
    expect(split((rnd) => table.lookup('hello.example.com', 'latest', rnd))).toEqual({ 'hello-2': 99, 'hello-3': 1 });
  });

  test('effectiveTraffic lists what each host routes now', () => {
    expect(table.effectiveTraffic('hello')).toEqual([
      { revisionName: 'hello-2', percent: 69, tag: null },
      { revisionName: 'hello-3', percent: 1, tag: null },
      { revisionName: 'hello-1', percent: 30, tag: null },
      { revisionName: 'hello-2', percent: 99, tag: 'latest' },
      { revisionName: 'hello-3', percent: 1, tag: 'latest' },
    ]);
  });

  test('no rollout: the latest Ready revision takes the latestRevision share', () => {
    const plain = new RouteTable(config(), (spec) => spec.name, { everReady: () => true });
    expect(split((rnd) => plain.lookup('hello.example.com', '', rnd))).toEqual({ 'hello-1': 30, 'hello-3': 70 });
    expect(plain.effectiveTraffic('hello')).toEqual([
      { revisionName: 'hello-1', percent: 30, tag: null },
      { revisionName: 'hello-3', percent: 70, tag: null },
      { revisionName: 'hello-3', percent: 100, tag: 'latest' },
    ]);
  });
});
