// BpfMap<K, V>: a live map (an fd) with codecs for its keys and values. Values of per-CPU maps are
// arrays with one element per possible CPU: declare them with perCpu(codec).
import { isPerCpuMapType, MapType, nameOf, UpdateFlag, type MapTypeName, type UpdateMode } from './constants.js';
import { ErrClosed, ErrKeyNotExist, invalid, nativeCall } from './errors.js';
import { lookupAll, lookupBatches, deleteMany, updateMany, type BatchSupport } from './map-batch.js';
import { addon, type NativeMapHandle } from './native.js';
import { removePin } from './pin.js';
import { raw, type Codec } from './struct.js';

export interface MapInfo {
  type: number;
  typeName: string;
  id: number;
  keySize: number;
  /** Per element, as declared; per-CPU maps move round_up(valueSize, 8) × CPUs bytes. */
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

export interface MapCreateSpec<K, V> {
  type: MapTypeName | number;
  key: Codec<K>;
  /** For per-CPU types: perCpu(elementCodec). */
  value: Codec<V>;
  maxEntries: number;
  flags?: number;
  name?: string;
}

let cpus: number | undefined;
/** Number of possible CPUs: the length of per-CPU values. */
export function possibleCpus(): number {
  cpus ??= nativeCall(() => addon().possibleCpus());
  return cpus;
}

export interface PerCpuCodec<T> extends Codec<T[]> {
  readonly perCpuElement: Codec<T>;
}

/** Codec of a per-CPU value: one element per possible CPU, each padded to 8 bytes. */
export function perCpu<T>(elem: Codec<T>, ncpus = possibleCpus()): PerCpuCodec<T> {
  const stride = Math.ceil(elem.size / 8) * 8;
  return {
    perCpuElement: elem,
    size: stride * ncpus,
    align: 8,
    typeName: `percpu ${elem.typeName}`,
    write(v, buf, off) {
      if (!Array.isArray(v) || v.length !== ncpus) {
        throw invalid('BpfMap', `a per-CPU value needs ${ncpus} elements (one per possible CPU), got ${Array.isArray(v) ? v.length : typeof v}`);
      }
      buf.fill(0, off, off + stride * ncpus);
      v.forEach((e, i) => elem.write(e, buf, off + i * stride));
    },
    read(buf, off) {
      return Array.from({ length: ncpus }, (_, i) => elem.read(buf, off + i * stride));
    },
  };
}

/** Field-wise sum of per-CPU values whose fields are all numbers or bigints. */
export function sumPerCpu<V extends Record<string, bigint | number>>(values: readonly V[]): V {
  const out: Record<string, bigint | number> = {};
  for (const v of values) {
    for (const [k, x] of Object.entries(v)) {
      const acc = out[k];
      out[k] = acc === undefined ? x : typeof acc === 'bigint' ? acc + BigInt(x) : acc + Number(x);
    }
  }
  return out as V;
}

function toInfo(n: ReturnType<NativeMapHandle['info']>): MapInfo {
  return { ...n, typeName: nameOf(MapType, n.type) };
}

/** The fd a map and its views share; only the map that opened it closes it. */
interface SharedFd {
  readonly handle: NativeMapHandle;
  closed: boolean;
}

export class BpfMap<K, V> {
  /** Which batch operations the kernel accepted for this map (undefined: not tried yet). */
  readonly batchSupport: BatchSupport;
  private pinnedAt: string | undefined;
  private viewClosed = false;

  private constructor(
    private readonly shared: SharedFd,
    /** False for a view (withCodecs, Collection.map): closing it leaves the fd open. */
    private readonly owner: boolean,
    readonly key: Codec<K>,
    readonly value: Codec<V>,
    readonly info: MapInfo,
    batchSupport: BatchSupport,
  ) {
    const handle = shared.handle;
    this.batchSupport = batchSupport;
    if (key.size !== info.keySize) {
      throw invalid('BpfMap', `map '${info.name}': key codec ${key.typeName} is ${key.size} bytes, the map's keys are ${info.keySize}`);
    }
    if (value.size !== handle.valueBufferSize) {
      const hint = isPerCpuMapType(info.type) && value.size === info.valueSize ? ' (a per-CPU map: use perCpu(codec))' : '';
      throw invalid('BpfMap', 
        `map '${info.name}': value codec ${value.typeName} is ${value.size} bytes, the map moves ${handle.valueBufferSize}${hint}`,
      );
    }
  }

  /** Takes ownership of `fd`. */
  static fromFd<K, V>(fd: number, key: Codec<K>, value: Codec<V>): BpfMap<K, V> {
    const n = addon();
    const handle = nativeCall(() => new n.MapHandle(fd));
    try {
      return new BpfMap({ handle, closed: false }, true, key, value, toInfo(nativeCall(() => handle.info())), {});
    } catch (e) {
      handle.close();
      throw e;
    }
  }

  /**
   * A map of raw bytes; give it codecs later with withCodecs(). Takes ownership of `fd`.
   * `pinPath`: where it is pinned already, so that unpin() knows.
   */
  static rawFromFd(fd: number, pinPath?: string): BpfMap<Buffer, Buffer> {
    const n = addon();
    const handle = nativeCall(() => new n.MapHandle(fd));
    const info = toInfo(nativeCall(() => handle.info()));
    const map = new BpfMap({ handle, closed: false }, true, raw(info.keySize), raw(handle.valueBufferSize), info, {});
    map.pinnedAt = pinPath;
    return map;
  }

  static create<K, V>(spec: MapCreateSpec<K, V>): BpfMap<K, V> {
    const type = typeof spec.type === 'number' ? spec.type : MapType[spec.type];
    if (type === undefined) throw invalid('BpfMap', `unknown map type ${String(spec.type)}`);
    let elemSize = spec.value.size;
    if (isPerCpuMapType(type)) {
      const elem = (spec.value as Partial<PerCpuCodec<unknown>>).perCpuElement;
      if (!elem) throw invalid('BpfMap', `a ${nameOf(MapType, type)} map needs a perCpu(codec) value codec`);
      elemSize = elem.size;
    }
    const opts = { flags: spec.flags ?? 0, ...(spec.name !== undefined ? { name: spec.name } : {}) };
    const fd = nativeCall(() => addon().mapCreate(type, spec.key.size, elemSize, spec.maxEntries, opts));
    return BpfMap.fromFd(fd, spec.key, spec.value);
  }

  static openPinned<K, V>(path: string, key: Codec<K>, value: Codec<V>): BpfMap<K, V> {
    const fd = nativeCall(() => addon().objGet(path));
    const map = BpfMap.fromFd(fd, key, value);
    map.pinnedAt = path;
    return map;
  }

  /**
   * Another view of the same map with other codecs. It shares the fd without owning it: closing
   * the view leaves the map open; closing the map closes the fd, and the view then throws
   * ErrClosed, as any use of a closed map does (never EBADF, or a reused fd's object).
   */
  withCodecs<K2, V2>(key: Codec<K2>, value: Codec<V2>): BpfMap<K2, V2> {
    this.handle; // a closed map gives no views
    return new BpfMap(this.shared, false, key, value, this.info, this.batchSupport);
  }

  /** The open fd; ErrClosed once this map (or, for a view, its map) is closed. */
  private get handle(): NativeMapHandle {
    if (this.viewClosed || this.shared.closed) {
      const whose = this.owner || this.shared.closed ? '' : ' (this view; the map stays open)';
      throw ErrClosed.of('EBADF', this.label, `${this.label} is closed${whose}`);
    }
    return this.shared.handle;
  }

  get fd(): number {
    return this.handle.fd;
  }

  get closed(): boolean {
    return this.viewClosed || this.shared.closed;
  }

  /** For error messages: "map 'routes'" (maps created without a name go by id). */
  get label(): string {
    return this.info.name ? `map '${this.info.name}'` : `map id ${this.info.id}`;
  }

  get isPerCpu(): boolean {
    return isPerCpuMapType(this.info.type);
  }

  get pinPath(): string | undefined {
    return this.pinnedAt;
  }

  encodeKey(key: K): Buffer {
    const b = Buffer.alloc(this.key.size);
    this.key.write(key, b, 0);
    return b;
  }

  private encodeValue(value: V): Buffer {
    const b = Buffer.alloc(this.value.size);
    this.value.write(value, b, 0);
    return b;
  }

  /** The value, or undefined when the key is absent. */
  get(key: K): V | undefined {
    const out = Buffer.alloc(this.value.size);
    try {
      nativeCall(() => this.handle.lookup(this.encodeKey(key), out), this.label);
    } catch (e) {
      if (e instanceof ErrKeyNotExist) return undefined;
      throw e;
    }
    return this.value.read(out, 0);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /** mode 'noexist' throws ErrKeyExist, 'exist' throws ErrKeyNotExist; a full map ErrMapFull. */
  set(key: K, value: V, mode: UpdateMode = 'any'): void {
    const k = this.encodeKey(key);
    const v = this.encodeValue(value);
    nativeCall(() => this.handle.update(k, v, UpdateFlag[mode]), this.label);
  }

  /** false when the key was not there. */
  delete(key: K): boolean {
    try {
      nativeCall(() => this.handle.delete(this.encodeKey(key)), this.label);
      return true;
    } catch (e) {
      if (e instanceof ErrKeyNotExist) return false;
      throw e;
    }
  }

  /** Keys in the kernel's order. Deleting while iterating a hash map may restart the walk. */
  *keys(): Generator<K> {
    const next = Buffer.alloc(this.key.size);
    let prev: Buffer | null = null;
    while (nativeCall(() => this.handle.nextKey(prev, next), this.label)) {
      yield this.key.read(next, 0);
      prev = Buffer.from(next);
    }
  }

  /** Entries one lookup at a time; keys deleted meanwhile are skipped. */
  *entries(): Generator<[K, V]> {
    for (const k of this.keys()) {
      const v = this.get(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /** Every entry, through BPF_MAP_LOOKUP_BATCH where the map type has it, else one by one. */
  entriesBatch(opts: { batchSize?: number } = {}): [K, V][] {
    const rows = lookupAll(this.handle, this.info, this.batchSupport, opts.batchSize ?? 256, this.label);
    if (rows === null) return [...this.entries()];
    return rows.map(([k, v]) => [this.key.read(k, 0), this.value.read(v, 0)]);
  }

  /**
   * Every entry as raw bytes, a batch at a time (BPF_MAP_LOOKUP_BATCH, else one by one): `each`
   * gets `count` keys and values end to end in buffers reused for the next batch.
   */
  scanRaw(each: (keys: Buffer, values: Buffer, count: number) => void, opts: { batchSize?: number } = {}): void {
    if (lookupBatches(this.handle, this.info, this.batchSupport, opts.batchSize ?? 4096, each, this.label)) return;
    const kb = Buffer.alloc(this.key.size);
    const vb = Buffer.alloc(this.value.size);
    for (const k of this.keys()) {
      this.key.write(k, kb, 0);
      try {
        nativeCall(() => this.handle.lookup(kb, vb), this.label);
      } catch (e) {
        if (e instanceof ErrKeyNotExist) continue;
        throw e;
      }
      each(kb, vb, 1);
    }
  }

  /** Writes all entries (BPF_MAP_UPDATE_BATCH or one by one); returns how many were written. */
  setBatch(entries: Iterable<readonly [K, V]>, mode: UpdateMode = 'any'): number {
    const list = [...entries];
    const keys = Buffer.alloc(list.length * this.key.size);
    const values = Buffer.alloc(list.length * this.value.size);
    list.forEach(([k, v], i) => {
      this.key.write(k, keys, i * this.key.size);
      this.value.write(v, values, i * this.value.size);
    });
    return updateMany(this.handle, this.batchSupport, keys, values, list.length, UpdateFlag[mode], this.label);
  }

  /** setBatch for entries already encoded: `count` keys and values laid end to end. */
  setBatchRaw(keys: Buffer, values: Buffer, count: number, mode: UpdateMode = 'any'): number {
    if (keys.length !== count * this.key.size || values.length !== count * this.value.size) {
      throw invalid('BpfMap', `${this.label}: ${count} entries need ${count * this.key.size} key and ${count * this.value.size} value bytes`);
    }
    return updateMany(this.handle, this.batchSupport, keys, values, count, UpdateFlag[mode], this.label);
  }

  /** deleteBatch for keys already encoded, laid end to end. */
  deleteBatchRaw(keys: Buffer, count: number): number {
    if (keys.length !== count * this.key.size) throw invalid('BpfMap', `${this.label}: ${count} keys need ${count * this.key.size} bytes`);
    return deleteMany(this.handle, this.batchSupport, keys, count, this.label);
  }

  /** Deletes all keys (BPF_MAP_DELETE_BATCH or one by one); a missing key throws ErrKeyNotExist. */
  deleteBatch(keys: Iterable<K>): number {
    const list = [...keys];
    const buf = Buffer.alloc(list.length * this.key.size);
    list.forEach((k, i) => this.key.write(k, buf, i * this.key.size));
    return deleteMany(this.handle, this.batchSupport, buf, list.length, this.label);
  }

  pin(path: string): void {
    nativeCall(() => addon().objPin(this.handle.fd, path), this.label);
    this.pinnedAt = path;
  }

  /** Removes the pin this map was pinned at or opened from; the map lives on while fds remain. */
  unpin(): void {
    this.pinnedAt = removePin(this.pinnedAt);
  }

  /** A map closes its fd (its views then throw ErrClosed); a view only stops being usable. */
  close(): void {
    if (!this.owner) {
      this.viewClosed = true;
      return;
    }
    if (this.shared.closed) return;
    this.shared.closed = true;
    this.shared.handle.close();
  }
}
