/**
 * Building tidegate's config tree out of a manifest's nodes. The values are
 * the manifest's own nodes (or new scalars that carry a manifest node's
 * range), so every problem the ordinary readers find is reported at the
 * manifest's FILE:LINE:COL.
 */
import { Pair, Scalar, YAMLMap, YAMLSeq, type Node } from 'yaml';

/** A new scalar that reports at `at` (a key or value of the manifest). */
export function scalar(value: unknown, at: Node | null | undefined): Scalar {
  const s = new Scalar(value);
  if (at?.range) s.range = at.range;
  return s;
}

/** A map of `[key, where the key is, value]`: keys point at the manifest key they stand for. */
export function mapOf(entries: readonly (readonly [string, Node | null | undefined, Node | null])[]): YAMLMap {
  const m = new YAMLMap();
  for (const [key, at, value] of entries) m.items.push(new Pair(scalar(key, at), value));
  return m;
}

export function seqOf(items: readonly Node[], at: Node | null | undefined): YAMLSeq {
  const s = new YAMLSeq();
  s.items.push(...items);
  if (at?.range) s.range = at.range;
  return s;
}
