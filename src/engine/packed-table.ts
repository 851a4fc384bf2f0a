/**
 * A map from a number (a packed key) to a fixed-size byte record, the records held in one growing
 * slab: 100k routes cost one Map of numbers and a few MB of bytes, not several objects per route
 * (docs/control-plane.md, "Compact state"). Slots of deleted records are reused.
 */
export class PackedTable {
  private readonly slots = new Map<number, number>();
  private slab: Uint8Array;
  /** One byte per slot beside the record (what kind of entry it is). */
  private tags: Uint8Array;
  private free: number[] = [];
  private next = 0;

  constructor(
    readonly recordSize: number,
    initialCapacity = 1024,
  ) {
    this.slab = new Uint8Array(recordSize * initialCapacity);
    this.tags = new Uint8Array(initialCapacity);
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

  /** The record's tag, or undefined when absent. */
  tag(key: number): number | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.tags[slot];
  }

  /** Copies the record into `buf` at `off`; false when absent. */
  copyTo(key: number, buf: Uint8Array, off: number): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    const n = this.recordSize;
    const base = slot * n;
    for (let i = 0; i < n; i++) buf[off + i] = this.slab[base + i]!;
    return true;
  }

  /** Whether the record equals `recordSize` bytes of `buf` at `off` (absent: false). */
  equalsBytes(key: number, buf: Uint8Array, off: number): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    const n = this.recordSize;
    const base = slot * n;
    for (let i = 0; i < n; i++) if (this.slab[base + i] !== buf[off + i]) return false;
    return true;
  }

  /** Writes `recordSize` bytes of `record` from `off`, and the tag; returns false when it was already exactly this. */
  set(key: number, record: Uint8Array, off = 0, tag = 0): boolean {
    const n = this.recordSize;
    let slot = this.slots.get(key);
    if (slot !== undefined) {
      const base = slot * n;
      let same = this.tags[slot] === tag;
      for (let i = 0; same && i < n; i++) if (this.slab[base + i] !== record[off + i]) same = false;
      if (same) return false;
    } else {
      slot = this.free.pop() ?? this.grow();
      this.slots.set(key, slot);
    }
    const base = slot * n;
    for (let i = 0; i < n; i++) this.slab[base + i] = record[off + i]!;
    this.tags[slot] = tag;
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

  /**
   * How this table's record for `key` stands against `other`'s — 'same' (both absent counts),
   * 'differs' (then the record is copied into `buf` at `off`), 'gone' (absent here, present
   * there) — with one lookup per table.
   */
  compareInto(other: PackedTable, key: number, buf: Uint8Array, off: number): 'same' | 'differs' | 'gone' {
    const slot = this.slots.get(key);
    if (slot === undefined) return other.has(key) ? 'gone' : 'same';
    const n = this.recordSize;
    const base = slot * n;
    if (other.equalsBytes(key, this.slab, base)) return 'same';
    for (let i = 0; i < n; i++) buf[off + i] = this.slab[base + i]!;
    return 'differs';
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
      const tags = new Uint8Array(bigger.length / this.recordSize);
      tags.set(this.tags);
      this.tags = tags;
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

/**
 * `a.b.c.d/n`, strictly masked, by src/config/net.ts's rules (decimal, no leading zeros, octets
 * ≤ 255, prefix ≤ 32) without bigints; undefined for anything else (the full parser then says why).
 */
export function strictIpv4Cidr(text: string): { addr: number; prefix: number } | undefined {
  let addr = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let i = 0;
  const n = text.length;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return undefined; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 46 || c === 47) {
      if (digits === 0) return undefined;
      addr = addr * 256 + part;
      part = 0;
      digits = 0;
      if (c === 47) break;
      if (++dots > 3) return undefined;
    } else {
      return undefined;
    }
  }
  if (i === n || dots !== 3) return undefined;
  let prefix = 0;
  let pd = 0;
  for (i++; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57 || (pd === 1 && prefix === 0)) return undefined;
    prefix = prefix * 10 + (c - 48);
    if (++pd > 2) return undefined;
  }
  if (pd === 0 || prefix > 32) return undefined;
  return maskNumber(addr, prefix) === addr ? { addr, prefix } : undefined;
}
