import type { KubernetesTarget, RevisionSpec } from '../config/types.js';
import type { Logger } from '../shared/log.js';
import type { Actuator } from './actuator.js';
import { kubeRequest, type KubeResponse } from './kube-client.js';
import { loadKubeConnection, type KubeConnection, type KubeConnectionOptions } from './kube-connection.js';

export interface KubernetesActuatorOptions extends KubeConnectionOptions {
  readonly logger: Logger;
  /** Use this connection instead of discovering one (tests, embedding). */
  readonly connection?: KubeConnection;
}

interface Deployment {
  readonly target: KubernetesTarget;
  /** spec.replicas as the API server last told us; null until we know. */
  replicas: number | null;
  /** One request at a time per Deployment; a later scale() waits for it. */
  busy: Promise<void>;
}

function scalePath(t: KubernetesTarget): string {
  return `/apis/apps/v1/namespaces/${encodeURIComponent(t.namespace)}/deployments/${encodeURIComponent(t.deployment)}/scale`;
}

/** spec.replicas of a Scale object, or null if the body is not one. */
function replicasOf(res: KubeResponse): number | null {
  try {
    const n = (JSON.parse(res.body) as { spec?: { replicas?: unknown } }).spec?.replicas;
    return typeof n === 'number' ? n : 0; // the API omits replicas: 0
  } catch {
    return null;
  }
}

/**
 * Sets `spec.replicas` of each revision's Deployment through the scale
 * subresource (RBAC: get and patch on deployments/scale). Pods reach the
 * routing table by themselves: their queue-proxy sidecars register in the
 * shared store. A failed call is logged with its status and body and not
 * retried here: the autoscaler calls scale() again on its next tick.
 */
export class KubernetesActuator implements Actuator {
  private readonly deployments = new Map<string, Deployment>();
  private readonly byRevision = new Map<string, Deployment>();
  private connection: Promise<KubeConnection> | null;

  constructor(private readonly o: KubernetesActuatorOptions) {
    this.connection = o.connection ? Promise.resolve(o.connection) : null;
  }

  async scale(revision: RevisionSpec, count: number): Promise<void> {
    const target = revision.kubernetes;
    if (!target) throw new Error(`revision ${revision.name} has no kubernetes target`);
    const key = `${target.namespace}/${target.deployment}`;
    let d = this.deployments.get(key);
    if (!d) this.deployments.set(key, (d = { target, replicas: null, busy: Promise.resolve() }));
    this.byRevision.set(revision.name, d);
    const dep = d;
    const run = dep.busy.then(() => this.apply(revision.name, dep, Math.max(0, Math.floor(count))));
    dep.busy = run.catch(() => undefined);
    return run;
  }

  currentScale(revision: string): number {
    return this.byRevision.get(revision)?.replicas ?? 0;
  }

  async close(): Promise<void> {
    await Promise.all([...this.deployments.values()].map((d) => d.busy));
  }

  private async apply(revision: string, d: Deployment, count: number): Promise<void> {
    const log = this.o.logger.child({ revision, namespace: d.target.namespace, deployment: d.target.deployment });
    try {
      const conn = await this.connect();
      if (d.replicas === null) {
        // Learn where the Deployment stands (and whether we may touch it) before changing it.
        const got = await kubeRequest(conn, 'GET', scalePath(d.target));
        if (got.status === 200) d.replicas = replicasOf(got);
        else log.error({ status: got.status, body: got.body }, 'reading the Deployment scale failed');
      }
      if (d.replicas === count) return;
      const res = await kubeRequest(conn, 'PATCH', scalePath(d.target), { type: 'application/merge-patch+json', data: { spec: { replicas: count } } });
      if (res.status < 200 || res.status >= 300) {
        log.error({ status: res.status, body: res.body, replicas: count }, 'scaling the Deployment failed; retrying on the next tick');
        return;
      }
      d.replicas = replicasOf(res) ?? count;
      log.info({ replicas: d.replicas }, 'Deployment scaled');
    } catch (err) {
      log.error({ err: String(err) }, 'Kubernetes API unreachable; retrying on the next tick');
    }
  }

  private connect(): Promise<KubeConnection> {
    if (!this.connection) {
      const loading = loadKubeConnection(this.o).then((c) => {
        this.o.logger.info({ server: c.server, source: c.source }, 'Kubernetes API');
        return c;
      });
      // A missing kubeconfig is retried on the next call rather than remembered forever.
      loading.catch(() => (this.connection = null));
      this.connection = loading;
    }
    return this.connection;
  }
}
