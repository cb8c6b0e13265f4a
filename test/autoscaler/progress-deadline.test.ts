/**
 * `serving.knative.dev/progress-deadline` on a revision: read as Knative
 * reads it (a Go duration, positive, whole seconds; 600 s by default) and
 * refused with file:line:col otherwise.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { DEFAULT_PROGRESS_DEADLINE_MS, scalingParams } from '../../src/autoscaler/targets.js';

const yaml = (value: string | null) => `services:
  - name: app
    revisions:
      - name: app-1
        command: [node, app.js]
${value === null ? '' : `        annotations:\n          serving.knative.dev/progress-deadline: ${value}\n`}    traffic:
      - revisionName: app-1
        percent: 100
`;

describe('serving.knative.dev/progress-deadline', () => {
  it('defaults to 600 s and takes a Go duration', () => {
    for (const [value, ms] of [[null, DEFAULT_PROGRESS_DEADLINE_MS], ['"10s"', 10_000], ['"2m"', 120_000]] as const) {
      const r = parseConfig(yaml(value), 'c.yaml');
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      const rev = r.config.revisions.get('app-1');
      expect(rev && scalingParams(rev).progressDeadlineMs).toBe(ms);
    }
  });

  it.each(['"abc"', '"1500ms"', '"0s"', '"-5s"'])('refuses %s where it is written', (value) => {
    const r = parseConfig(yaml(value), 'c.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]?.line).toBe(7);
    expect(r.problems[0]?.message).toContain('progress-deadline');
  });
});
