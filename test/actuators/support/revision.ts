import fs from 'node:fs';
import path from 'node:path';
import type { AutoscalerSettings, RevisionSpec } from '../../../src/config/types.js';
import { DEFAULT_READINESS_PROBE } from '../../../src/config/defaults.js';

export const FIXTURE_APP = path.resolve('test/fixtures/app.js');

/** A local revision running the fixture app; override what the test is about. */
export function localRevision(over: Partial<RevisionSpec> = {}): RevisionSpec {
  return {
    name: 'app-00001',
    service: 'app',
    command: [process.execPath, FIXTURE_APP],
    endpoints: null,
    kubernetes: null,
    env: {},
    readinessPath: null,
    readinessProbe: DEFAULT_READINESS_PROBE,
    containerConcurrency: 0,
    timeoutSeconds: 30,
    responseStartTimeoutSeconds: 0,
    idleTimeoutSeconds: 0,
    queueProxy: false,
    protocol: 'http1',
    annotations: {},
    // The actuators never read the autoscaling settings.
    autoscaling: {} as AutoscalerSettings,
    ...over,
  };
}

/** The actuator tests call it `until`. */
export { waitFor as until } from '../../support/wait.js';

/** True while the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped by whoever adopted it) still answers kill 0.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** GET http://address/path, resolving the status and body. */
export async function get(address: string, urlPath: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${address}${urlPath}`);
  return { status: res.status, body: await res.text() };
}
