// Collection: the maps and programs of one ELF object, loaded. Before anything reaches the kernel,
// the object's BTF is compared with the TS declarations of burrow.h (structs.ts) and the load is
// refused on a mismatch. Maps can be pinned under a root (and adopted from there on the next
// load) or replaced by maps the caller already has, which is how objects share maps.
import fs from 'node:fs';
import path from 'node:path';

import { checkLayouts, checkStruct, type LayoutCheckResult } from './btf-check.js';
import { CollectionSpec, type MapSpec } from './collection-spec.js';
import { MapType, nameOf } from './constants.js';
import { ErrMapIncompatible, invalid, nativeCall } from './errors.js';
import { BpfMap } from './map.js';
import { addon, type BtfStruct, type BtfTypeRef } from './native.js';
import { Program } from './program.js';
import { burrowEnums, burrowStructs, type EnumSpec } from './structs.js';
import { isStructCodec, type Codec, type StructCodec } from './struct.js';

export interface CollectionOptions {
  /** Object name for libbpf (prefix of internal map names); default from the file name. */
  name?: string;
  /** Pin maps at <pinRoot>/<map name>, adopting a compatible map already pinned there. */
  pinRoot?: string;
  /** Which maps pinRoot applies to; default every map but the internal ones (.rodata, .bss). */
  pinMaps?: readonly string[];
  /** Use these maps instead of creating the object's own (they must be compatible). */
  mapReplacements?: Readonly<Record<string, BpfMap<unknown, unknown>>>;
  /** Override max_entries of maps before they are created (e.g. smaller maps in tests). */
  maxEntries?: Readonly<Record<string, number>>;
  /** Struct codecs to check against the object's BTF; default every burrow.h struct. */
  structChecks?: readonly StructCodec<unknown>[];
  /** Enum tables to check; default every burrow.h enum. */
  enumChecks?: readonly EnumSpec[];
}

interface MapBtf {
  spec: MapSpec;
  key: BtfStruct | null;
  value: BtfStruct | null;
}

type MapLike = Pick<MapSpec, 'type' | 'keySize' | 'valueSize' | 'maxEntries' | 'flags'>;

function differences(want: MapLike, have: MapLike): string[] {
  const out: string[] = [];
  const cmp = (what: string, w: number, h: number, show: (n: number) => string = String): void => {
    if (w !== h) out.push(`${what} ${show(h)}, object wants ${show(w)}`);
  };
  cmp('type', want.type, have.type, (n) => nameOf(MapType, n));
  cmp('key size', want.keySize, have.keySize);
  cmp('value size', want.valueSize, have.valueSize);
  cmp('max entries', want.maxEntries, have.maxEntries);
  cmp('flags', want.flags, have.flags, (n) => `0x${n.toString(16)}`);
  return out;
}

/**
 * How the map pinned at `pin` differs from `want` (type, key and value size, max entries, flags:
 * what makes the kernel map unusable for an object defining `want`), as "<what> <pinned>, object
 * wants <wanted>" lines, and the pinned map's id. Empty: the pin can be reused.
 */
export function pinnedMapDifferences(want: MapLike, pin: string): { id: number; differences: string[] } {
  const fd = nativeCall(() => addon().objGet(pin));
  try {
    const info = nativeCall(() => addon().mapInfo(fd));
    return { id: info.id, differences: differences(want, info) };
  } finally {
    addon().closeFd(fd);
  }
}

function structOf(spec: CollectionSpec, t: BtfTypeRef | null): BtfStruct | null {
  return t?.kind === 'struct' && t.name ? spec.btfStruct(t.name) : null;
}

export class Collection {
  private constructor(
    readonly maps: Readonly<Record<string, BpfMap<Buffer, Buffer>>>,
    readonly programs: Readonly<Record<string, Program>>,
    /** Which burrow.h structs and enums the object's BTF had and passed the check. */
    readonly layouts: LayoutCheckResult,
    private readonly mapBtf: ReadonlyMap<string, MapBtf>,
    readonly source: string,
  ) {}

  static load(source: string | Uint8Array, opts: CollectionOptions = {}): Collection {
    const spec = CollectionSpec.open(source, {
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      ...(opts.pinRoot !== undefined ? { pinRootPath: opts.pinRoot } : {}),
    });
    return Collection.fromSpec(spec, opts);
  }

  /**
   * Loads an opened spec (CollectionSpec.open; `name` was given there). The spec is consumed:
   * closed whether the load succeeds or not, so it is loaded at most once.
   */
  static fromSpec(spec: CollectionSpec, opts: Omit<CollectionOptions, 'name'> = {}): Collection {
    try {
      return Collection.loadOpened(spec, opts);
    } finally {
      spec.close();
    }
  }

  private static loadOpened(spec: CollectionSpec, opts: Omit<CollectionOptions, 'name'>): Collection {
    const layouts = checkLayouts(
      spec,
      { structs: opts.structChecks ?? burrowStructs, enums: opts.enumChecks ?? burrowEnums },
      spec.source,
    );
    const obj = spec.object;
    const mapBtf = new Map<string, MapBtf>();
    for (const m of spec.maps) {
      const max = opts.maxEntries?.[m.name];
      if (max !== undefined) nativeCall(() => obj.setMapMaxEntries(m.name, max));
      const effective = { ...m, maxEntries: max ?? m.maxEntries };
      mapBtf.set(m.name, { spec: effective, key: structOf(spec, m.keyType), value: structOf(spec, m.valueType) });
    }
    const replaced = new Set<string>();
    for (const [name, repl] of Object.entries(opts.mapReplacements ?? {})) {
      const m = mapBtf.get(name)?.spec ?? spec.map(name);
      const diff = differences(m, repl.info);
      if (diff.length) throw new ErrMapIncompatible(name, diff, `the replacement map (id ${repl.info.id})`);
      nativeCall(() => obj.reuseMapFd(name, repl.fd));
      replaced.add(name);
    }
    const pinned = new Map<string, string>();
    if (opts.pinRoot !== undefined) {
      fs.mkdirSync(opts.pinRoot, { recursive: true });
      for (const { spec: m } of mapBtf.values()) {
        if (m.internal || replaced.has(m.name) || (opts.pinMaps && !opts.pinMaps.includes(m.name))) continue;
        const p = path.join(opts.pinRoot, m.name);
        if (fs.existsSync(p)) Collection.checkPinned(m, p);
        nativeCall(() => obj.setMapPinPath(m.name, p));
        pinned.set(m.name, p);
      }
    }
    nativeCall(() => obj.load());

    const maps: Record<string, BpfMap<Buffer, Buffer>> = {};
    const programs: Record<string, Program> = {};
    try {
      for (const m of spec.maps) maps[m.name] = BpfMap.rawFromFd(nativeCall(() => obj.mapFd(m.name)), pinned.get(m.name));
      for (const p of spec.programs) programs[p.name] = Program.fromFd(nativeCall(() => obj.progFd(p.name)), p.name);
    } catch (e) {
      for (const m of Object.values(maps)) m.close();
      for (const p of Object.values(programs)) p.close();
      throw e;
    }
    return new Collection(maps, programs, layouts, mapBtf, spec.source);
  }

  // libbpf would refuse an incompatible pin too, but only with "parameter mismatch".
  private static checkPinned(m: MapSpec, p: string): void {
    const { differences: diff } = pinnedMapDifferences(m, p);
    if (diff.length) throw new ErrMapIncompatible(m.name, diff, `the map pinned at ${p}`);
  }

  /**
   * A typed view of a map: it shares maps[name]'s fd without owning it (closing the view leaves
   * the map open; Collection.close() closes it, and the view then throws ErrClosed). Struct codecs
   * must name the struct the map declares (`__type(value, struct burrow_route)`) and match its
   * BTF layout.
   */
  map<K, V>(name: string, key: Codec<K>, value: Codec<V>): BpfMap<K, V> {
    const raw = this.maps[name];
    const btf = this.mapBtf.get(name);
    if (!raw || !btf) throw invalid('Collection', `${this.source} has no map '${name}' (it has: ${Object.keys(this.maps).join(', ')})`);
    this.checkSide(name, 'key', key, btf.spec.keyType, btf.key);
    this.checkSide(name, 'value', value, btf.spec.valueType, btf.value);
    return raw.withCodecs(key, value);
  }

  private checkSide(map: string, side: string, codec: Codec<unknown>, declared: BtfTypeRef | null, btf: BtfStruct | null): void {
    // Per-CPU codecs wrap the element codec; the BTF describes the element.
    const elem = (codec as { perCpuElement?: Codec<unknown> }).perCpuElement ?? codec;
    if (!isStructCodec(elem) || !declared) return;
    if (declared.kind !== 'struct' || declared.name !== elem.cName || !btf) {
      throw invalid('Collection', 
        `map '${map}' declares its ${side} as ${declared.kind} ${declared.name || '(anonymous)'}, not struct ${elem.cName}`,
      );
    }
    checkStruct(elem as StructCodec<unknown>, btf, this.source);
  }

  program(name: string): Program {
    const p = this.programs[name];
    if (!p) throw invalid('Collection', `${this.source} has no program '${name}' (it has: ${Object.keys(this.programs).join(', ')})`);
    return p;
  }

  /** Closes our fds. Pinned maps, and programs held by links, live on in the kernel. */
  close(): void {
    for (const m of Object.values(this.maps)) m.close();
    for (const p of Object.values(this.programs)) p.close();
  }
}
