import { randomBytes } from 'node:crypto';
import { createLogger } from '../shared/log.js';
import { realClock } from '../shared/clock.js';
import type { Store } from '../store/store.js';
import { rawSocketsFromEnv, UpstreamRuntime } from '../upstream/runtime.js';
import { startQueueProxy, type QueueProxyHandle, type ReadinessTiming } from '../queue/sidecar.js';
import { exitOnSignal } from '../shared/signals.js';

type Values = Record<string, string | boolean | undefined>;

/** A flag, else its environment variable (DESIGN.md: env mirrors flags). */
function pick(values: Values, flag: string, env: string): string | undefined {
  const v = values[flag];
  if (typeof v === 'string') return v;
  const e = process.env[env];
  return e === undefined || e === '' ? undefined : e;
}

function int(text: string | undefined, fallback: number, name: string, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * `tidegate queue-proxy`: one pod's sidecar. Serves until SIGTERM/SIGINT,
 * then drains (probes fail at once, it serves on until --drain-seconds pass
 * with no new request, then in-flight and queued requests finish) and
 * exits 0.
 */
export async function main(values: Values): Promise<number> {
  const revision = pick(values, 'revision', 'TIDEGATE_REVISION');
  const upstream = pick(values, 'upstream', 'TIDEGATE_UPSTREAM');
  let port: number, adminPort: number, containerConcurrency: number, timeoutSeconds: number, responseStartTimeoutSeconds: number, idleTimeoutSeconds: number;
  let readiness: ReadinessTiming, drainSeconds: number;
  try {
    if (!revision || !upstream) throw new Error('--revision and --upstream HOST:PORT are required');
    if (!/^.+:\d+$/.test(upstream)) throw new Error(`--upstream must be HOST:PORT, got ${JSON.stringify(upstream)}`);
    port = int(pick(values, 'port', 'PORT'), 8012, 'port', 0, 65535);
    adminPort = int(pick(values, 'admin-port', 'ADMIN_PORT'), 9091, 'admin-port', 0, 65535);
    containerConcurrency = int(pick(values, 'container-concurrency', 'CONTAINER_CONCURRENCY'), 0, 'container-concurrency', 0, 1000);
    timeoutSeconds = int(pick(values, 'timeout-seconds', 'TIMEOUT_SECONDS'), 300, 'timeout-seconds', 1, 3600);
    // Knative's queue-proxy environment names, as the flags' variables.
    responseStartTimeoutSeconds = int(pick(values, 'response-start-timeout-seconds', 'REVISION_RESPONSE_START_TIMEOUT_SECONDS'), 0, 'response-start-timeout-seconds', 0, timeoutSeconds);
    idleTimeoutSeconds = int(pick(values, 'idle-timeout-seconds', 'REVISION_IDLE_TIMEOUT_SECONDS'), 0, 'idle-timeout-seconds', 0, 3600);
    readiness = {
      periodSeconds: int(pick(values, 'readiness-period-seconds', 'READINESS_PERIOD_SECONDS'), 0, 'readiness-period-seconds', 0, 3600),
      timeoutSeconds: int(pick(values, 'readiness-timeout-seconds', 'READINESS_TIMEOUT_SECONDS'), 1, 'readiness-timeout-seconds', 1, 3600),
      successThreshold: int(pick(values, 'readiness-success-threshold', 'READINESS_SUCCESS_THRESHOLD'), 1, 'readiness-success-threshold', 1, 1000),
      failureThreshold: int(pick(values, 'readiness-failure-threshold', 'READINESS_FAILURE_THRESHOLD'), 3, 'readiness-failure-threshold', 1, 1000),
    };
    // Knative's queue-proxy drain period (sharedmain: 15 s); tidegate's local pods pass 0.
    drainSeconds = int(pick(values, 'drain-seconds', 'DRAIN_SECONDS'), 15, 'drain-seconds', 0, 3600);
  } catch (err) {
    process.stderr.write(`tidegate queue-proxy: ${(err as Error).message}\n`);
    return 2;
  }
  const readinessPath = pick(values, 'readiness-path', 'READINESS_PATH') ?? null;
  const podId = pick(values, 'pod-id', 'POD_ID') ?? `${revision}-${randomBytes(3).toString('hex')}`;
  const advertise = pick(values, 'advertise', 'TIDEGATE_ADVERTISE');
  const redisUrl = pick(values, 'redis', 'REDIS_URL');
  // The data port serves the edges; the admin port only whoever is in the pod (unless told otherwise).
  const host = pick(values, 'address', 'TIDEGATE_ADDRESS') ?? '0.0.0.0';
  const adminHost = pick(values, 'admin-address', 'TIDEGATE_ADMIN_ADDRESS') ?? '127.0.0.1';
  const logger = createLogger('tidegate-queue-proxy').child({ revision, pod: podId });
  // The store module (and ioredis) is loaded only when there is a store to talk to.
  const store: Store | null = redisUrl ? await (await import('../store/index.js')).createStore({ redisUrl, clock: realClock, logger }) : null;

  let qp: QueueProxyHandle;
  try {
    qp = await startQueueProxy({
      runtime: new UpstreamRuntime({ rawSockets: rawSocketsFromEnv() }),
      revision,
      upstream,
      port,
      host,
      adminPort,
      adminHost,
      containerConcurrency,
      readinessPath,
      timeoutSeconds,
      responseStartTimeoutSeconds,
      idleTimeoutSeconds,
      readiness,
      drainSeconds,
      podId,
      store,
      logger,
      ...(advertise ? { advertise } : {}),
    });
  } catch (err) {
    await store?.close();
    process.stderr.write(`tidegate queue-proxy: ${(err as Error).message}\n`);
    return 1;
  }

  exitOnSignal(logger, () => qp.shutdown().then(() => store?.close()));
  return -1;
}
