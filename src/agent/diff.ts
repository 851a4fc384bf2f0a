/**
 * Keyed diff between what is (actual) and what should be (desired): the heart of the reconciler.
 * Pure: keys are canonical strings, values are compared with a caller-supplied equality so that
 * padding or representation differences never cause needless writes.
 */
export interface KeyedChange<V> {
  key: string;
  before?: V;
  after?: V;
}

export interface KeyedDiff<V> {
  add: KeyedChange<V>[];
  update: KeyedChange<V>[];
  remove: KeyedChange<V>[];
}

export function diffKeyed<V>(
  actual: ReadonlyMap<string, V>,
  desired: ReadonlyMap<string, V>,
  equal: (a: V, b: V) => boolean,
): KeyedDiff<V> {
  const add: KeyedChange<V>[] = [];
  const update: KeyedChange<V>[] = [];
  const remove: KeyedChange<V>[] = [];
  for (const [key, after] of desired) {
    const before = actual.get(key);
    if (before === undefined) add.push({ key, after });
    else if (!equal(before, after)) update.push({ key, before, after });
  }
  for (const [key, before] of actual) if (!desired.has(key)) remove.push({ key, before });
  const byKey = (a: KeyedChange<V>, b: KeyedChange<V>) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return { add: add.sort(byKey), update: update.sort(byKey), remove: remove.sort(byKey) };
}

export function isEmptyDiff(d: KeyedDiff<unknown>): boolean {
  return d.add.length === 0 && d.update.length === 0 && d.remove.length === 0;
}

/** Structural equality for JSON-like values (plain objects, arrays, primitives, bigint). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
