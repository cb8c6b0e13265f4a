import type { Config, RevisionSpec, ServiceSpec, TrafficTarget } from '../config/types.js';
import { tagHost } from '../config/names.js';
import { WeightedPick } from './weighted-pick.js';

/** What the route table needs to know of the running revisions (runtime state passed in, so the table stays pure). */
export interface RouteState {
  /** Has this revision ever had a ready pod (Knative's Ready revision)? Absent: every revision counts as ready. */
  readonly everReady?: (revision: string) => boolean;
}

/**
 * The revision a target sends to. `latestRevision: true` follows the latest
 * *Ready* revision, as Knative's configurationName targets follow
 * latestReadyRevisionName: a new revision gets traffic once it has been
 * ready, not while it cannot serve. Before any revision has been ready, the
 * last one listed (the activator holds its requests until it is).
 */
export function targetRevision(svc: ServiceSpec, t: TrafficTarget, state: RouteState): string {
  if (!t.latestRevision || state.everReady === undefined) return t.revisionName;
  for (let i = svc.revisions.length - 1; i >= 0; i--) {
    const name = svc.revisions[i]!.name;
    if (state.everReady(name)) return name;
  }
  return t.revisionName;
}

/** Where a host (and maybe a tag) sends a request. */
export interface Route<R> {
  readonly service: string;
  /** The untagged split, or a tag's single revision. */
  readonly pick: WeightedPick<R>;
  /** Tag → revision, for Knative-Serving-Tag header routing on the default host. */
  readonly tags: ReadonlyMap<string, R> | null;
}

/**
 * Host → route, built once per config and swapped whole on reload (pure:
 * `resolve` maps a revision spec to whatever the edge routes to).
 * Hosts: `{name}[.{namespace}].{domain}` and the service's extra hosts get
 * the untagged split; `{tag}-{name}[.{namespace}].{domain}` gets the tagged
 * revision at 100 %.
 */
export class RouteTable<R> {
  private hosts = new Map<string, Route<R>>();

  constructor(config: Config, resolve: (rev: RevisionSpec) => R, state: RouteState = {}) {
    for (const svc of config.services) {
      const byName = new Map(svc.revisions.map((r) => [r.name, r]));
      const rev = (name: string): R => {
        const spec = byName.get(name) ?? config.revisions.get(name);
        if (!spec) throw new Error(`traffic target ${name} names no revision`);
        return resolve(spec);
      };
      const split = svc.traffic.filter((t) => t.percent > 0).map((t) => ({ value: rev(targetRevision(svc, t, state)), percent: t.percent }));
      const tags = new Map<string, R>();
      for (const t of svc.traffic) if (t.tag !== null) tags.set(t.tag, rev(targetRevision(svc, t, state)));
      const main: Route<R> = { service: svc.name, pick: new WeightedPick(split), tags: config.tagHeaderRouting && tags.size > 0 ? tags : null };
      for (const host of svc.hosts) this.hosts.set(host, main);
      for (const [tag, r] of tags) {
        this.hosts.set(tagHost(tag, svc.name, svc.namespace, config.domain).toLowerCase(), { service: svc.name, pick: new WeightedPick([{ value: r, percent: 100 }]), tags: null });
      }
    }
  }

  /** `host`: lower-case, port stripped. `tag`: the Knative-Serving-Tag header or ''. */
  lookup(host: string, tag: string, random: () => number): R | null {
    const route = this.hosts.get(host);
    if (route === undefined) return null;
    if (tag !== '' && route.tags !== null) {
      const r = route.tags.get(tag);
      if (r !== undefined) return r;
    }
    return route.pick.pick(random);
  }

  route(host: string): Route<R> | undefined {
    return this.hosts.get(host);
  }

  get hostNames(): string[] {
    return [...this.hosts.keys()];
  }
}
