/** Route-table rules from Knative's routing: latestRevision follows the latest Ready revision; hosts carry the namespace. */
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';
import type { Config } from '../../src/config/types.js';
import { RouteTable } from '../../src/router/route-table.js';

function config(extra = ''): Config {
  const text = `domain: example.com
services:
  - name: hello
${extra}    revisions:
      - name: hello-1
        endpoints: ["127.0.0.1:9001"]
      - name: hello-2
        endpoints: ["127.0.0.1:9002"]
    traffic:
      - latestRevision: true
        percent: 100
        tag: latest
`;
  const r = parseConfig(text, 't.yaml');
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  return r.config;
}

const table = (c: Config, ready: string[]) => new RouteTable(c, (spec) => spec.name, { everReady: (n) => ready.includes(n) });
const half = () => 0.5;

describe('latestRevision: true', () => {
  test('follows the latest revision that has been Ready, not the last one listed', () => {
    expect(table(config(), ['hello-1']).lookup('hello.example.com', '', half)).toBe('hello-1');
    expect(table(config(), ['hello-1']).lookup('latest-hello.example.com', '', half)).toBe('hello-1');
    expect(table(config(), ['hello-1', 'hello-2']).lookup('hello.example.com', '', half)).toBe('hello-2');
  });

  test('before any revision has been Ready, the last one listed (the activator holds its requests)', () => {
    expect(table(config(), []).lookup('hello.example.com', '', half)).toBe('hello-2');
  });
});

describe('namespace', () => {
  test('hosts are {name}.{namespace}.{domain} and tags {tag}-{name}.{namespace}.{domain}', () => {
    const c = config('    namespace: shop\n');
    expect(c.services[0]?.hosts).toEqual(['hello.shop.example.com']);
    const t = table(c, ['hello-1', 'hello-2']);
    expect(t.lookup('hello.shop.example.com', '', half)).toBe('hello-2');
    expect(t.lookup('latest-hello.shop.example.com', '', half)).toBe('hello-2');
    expect(t.lookup('hello.example.com', '', half)).toBeNull();
  });

  test('without one, {name}.{domain} as before', () => {
    expect(config().services[0]?.hosts).toEqual(['hello.example.com']);
  });
});
