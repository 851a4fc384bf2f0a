import { SlotIndex } from './packed-table.js';

/** The first value of an entry (a value, or a list of them). */
const firstOf = <V>(v: V | V[]): V => (Array.isArray(v) ? (v[0] as V) : v);

/** The values of an entry (none for an empty slot). */
function* valuesOf<V>(v: V | V[] | undefined): Generator<V> {
  if (v === undefined) return;
  if (Array.isArray(v)) yield* v as V[];
  else yield v;
}

/** `value` put into an entry in order (`compare`; equal values after): the entry now (a list). */
function withValue<V>(v: V | V[], value: V, compare?: (a: V, b: V) => number): V[] {
  const list = Array.isArray(v) ? (v as V[]) : [v];
  let i = list.length;
  if (compare) while (i > 0 && compare(list[i - 1]!, value) > 0) i--;
  list.splice(i, 0, value);
  return list;
}

/** `value` taken out of an entry (by identity): the entry left (undefined: none), or false when it was not there. */
function withoutValue<V>(v: V | V[], value: V): V | V[] | undefined | false {
  if (!Array.isArray(v)) return v === value ? undefined : false;
  const list = v as V[];
  const i = list.indexOf(value);
  if (i < 0) return false;
  list.splice(i, 1);
  return list.length === 1 ? list[0]! : list.length === 0 ? undefined : list;
}

/**
 * A map from a key to an ordered list of values that is almost always one value long (a name
 * defined once, a CIDR claimed by one block): the value itself is stored until a second one
 * comes, so 100k keys cost 100k map entries, not 100k small arrays.
 */
export class MultiIndex<K, V> {
  private readonly map = new Map<K, V | V[]>();

  /** Values are never arrays themselves, so an array is a list. */
  private isList(v: V | V[]): v is V[] {
    return Array.isArray(v);
  }

  get size(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  first(key: K): V | undefined {
    const v = this.map.get(key);
    return v === undefined ? undefined : Array.isArray(v) ? (v[0] as V) : v;
  }

  /** The values in order (a new array for a single value: only for the rarer paths). */
  list(key: K): readonly V[] {
    const v = this.map.get(key);
    return v === undefined ? [] : this.isList(v) ? v : [v];
  }

  /** The first value of every key. */
  *firsts(): Generator<V> {
    for (const v of this.map.values()) yield this.isList(v) ? v[0]! : v;
  }

  /** Every value of every key. */
  *all(): Generator<V> {
    for (const v of this.map.values()) yield* valuesOf(v);
  }

  /** Inserts in order (`compare`); equal values go after the ones already there. Returns the first value before (one lookup). */
  add(key: K, value: V, compare?: (a: V, b: V) => number): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) {
      this.map.set(key, value);
      return undefined;
    }
    const before = firstOf(v);
    const list = withValue(v, value, compare);
    if (list !== v) this.map.set(key, list);
    return before;
  }

  /** Removes the value (by identity); false when it was not there. */
  remove(key: K, value: V): boolean {
    const v = this.map.get(key);
    if (v === undefined) return false;
    const left = withoutValue(v, value);
    if (left === false) return false;
    if (left === undefined) this.map.delete(key);
    else if (left !== v) this.map.set(key, left);
    return true;
  }
}

/**
 * MultiIndex for keys that are non-negative integers below 2^53 (packed route keys), on a
 * SlotIndex: a Map keyed by 100k route keys costs its table plus a heap number for every key
 * above 2^31 (which route keys are), ~5 MB the GC traces; this is ~3 MB of typed arrays and one
 * array of values. Iteration follows slots, not insertion.
 */
export class NumberMultiIndex<V> {
  private readonly index = new SlotIndex(1024);
  private readonly values: (V | V[] | undefined)[] = [];
  private readonly free: number[] = [];

  get size(): number {
    return this.index.size;
  }

  has(key: number): boolean {
    return this.index.has(key);
  }

  /** The keys now (a copy). */
  keys(): number[] {
    return this.index.keys();
  }

  first(key: number): V | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) return undefined;
    const v = this.values[slot]!;
    return Array.isArray(v) ? (v[0] as V) : v;
  }

  list(key: number): readonly V[] {
    const slot = this.index.get(key);
    if (slot === undefined) return [];
    const v = this.values[slot]!;
    return Array.isArray(v) ? (v as V[]) : [v];
  }

  *firsts(): Generator<V> {
    for (const v of this.values) if (v !== undefined) yield Array.isArray(v) ? (v[0] as V) : v;
  }

  /** Every value of every key. */
  *all(): Generator<V> {
    for (const v of this.values) yield* valuesOf(v);
  }

  /** As MultiIndex.add. */
  add(key: number, value: V, compare?: (a: V, b: V) => number): V | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) {
      const s = this.free.pop() ?? this.values.length;
      this.values[s] = value;
      this.index.add(key, s);
      return undefined;
    }
    const v = this.values[slot]!;
    const before = firstOf(v);
    this.values[slot] = withValue(v, value, compare);
    return before;
  }

  /** As MultiIndex.remove. */
  remove(key: number, value: V): boolean {
    const slot = this.index.get(key);
    if (slot === undefined) return false;
    const left = withoutValue(this.values[slot]!, value);
    if (left === false) return false;
    this.values[slot] = left;
    if (left === undefined) {
      this.index.delete(key);
      this.free.push(slot);
    }
    return true;
  }
}
