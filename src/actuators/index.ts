import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import type { Config, RevisionSpec } from '../config/types.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import type { Store } from '../store/store.js';
import type { Actuator } from './actuator.js';
import { KubernetesActuator } from './kubernetes.js';
import type { KubeConnection, KubeConnectionOptions } from './kube-connection.js';
import { LocalActuator } from './local.js';
import { StaticActuator } from './static.js';

export interface CreateActuatorOptions {
  readonly config: () => Config;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** dist/cli.js, for queue-proxies of local pods (default: found next to this module). */
  readonly cliPath?: string;
  readonly redisUrl?: string;
  readonly isIdle?: (podId: string) => boolean;
  /** Working directory of local pods' commands (default process.cwd()). */
  readonly cwd?: string;
  readonly stopGraceMs?: number;
  /** Where tidegate_pod_crashes_total goes (pass the admin server's registry). */
  readonly registry?: Registry;
  readonly kubernetes?: KubeConnectionOptions & { readonly connection?: KubeConnection };
}

type Kind = 'local' | 'static' | 'kubernetes';

function kindOf(rev: RevisionSpec): Kind {
  if (rev.command) return 'local';
  if (rev.kubernetes) return 'kubernetes';
  return 'static';
}

/** dist/cli.js, also when this module runs from the TypeScript sources (tests). */
function defaultCliPath(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? path.resolve(path.dirname(here), '../../dist/cli.js') : path.resolve(path.dirname(here), '../cli.js');
}

/**
 * One Actuator for the whole config: each revision goes to the actuator of
 * its kind (command → local, endpoints → static, kubernetes → kubernetes),
 * each created the first time it is needed; the local one at once when the
 * config has a command revision, so that its reaper process is running
 * before the first cold start rather than starting during it.
 */
class CompositeActuator implements Actuator {
  private readonly subs = new Map<Kind, Actuator>();
  /** The kind each revision was last scaled as; it outlives the revision's removal from the config. */
  private readonly kinds = new Map<string, Kind>();

  constructor(private readonly o: CreateActuatorOptions) {
    for (const rev of o.config().revisions.values()) {
      if (kindOf(rev) !== 'local') continue;
      this.sub('local');
      break;
    }
  }

  scale(revision: RevisionSpec, count: number): Promise<void> {
    const kind = kindOf(revision);
    this.kinds.set(revision.name, kind);
    return this.sub(kind).scale(revision, count);
  }

  currentScale(revision: string): number {
    const spec = this.o.config().revisions.get(revision);
    const kind = this.kinds.get(revision) ?? (spec ? kindOf(spec) : undefined);
    if (kind === undefined) return 0;
    // Static pods exist without ever being scaled; the others count only what they started.
    if (kind === 'static') return this.sub('static').currentScale(revision);
    return this.subs.get(kind)?.currentScale(revision) ?? 0;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subs.values()].map((s) => s.close()));
  }

  private sub(kind: Kind): Actuator {
    let s = this.subs.get(kind);
    if (!s) this.subs.set(kind, (s = this.create(kind)));
    return s;
  }

  private create(kind: Kind): Actuator {
    const o = this.o;
    switch (kind) {
      case 'static':
        return new StaticActuator(o.config);
      case 'kubernetes':
        return new KubernetesActuator({ ...o.kubernetes, logger: o.logger.child({ actuator: 'kubernetes' }) });
      case 'local':
        return new LocalActuator({
          store: o.store,
          clock: o.clock,
          logger: o.logger.child({ actuator: 'local' }),
          cliPath: o.cliPath ?? defaultCliPath(),
          ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
          ...(o.isIdle ? { isIdle: o.isIdle } : {}),
          ...(o.stopGraceMs !== undefined ? { stopGraceMs: o.stopGraceMs } : {}),
          ...(o.redisUrl !== undefined ? { redisUrl: o.redisUrl } : {}),
          ...(o.registry ? { registry: o.registry } : {}),
        });
    }
  }
}

export function createActuator(opts: CreateActuatorOptions): Actuator {
  return new CompositeActuator(opts);
}
