/**
 * A service's `traffic:` list (Knative's Route traffic targets): percents
 * 0..100 adding up to 100, unique DNS-1035 tags, targets that name one of
 * the service's own revisions or follow the latest one.
 */
import type { TrafficTarget } from './types.js';
import { dns1035Reason } from './names.js';
import { aBoolean, aNumber, aString, readList, readMap, readValue, valueNode, withRule, type Field, type Reporter } from './yaml-reader.js';

const TRAFFIC_KEYS = ['revisionName', 'latestRevision', 'percent', 'tag'] as const;

export interface TrafficContext {
  service: string;
  /** This service's revisions in file order (the last is "latest"). */
  own: readonly string[];
  /** Every revision name in the file → its service. */
  owners: ReadonlyMap<string, string>;
}

export function readTraffic(r: Reporter, field: Field | undefined, ctx: TrafficContext): TrafficTarget[] {
  const latest = ctx.own[ctx.own.length - 1];
  // Knative's default for a Service with no traffic block: all of it to the latest revision.
  if (!field) return latest === undefined ? [] : [{ revisionName: latest, latestRevision: true, percent: 100, tag: null }];
  const items = readList(r, field);
  if (!items) return [];
  const targets: TrafficTarget[] = [];
  const tags = new Map<string, Field>();
  let sum = 0;
  let complete = true;
  items.forEach((item) => {
    const fields = readMap(r, item.node, item.path, TRAFFIC_KEYS, field.keyNode);
    if (!fields) {
      complete = false;
      return;
    }
    const nameField = fields.get('revisionName');
    const latestField = fields.get('latestRevision');
    const percentField = fields.get('percent');
    const tagField = fields.get('tag');
    const revisionName = nameField && readValue(r, nameField, aString);
    const follows = latestField ? readValue(r, latestField, aBoolean) : false;
    const percent = percentField ? readValue(r, percentField, aNumber({ min: 0, max: 100, integer: true })) : 0;
    const tag = tagField ? readValue(r, tagField, withRule(aString, dns1035Reason)) : null;
    if (percent === undefined || follows === undefined) complete = false;
    sum += percent ?? 0;

    if (revisionName !== undefined && nameField) {
      const owner = ctx.owners.get(revisionName);
      if (owner === undefined) r.at(valueNode(nameField), `${nameField.path}: unknown revision ${JSON.stringify(revisionName)} (service ${ctx.service} has ${ctx.own.join(', ') || 'none'})`);
      else if (owner !== ctx.service) r.at(valueNode(nameField), `${nameField.path}: revision ${JSON.stringify(revisionName)} belongs to service ${owner}; a service routes only to its own revisions`);
    }
    if (follows === true && nameField) {
      r.at((latestField as Field).keyNode, `${item.path}: latestRevision: true follows the last revision listed; it cannot also name revisionName ${JSON.stringify(revisionName ?? nameField.value)}`);
    } else if (follows === false && !nameField) {
      r.at(latestField?.keyNode ?? item.node, `${item.path}: needs revisionName or latestRevision: true`);
    }
    if (tag && tagField) {
      const first = tags.get(tag);
      if (first) r.at(valueNode(tagField), `${tagField.path}: duplicate tag ${JSON.stringify(tag)} in service ${ctx.service}`);
      else if (`${tag}-${ctx.service}`.length > 63) r.at(valueNode(tagField), `${tagField.path}: tag host label "${tag}-${ctx.service}" is longer than 63 characters, got ${JSON.stringify(tag)}`);
      tags.set(tag, tagField);
    } else if (tagField && tag === undefined) {
      complete = false;
    }
    const target = follows === true ? latest : revisionName;
    if (target !== undefined) targets.push({ revisionName: target, latestRevision: follows === true, percent: percent ?? 0, tag: tag ?? null });
  });
  // Only a sum of valid percents is worth reporting; a bad percent is already reported.
  if (complete && sum !== 100) {
    r.at(field.keyNode, `${field.path}: percents add up to ${sum}, must be 100`);
  }
  return targets;
}
