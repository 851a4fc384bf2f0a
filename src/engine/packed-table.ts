/**
 * Key → slot, open addressing (linear probing, at most half full counting deleted cells). The
 * cells hold slot + 1 (0: empty, -1: deleted) and each slot's key sits in a second array indexed by
 * slot, which the caller's slots keep dense: 100k keys cost 1 MiB of cells (2^18 × 4 bytes) and
 * 1 MiB of keys, where cells holding the key beside the slot took 3 MiB, and a Map ~5 MB (its table
 * plus a heap number for every key above 2^31, which route keys are) with objects for the GC to
 * trace. Keys are non-negative integers below 2^53; a slot is held by one key at a time.
 */
export class SlotIndex {
  private cells = new Int32Array(0);
  private keyOfSlot: Float64Array;
  private mask = -1;
  /** 32 − log2(cells): the multiplicative hash's top bits index the cells. */
  private shift = 32;
  private used = 0; // live + deleted cells
  size = 0;

  constructor(capacity: number) {
    this.keyOfSlot = new Float64Array(Math.max(16, capacity));
    this.resize(Math.max(16, 1 << Math.ceil(Math.log2(capacity * 2))));
  }

  private cellOf(key: number): number {
    const lo = key % 4294967296;
    const hi = (key - lo) / 4294967296;
    return Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1) >>> this.shift;
  }

  /** The cell holding `key`, or -1. */
  private find(key: number): number {
    let c = this.cellOf(key);
    for (;;) {
      const v = this.cells[c]!;
      if (v === 0) return -1;
      if (v > 0 && this.keyOfSlot[v - 1] === key) return c;
      c = (c + 1) & this.mask;
    }
  }

  get(key: number): number | undefined {
    const c = this.find(key);
    return c < 0 ? undefined : this.cells[c]! - 1;
  }

  has(key: number): boolean {
    return this.find(key) >= 0;
  }

  /** Adds a key known to be absent, at a slot no other key holds. */
  add(key: number, slot: number): void {
    if (slot >= this.keyOfSlot.length) {
      const keys = new Float64Array(Math.max(this.keyOfSlot.length * 2, slot + 1));
      keys.set(this.keyOfSlot);
      this.keyOfSlot = keys;
    }
    this.keyOfSlot[slot] = key;
    if ((this.used + 1) * 2 > this.cells.length) this.resize(this.size * 4 > this.cells.length ? this.cells.length * 2 : this.cells.length);
    this.place(key, slot);
  }

  private place(key: number, slot: number): void {
    let c = this.cellOf(key);
    while (this.cells[c]! > 0) c = (c + 1) & this.mask;
    if (this.cells[c] === 0) this.used++;
    this.cells[c] = slot + 1;
    this.size++;
  }

  /** Removes the key; its slot, or undefined when absent. */
  delete(key: number): number | undefined {
    const c = this.find(key);
    if (c < 0) return undefined;
    const slot = this.cells[c]! - 1;
    this.cells[c] = -1;
    this.size--;
    return slot;
  }

  /** The keys now (a copy: the caller may change the table while walking it). */
  keys(): number[] {
    const out: number[] = new Array<number>(this.size);
    let n = 0;
    for (let c = 0; c < this.cells.length; c++) {
      const v = this.cells[c]!;
      if (v > 0) out[n++] = this.keyOfSlot[v - 1]!;
    }
    return out;
  }

  /** Every key with its slot (the table must not change meanwhile). */
  forEach(fn: (key: number, slot: number) => void): void {
    for (let c = 0; c < this.cells.length; c++) {
      const v = this.cells[c]!;
      if (v > 0) fn(this.keyOfSlot[v - 1]!, v - 1);
    }
  }

  clear(): void {
    this.cells.fill(0);
    this.used = 0;
    this.size = 0;
  }

  /** Rehashes into `count` cells (drops deleted cells). */
  private resize(count: number): void {
    const old = this.cells;
    this.cells = new Int32Array(count);
    this.mask = count - 1;
    this.shift = 32 - Math.log2(count);
    this.used = 0;
    this.size = 0;
    for (let c = 0; c < old.length; c++) {
      const v = old[c]!;
      if (v > 0) this.place(this.keyOfSlot[v - 1]!, v - 1);
    }
  }
}

/**
 * A map from a number (a packed key) to a fixed-size byte record, the records held in one growing
 * slab: 100k routes cost two typed arrays of index and a few MB of bytes, not several objects per route
 * (docs/control-plane.md, "Memory"). Slots of deleted records are reused.
 */
export class PackedTable {
  private readonly slots: SlotIndex;
  private slab: Uint8Array;
  /** One byte per slot beside the record (what kind of entry it is). */
  private tags: Uint8Array;
  private free: number[] = [];
  private next = 0;

  constructor(
    readonly recordSize: number,
    initialCapacity = 1024,
  ) {
    this.slots = new SlotIndex(initialCapacity);
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

  /**
   * The tag and the record's first two bytes in one lookup — tag × 65536 + byte 1 × 256 + byte 0 —
   * or -1 when absent: enough to pass over most keys without a view.
   */
  head(key: number): number {
    const slot = this.slots.get(key);
    return slot === undefined ? -1 : this.headAt(slot);
  }

  private headAt(slot: number): number {
    const base = slot * this.recordSize;
    return this.tags[slot]! * 65536 + (this.recordSize > 1 ? this.slab[base + 1]! * 256 : 0) + this.slab[base]!;
  }

  /** head() of every record, without a lookup per key (the table must not change meanwhile). */
  forEachHead(fn: (key: number, head: number) => void): void {
    this.slots.forEach((key, slot) => fn(key, this.headAt(slot)));
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
      this.slots.add(key, slot);
    }
    const base = slot * n;
    for (let i = 0; i < n; i++) this.slab[base + i] = record[off + i]!;
    this.tags[slot] = tag;
    return true;
  }

  /** Returns false when the key was not there. */
  delete(key: number): boolean {
    const slot = this.slots.delete(key);
    if (slot === undefined) return false;
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

  /** The keys now, in no particular order (a copy). */
  keys(): number[] {
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
 * `text[start, end)` is read, with `separator` (a char code) between address and prefix: an etcd
 * affinity key's `a.b.c.d-nn` is read where it lies in the key.
 */
export function strictIpv4Cidr(text: string, start = 0, end = text.length, separator = 47): { addr: number; prefix: number } | undefined {
  let addr = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let i = start;
  const n = end;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return undefined; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 46 || c === separator) {
      if (digits === 0) return undefined;
      addr = addr * 256 + part;
      part = 0;
      digits = 0;
      if (c === separator) break;
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
