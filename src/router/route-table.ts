import type { Config, RevisionSpec, ServiceSpec, TrafficTarget } from '../config/types.js';
import { tagHost } from '../config/names.js';
import { WeightedPick } from './weighted-pick.js';
import type { RevisionShare } from './rollout.js';

/** What the route table needs to know of the running revisions (runtime state passed in, so the table stays pure). */
export interface RouteState {
  /** Has this revision ever had a ready pod (Knative's Ready revision)? Absent: every revision counts as ready. */
  readonly everReady?: (revision: string) => boolean;
  /**
   * While a rollout runs (rollout.ts), the split of a service's
   * `latestRevision` traffic for a tag ('' untagged) over the revisions it is
   * moving between; null: the latest Ready revision takes it all.
   */
  readonly rollout?: (service: string, tag: string) => readonly RevisionShare[] | null;
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
  /** Tag → the tag's split (one revision, or two or more during a rollout), for Knative-Serving-Tag header routing on the default host. */
  readonly tags: ReadonlyMap<string, WeightedPick<R>> | null;
}

/** A share of what a host routes now (the config's traffic with a rollout's split applied): /status. */
export interface EffectiveTarget {
  readonly revisionName: string;
  readonly percent: number;
  /** null: the service's untagged split; else that tag's host. */
  readonly tag: string | null;
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
  private effective = new Map<string, EffectiveTarget[]>();

  constructor(config: Config, resolve: (rev: RevisionSpec) => R, state: RouteState = {}) {
    for (const svc of config.services) {
      const byName = new Map(svc.revisions.map((r) => [r.name, r]));
      const rev = (name: string): R => {
        const spec = byName.get(name) ?? config.revisions.get(name);
        if (!spec) throw new Error(`traffic target ${name} names no revision`);
        return resolve(spec);
      };
      const shown: EffectiveTarget[] = [];
      const split: { value: R; percent: number; name: string }[] = [];
      // During a rollout the latestRevision targets' traffic (joined, as Knative's) is the rollout's split.
      const rolling = state.rollout?.(svc.name, '') ?? null;
      if (rolling !== null) for (const s of rolling) split.push({ value: rev(s.revision), percent: s.percent, name: s.revision });
      for (const t of svc.traffic) {
        if (t.percent === 0 || (t.latestRevision && rolling !== null)) continue;
        const name = targetRevision(svc, t, state);
        split.push({ value: rev(name), percent: t.percent, name });
      }
      for (const s of split) shown.push({ revisionName: s.name, percent: s.percent, tag: null });
      const tags = new Map<string, WeightedPick<R>>();
      for (const t of svc.traffic) {
        if (t.tag === null) continue;
        const shares = t.latestRevision ? (state.rollout?.(svc.name, t.tag) ?? null) : null;
        const parts = shares ?? [{ revision: targetRevision(svc, t, state), percent: 100 }];
        tags.set(t.tag, new WeightedPick(parts.map((p) => ({ value: rev(p.revision), percent: p.percent }))));
        for (const p of parts) shown.push({ revisionName: p.revision, percent: p.percent, tag: t.tag });
      }
      const main: Route<R> = { service: svc.name, pick: new WeightedPick(split), tags: config.tagHeaderRouting && tags.size > 0 ? tags : null };
      for (const host of svc.hosts) this.hosts.set(host, main);
      for (const [tag, pick] of tags) {
        this.hosts.set(tagHost(tag, svc.name, svc.namespace, config.domain).toLowerCase(), { service: svc.name, pick, tags: null });
      }
      this.effective.set(svc.name, shown);
    }
  }

  /** `host`: lower-case, port stripped. `tag`: the Knative-Serving-Tag header or ''. */
  lookup(host: string, tag: string, random: () => number): R | null {
    const route = this.hosts.get(host);
    if (route === undefined) return null;
    if (tag !== '' && route.tags !== null) {
      const p = route.tags.get(tag);
      if (p !== undefined) return p.pick(random);
    }
    return route.pick.pick(random);
  }

  /** What the service's hosts route now, by revision (a rollout's split included); null: no such service. */
  effectiveTraffic(service: string): readonly EffectiveTarget[] | null {
    return this.effective.get(service) ?? null;
  }
}
