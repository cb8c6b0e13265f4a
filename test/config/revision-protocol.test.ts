/**
 * A revision's upstream protocol: `protocol: http1 | h2c` in tidegate's
 * config, and in a Knative Service the name of the container's port
 * (Knative's convention: `h2c` is HTTP/2 with prior knowledge, `http1` or no
 * name is HTTP/1.1).
 */
import { describe, expect, test } from 'vitest';
import { formatProblem, parseConfig } from '../../src/config/parse.js';
import { lineColOf } from './fixtures.js';

function config(extra: string): string {
  return `services:
  - name: app
    revisions:
      - name: app-1
        endpoints: ["127.0.0.1:9000"]
${extra}`;
}

function parse(text: string): { protocol?: string; problems: string[]; warnings: string[] } {
  const r = parseConfig(text, 'tg.yaml');
  if (!r.ok) return { problems: r.problems.map(formatProblem), warnings: [] };
  const rev = [...r.config.revisions.values()][0];
  return { ...(rev ? { protocol: rev.protocol } : {}), problems: [], warnings: r.warnings.map(formatProblem) };
}

describe('protocol in a tidegate config', () => {
  test('default http1', () => {
    expect(parse(config('')).protocol).toBe('http1');
  });

  test.each(['http1', 'h2c'])('%s', (p) => {
    expect(parse(config(`        protocol: ${p}\n`)).protocol).toBe(p);
  });

  test.each(['h2', 'HTTP1', 'grpc'])('%s is refused at its value', (p) => {
    const text = config(`        protocol: ${p}\n`);
    expect(parse(text).problems).toEqual([`tg.yaml:${lineColOf(text, `protocol: ‸${p}`)}: services[0].revisions[0].protocol: must be one of http1, h2c, got "${p}"`]);
  });
});

function manifest(ports: string, annotations = ''): string {
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: grpc
spec:
  template:
${annotations}    spec:
      containers:
        - image: example/grpc
          command: [node, app.js]
${ports}`;
}

describe('a Knative Service: the container port name', () => {
  test('h2c → h2c', () => {
    const r = parse(manifest('          ports:\n            - name: h2c\n              containerPort: 8080\n'));
    expect(r.problems).toEqual([]);
    expect(r.protocol).toBe('h2c');
  });

  test('http1, an unnamed port, or no ports → http1', () => {
    expect(parse(manifest('          ports:\n            - name: http1\n              containerPort: 8080\n')).protocol).toBe('http1');
    expect(parse(manifest('          ports:\n            - containerPort: 8080\n')).protocol).toBe('http1');
    expect(parse(manifest('')).protocol).toBe('http1');
  });

  test('h2c on a revision that runs on static endpoints', () => {
    const r = parse(manifest('          ports: [{ name: h2c, containerPort: 8080 }]\n', '    metadata:\n      annotations:\n        tidegate.dev/endpoints: "127.0.0.1:9000"\n'));
    expect(r.problems).toEqual([]);
    expect(r.protocol).toBe('h2c');
  });

  test('another port name is refused at the name, as Knative does', () => {
    const text = manifest('          ports:\n            - name: grpc\n              containerPort: 8080\n');
    expect(parse(text).problems).toEqual([`tg.yaml:${lineColOf(text, '- name: ‸grpc')}: documents[0].spec.template.spec.containers[0].ports[0].name: must be h2c or http1 (Knative allows only these port names), got "grpc"`]);
  });
});
