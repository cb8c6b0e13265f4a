/** A valid config that the problem tables break one rule at a time. */
export const BASE = `domain: example.com
autoscaler:
  stable-window: 60s
  scale-to-zero-grace-period: 30s
activator:
  buffer-timeout: 60s
limits:
  max-body-size: 1Gi
services:
  - name: hello
    hosts: [hello.localhost]
    revisions:
      - name: hello-00001
        command: [node, app.js]
        env: { GREETING: one }
        readinessPath: /
        containerConcurrency: 0
        timeoutSeconds: 300
        annotations:
          autoscaling.knative.dev/target: "10"
          autoscaling.knative.dev/max-scale: "5"
      - name: hello-00002
        endpoints: ["127.0.0.1:9001"]
    traffic:
      - revisionName: hello-00001
        percent: 90
      - revisionName: hello-00002
        percent: 10
        tag: canary
      - latestRevision: true
        percent: 0
        tag: latest
  - name: other
    revisions:
      - name: other-1
        kubernetes: { namespace: default, deployment: other, port: 8080 }
`;

/** BASE with `from` replaced by `to` (which must occur exactly once). */
export function broken(from: string, to: string): string {
  const at = BASE.indexOf(from);
  if (at < 0 || BASE.indexOf(from, at + 1) >= 0) throw new Error(`fixture: ${JSON.stringify(from)} must occur exactly once in BASE`);
  return BASE.slice(0, at) + to + BASE.slice(at + from.length);
}

/**
 * Where `marker` points in `text`: the marker is a unique piece of the text
 * with a "‸" before the character meant; returns "LINE:COL" (1-based).
 */
export function lineColOf(text: string, marker: string): string {
  const caret = marker.indexOf('‸');
  const plain = marker.replace('‸', '');
  const at = text.indexOf(plain);
  if (caret < 0 || at < 0 || text.indexOf(plain, at + 1) >= 0) throw new Error(`fixture: marker ${JSON.stringify(marker)} must have a ‸ and occur exactly once`);
  const before = text.slice(0, at + caret).split('\n');
  return `${before.length}:${(before[before.length - 1] ?? '').length + 1}`;
}
