/**
 * A map from a number (a packed key) to a fixed-size byte record, the records held in one growing
 * slab: 100k routes cost one Map of numbers and a few MB of bytes, not several objects per route
 * (docs/control-plane.md, "Compact state"). Slots of deleted records are reused.
 */
export class PackedTable {
  private readonly slots = new Map<number, number>();
  private slab: Uint8Array;
  private free: number[] = [];
  private next = 0;

  constructor(
    readonly recordSize: number,
    initialCapacity = 1024,
  ) {
    this.slab = new Uint8Array(recordSize * initialCapacity);
  }

  get size(): number {
    return this.slots.size;
  }

  has(key: number): boolean {
    return this.slots.has(key);
  }

  /** A view of the record (valid until the next set/delete), or undefined. */
  get(key: number): Uint8Array | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.slab.subarray(slot * this.recordSize, (slot + 1) * this.recordSize);
  }

  /** Writes the record; returns false when it was already exactly this. */
  set(key: number, record: Uint8Array): boolean {
    const n = this.recordSize;
    let slot = this.slots.get(key);
    if (slot !== undefined) {
      const off = slot * n;
      let same = true;
      for (let i = 0; i < n; i++) {
        if (this.slab[off + i] !== record[i]) { same = false; break; }
      }
      if (same) return false;
    } else {
      slot = this.free.pop() ?? this.grow();
      this.slots.set(key, slot);
    }
    this.slab.set(record.subarray(0, n), slot * n);
    return true;
  }

  /** Returns false when the key was not there. */
  delete(key: number): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this.slots.delete(key);
    this.free.push(slot);
    return true;
  }

  /** Whether the two tables hold the same record for `key` (both absent counts as equal). */
  sameAs(other: PackedTable, key: number): boolean {
    const a = this.get(key);
    const b = other.get(key);
    if (a === undefined || b === undefined) return a === b;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  keys(): IterableIterator<number> {
    return this.slots.keys();
  }

  clear(): void {
    this.slots.clear();
    this.free = [];
    this.next = 0;
  }

  private grow(): number {
    const slot = this.next++;
    if ((slot + 1) * this.recordSize > this.slab.length) {
      const bigger = new Uint8Array(Math.max(this.slab.length * 2, (slot + 1) * this.recordSize));
      bigger.set(this.slab);
      this.slab = bigger;
    }
    return slot;
  }
}

/** A route's identity: the masked IPv4 network and its prefix length, as one number. */
export const packRouteKey = (addr: number, prefix: number): number => (addr >>> 0) * 64 + prefix;
export const routeKeyAddr = (key: number): number => Math.floor(key / 64);
export const routeKeyPrefix = (key: number): number => key % 64;

export function ipv4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export const routeKeyText = (key: number): string => `${ipv4Text(routeKeyAddr(key))}/${routeKeyPrefix(key)}`;

/** Dotted quad → number; the text is known to be valid (model values). */
export function ipv4Number(text: string): number {
  let v = 0;
  let part = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) { v = v * 256 + part; part = 0; } else part = part * 10 + (c - 48);
  }
  return (v * 256 + part) >>> 0;
}

export function maskNumber(addr: number, prefix: number): number {
  return prefix === 0 ? 0 : (addr & (0xffffffff << (32 - prefix))) >>> 0;
}
