import type { Config, RevisionSpec } from '../config/types.js';
import { WeightedPick } from './weighted-pick.js';

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
 * Hosts: `{name}.{domain}` and the service's extra hosts get the untagged
 * split; `{tag}-{name}.{domain}` gets the tagged revision at 100 %.
 */
export class RouteTable<R> {
  private hosts = new Map<string, Route<R>>();

  constructor(config: Config, resolve: (rev: RevisionSpec) => R) {
    for (const svc of config.services) {
      const byName = new Map(svc.revisions.map((r) => [r.name, r]));
      const rev = (name: string): R => {
        const spec = byName.get(name) ?? config.revisions.get(name);
        if (!spec) throw new Error(`traffic target ${name} names no revision`);
        return resolve(spec);
      };
      const split = svc.traffic.filter((t) => t.percent > 0).map((t) => ({ value: rev(t.revisionName), percent: t.percent }));
      const tags = new Map<string, R>();
      for (const t of svc.traffic) if (t.tag !== null) tags.set(t.tag, rev(t.revisionName));
      const main: Route<R> = { service: svc.name, pick: new WeightedPick(split), tags: config.tagHeaderRouting && tags.size > 0 ? tags : null };
      for (const host of svc.hosts) this.hosts.set(host, main);
      for (const [tag, r] of tags) {
        this.hosts.set(`${tag}-${svc.name}.${config.domain}`.toLowerCase(), { service: svc.name, pick: new WeightedPick([{ value: r, percent: 100 }]), tags: null });
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
