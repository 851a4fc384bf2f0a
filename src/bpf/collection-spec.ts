// CollectionSpec: an ELF object opened but not loaded. Lists its maps and programs and answers BTF
// questions; Collection.fromSpec(spec, options) loads it (once: the load consumes the native
// object, after which the lists still answer and the BTF questions throw ErrClosed).
import { ErrClosed, invalid, nativeCall } from './errors.js';
import { addon, type BtfEnum, type BtfStruct, type BtfTypeRef, type NativeBpfObject } from './native.js';
import { MapType, nameOf, ProgType } from './constants.js';

export interface MapSpec {
  name: string;
  type: number;
  typeName: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  /** .rodata/.data/.bss and the like: not pinned, not shared. */
  internal: boolean;
  /** The BTF types of key and value as declared (`__type(key, ...)`), null when undeclared. */
  keyType: BtfTypeRef | null;
  valueType: BtfTypeRef | null;
}

export interface ProgramSpec {
  name: string;
  section: string;
  type: number;
  typeName: string;
}

export class CollectionSpec {
  readonly maps: readonly MapSpec[];
  readonly programs: readonly ProgramSpec[];
  /** For messages: the path, or '<buffer>'. */
  readonly source: string;
  private obj: NativeBpfObject | undefined;

  private constructor(obj: NativeBpfObject, source: string) {
    this.obj = obj;
    this.source = source;
    this.maps = nativeCall(() => obj.maps()).map((m) => ({
      name: m.name,
      type: m.type,
      typeName: nameOf(MapType, m.type),
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      flags: m.flags,
      internal: m.internal,
      keyType: m.keyType,
      valueType: m.valueType,
    }));
    this.programs = nativeCall(() => obj.programs()).map((p) => ({
      name: p.name,
      section: p.section,
      type: p.type,
      typeName: nameOf(ProgType, p.type),
    }));
  }

  /** Opens an ELF object file or image. Needs no privileges: nothing is loaded yet. */
  static open(source: string | Uint8Array, opts: { name?: string; pinRootPath?: string } = {}): CollectionSpec {
    const n = addon();
    const obj = nativeCall(() => new n.BpfObject(source, opts));
    return new CollectionSpec(obj, typeof source === 'string' ? source : '<buffer>');
  }

  /** The native object; ErrClosed once a load or close() consumed it. */
  get object(): NativeBpfObject {
    if (!this.obj) throw ErrClosed.of('EBADF', 'CollectionSpec', `${this.source}: the collection spec was already loaded or closed`);
    return this.obj;
  }

  get closed(): boolean {
    return this.obj === undefined;
  }

  map(name: string): MapSpec {
    const m = this.maps.find((x) => x.name === name);
    if (!m) throw invalid('CollectionSpec', `${this.source} has no map '${name}' (it has: ${this.maps.map((x) => x.name).join(', ')})`);
    return m;
  }

  btfStruct(name: string): BtfStruct | null {
    return nativeCall(() => this.object.btfStruct(name));
  }

  btfEnum(name: string): BtfEnum | null {
    return nativeCall(() => this.object.btfEnum(name));
  }

  close(): void {
    this.obj?.close();
    this.obj = undefined;
  }
}
