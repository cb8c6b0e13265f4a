/**
 * Deep freeze for the config: a reload swaps the whole object, so nothing
 * may change it in place. Maps get their mutators disabled, since
 * Object.freeze does not reach a Map's entries.
 */

class FrozenMap<K, V> extends Map<K, V> {
  private sealed = false;

  constructor(entries: Iterable<readonly [K, V]>) {
    super();
    for (const [k, v] of entries) super.set(k, v);
    this.sealed = true;
    Object.freeze(this);
  }

  override set(key: K, value: V): this {
    if (this.sealed) throw new TypeError('the config is frozen');
    return super.set(key, value);
  }

  override delete(_key: K): boolean {
    throw new TypeError('the config is frozen');
  }

  override clear(): void {
    throw new TypeError('the config is frozen');
  }
}

export function frozenMap<K, V>(entries: Iterable<readonly [K, V]>): ReadonlyMap<K, V> {
  return new FrozenMap(entries);
}

/** Freezes `value` and everything reachable from it (objects, arrays, map values). */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
    return value;
  }
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
}
