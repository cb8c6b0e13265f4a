import { startQueueProxy, type QueueProxyHandle, type QueueProxyOptions } from '../../src/queue/sidecar.js';
import { silentLogger } from '../../src/shared/log.js';

/**
 * A queue-proxy in this process in front of `upstream`, on free loopback
 * ports: no limit, TCP readiness, no store, silent; `opts` overrides.
 */
export function startTestQueueProxy(upstream: string, opts: Partial<QueueProxyOptions> = {}): Promise<QueueProxyHandle> {
  return startQueueProxy({
    revision: 'rev-1',
    upstream,
    port: 0,
    host: '127.0.0.1',
    adminPort: 0,
    containerConcurrency: 0,
    readinessPath: null,
    timeoutSeconds: 30,
    podId: 'pod-a',
    store: null,
    logger: silentLogger,
    processMetrics: false,
    ...opts,
  });
}
