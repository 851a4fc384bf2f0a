/**
 * The keyed resource store with incremental validation (docs/control-plane.md).
 *
 * Sources hand in events (events.ts); each document is classified and resolved once, when it
 * arrives (schema and per-resource rules: src/config/resources.ts, resolve.ts), and kept as a
 * record. A source's previous records are diffed against its new ones, so re-reading a file that
 * changed in one place costs the parse plus one change. Calico's cross-resource rules (duplicate
 * names, overlapping pools, node address collisions, blocks against pools, nodes and each other,
 * Felix switches) are kept up to date through indexes: a change re-checks the resources it can
 * affect, not the whole model. Every diagnostic is the one src/config produces for the same
 * input (the rules' message builders are shared, src/config/cross-check.ts).
 *
 * The store tells a listener what changed (blocks, nodes by name, the pool phase) so the derived
 * state (derive.ts) recomputes only that.
 */
import {
  blockConflictDiagnostic,
  blockPoolCheck,
  blockUnknownNodeDiagnostic,
  checkFelixSwitches,
  checkPoolOverlaps,
  crossSubnetPoolNames,
  duplicateNameDiagnostic,
  duplicateNodeAddressDiagnostic,
  hostPrefixWarning,
  nodePoolDiagnostics,
  type Located,
} from '../config/cross-check.js';
import type { ConfigDiagnostic, SourceLocation } from '../config/diagnostics.js';
import type { RawDocument } from '../config/documents.js';
import { DEFAULT_VXLAN_PORT, DEFAULT_VXLAN_VNI, type Encapsulation, type FelixSettings, type IPPool, type Node } from '../config/model.js';
import { clearOfReservedIpv4 } from '../config/net.js';
import {
  resolveBlock,
  resolveFelix,
  resolveKonvoy,
  resolveNode,
  resolvePool,
  type ResolvedFelix,
  type ResolvedNode,
  type ResolvedPool,
} from '../config/resolve.js';
import { classifyDocumentsInto, type Resource } from '../config/resources.js';
import type { ResourceKind } from '../config/schema.js';
import { DiagnosticBook } from './diagnostic-book.js';
import { MultiIndex, NumberMultiIndex } from './multi-index.js';
import { compareOrder, isSourceError, type KeyedBlock, type SourceEvent, type SourceItem, type SourceRef } from './events.js';
import { blockNameKey, blockNameOf, isBlockName } from './block-name.js';
import { maskNumber, packRouteKey, strictIpv4Cidr } from './packed-table.js';

const NO_DIAGNOSTICS: readonly ConfigDiagnostic[] = Object.freeze([]);
const NONE = NO_DIAGNOSTICS;

type Of<K extends Resource['kind']> = Extract<Resource, { kind: K }>;

interface SourceState {
  ref: SourceRef;
  /** '' for the source's whole set (replace), an object's key for a keyed source's objects. */
  parts: Map<string, Part>;
  /**
   * How many of its objects are blocks keyed by their own name (a keyed source with `fileOf`: the
   * etcd source's affinities), which `parts` does not hold: the BlockAffinity name index finds
   * them (namedBlock), so 100k of them cost one map entry each, not two.
   */
  named: number;
}

/** A keyed object that is one clean record is kept as the record itself (100k of them: no arrays). */
type Part = PartState | Rec;
const isRecPart = (p: Part): p is Rec => 'kind' in p;
const recordsOf = (p: Part | undefined): readonly Rec[] => (p === undefined ? [] : isRecPart(p) ? [p] : p.records);
/** '' is the whole-set part: a keyed object whose key is '' gets another. */
const partKey = (key: string) => (key === '' ? '\u0000' : key);

interface PartState {
  /** In document order. */
  records: Rec[];
  /** Document-level diagnostics (syntax, unknown kind, schema failures, skipped kinds). */
  diagnostics: ConfigDiagnostic[];
  /** Resources of a known kind that failed their schema: their names still count (no cascade). */
  rejected: { kind: ResourceKind; name: string }[];
}

interface RecBase extends Located {
  readonly src: SourceState;
  readonly document: number;
  /** Index in a List document, -1 for a document that is the resource itself. */
  readonly item: number;
  /** Diagnostics of the resource alone (resolve.ts). */
  readonly own: readonly ConfigDiagnostic[];
}

export interface PoolRec extends RecBase { readonly kind: 'IPPool'; readonly res: Of<'IPPool'> }
export interface NodeRec extends RecBase { readonly kind: 'Node'; readonly res: Of<'Node'>; readonly resolved: ResolvedNode | undefined; /** The address as a number (0 when unresolved). */ readonly addr: number }
export interface FelixRec extends RecBase { readonly kind: 'FelixConfiguration'; readonly res: Of<'FelixConfiguration'> }
export interface KonvoyRec extends RecBase { readonly kind: 'ClusterConfiguration'; readonly res: Of<'ClusterConfiguration'> }
/**
 * Compact: no raw resource kept (there are 100k of them), the location built when asked, the kind
 * on the prototype and the small numbers packed (docs/control-plane.md, "Memory").
 */
export class BlockRecord implements RecBase {
  /** The pool it lies in with the right block size (set by the block check). */
  owner: string | undefined = undefined;
  /** document × 2^21 + item + 1 (items of a List stay below 2^21 − 1). */
  private readonly pos: number;
  /** prefix | active << 6. */
  private readonly bits: number;
  /** Its own diagnostics: only a record that has some holds the field (the prototype's: none). */
  declare readonly own: readonly ConfigDiagnostic[];
  /**
   * Where it was read when that is not the source's id (a keyed object of a datastore: its key;
   * none when the key is its name, SourceRef.fileOf). Held, like `own`, only when there is one.
   */
  declare readonly file: string | undefined;
  /** Its name, held only when it is not `<node>-a-b-c-d-nn` of its own node and CIDR (block-name.ts). */
  declare private readonly ownName: string | undefined;
  constructor(
    readonly src: SourceState,
    document: number,
    item: number,
    /** Undefined: blockNameOf(node, addr, prefix), which the caller knows it is. */
    name: string | undefined,
    own: readonly ConfigDiagnostic[],
    readonly node: string,
    /** Undefined when the CIDR does not resolve (an own diagnostic says why). */
    readonly addr: number | undefined,
    prefix: number,
    active: boolean,
    file?: string,
  ) {
    this.pos = document * 2097152 + item + 1;
    this.bits = prefix | (active ? 64 : 0);
    // 100k records of a datastore have none of these: V8 sizes the object to the fields it sees set.
    if (own.length > 0) this.own = own;
    if (file !== undefined) this.file = file;
    if (name !== undefined && (addr === undefined || !isBlockName(name, node, addr, prefix))) this.ownName = name;
  }

  get name(): string {
    return this.ownName ?? blockNameOf(this.node, this.addr!, this.prefix);
  }

  /** Whether its name is `name` (without building its own). */
  isNamed(name: string): boolean {
    return this.ownName !== undefined ? this.ownName === name : isBlockName(name, this.node, this.addr!, this.prefix);
  }

  /** The name index's key (blockNameKey of its name, without building it). */
  nameKey(): number | string {
    return this.ownName === undefined ? packRouteKey(this.addr!, this.prefix) : blockNameKey(this.ownName);
  }

  /** Whether the two have the same name (equal name keys known). */
  sameName(other: BlockRecord): boolean {
    if (this.ownName === undefined && other.ownName === undefined) return this.node === other.node;
    return this.name === other.name;
  }

  get kind(): 'BlockAffinity' {
    return 'BlockAffinity';
  }

  get document(): number {
    return Math.floor(this.pos / 2097152);
  }

  get item(): number {
    return (this.pos % 2097152) - 1;
  }

  get prefix(): number {
    return this.bits & 63;
  }

  get active(): boolean {
    return (this.bits & 64) !== 0;
  }

  get loc(): SourceLocation {
    return this.file === undefined && this.src.ref.fileOf ? { file: this.src.ref.fileOf(this.name), document: 1, prefix: [] } : locOf(this);
  }
}
Object.assign(BlockRecord.prototype, { own: NO_DIAGNOSTICS, file: undefined, ownName: undefined });

/**
 * BlockAffinity records by name, in load order (the first is the one that counts). A name of the
 * form `<node>-a-b-c-d-nn` (every datastore block's) is keyed by the CIDR it says, on the typed-array
 * index, and told apart from other names of that CIDR by its node: no string per block, no 100k-entry
 * Map (docs/control-plane.md, "Memory"). Other names are keyed by themselves.
 */
class BlockNameIndex {
  private readonly byCidr = new NumberMultiIndex<BlockRecord>();
  private readonly byName = new MultiIndex<string, BlockRecord>();

  /** The records named `name`, in order. */
  list(name: string): readonly BlockRecord[] {
    const k = blockNameKey(name);
    return typeof k === 'string' ? this.byName.list(k) : this.byCidr.list(k).filter((r) => r.isNamed(name));
  }

  /** The records with r's name (r included when it is in), in order. */
  groupOf(r: BlockRecord): readonly BlockRecord[] {
    const k = r.nameKey();
    if (typeof k === 'string') return this.byName.list(k);
    const all = this.byCidr.list(k);
    return all.length === 1 && all[0] === r ? all : all.filter((x) => x === r || x.sameName(r));
  }

  /** Adds r in order; the first record of its name before, if any. */
  add(r: BlockRecord): BlockRecord | undefined {
    const k = r.nameKey();
    if (typeof k === 'string') return this.byName.add(k, r, compareRecs);
    const before = this.byCidr.list(k).find((x) => x.sameName(r));
    this.byCidr.add(k, r, compareRecs);
    return before;
  }

  remove(r: BlockRecord): void {
    const k = r.nameKey();
    if (typeof k === 'string') this.byName.remove(k, r);
    else this.byCidr.remove(k, r);
  }

  *all(): Generator<BlockRecord> {
    yield* this.byCidr.all();
    yield* this.byName.all();
  }

  /** The first record of every name. */
  *firsts(): Generator<BlockRecord> {
    for (const r of this.all()) if (this.groupOf(r)[0] === r) yield r;
  }
}
export type BlockRec = BlockRecord;
export type Rec = PoolRec | NodeRec | FelixRec | KonvoyRec | BlockRec;

function locOf(r: { src: SourceState; document: number; item: number; file?: string | undefined }): SourceLocation {
  return { file: r.file ?? r.src.ref.id, document: r.document, prefix: r.item >= 0 ? ['items', r.item] : [] };
}

/** Load order: source, then (for keyed objects of one source) the object's key, document, item. */
export function compareRecs(a: RecBase, b: RecBase): number {
  if (a.src !== b.src) {
    const c = compareOrder(a.src.ref.order, b.src.ref.order) || (a.src.ref.id < b.src.ref.id ? -1 : a.src.ref.id > b.src.ref.id ? 1 : 0);
    if (c !== 0) return c;
  }
  const fa = a.loc.file;
  const fb = b.loc.file;
  return (fa < fb ? -1 : fa > fb ? 1 : 0) || a.document - b.document || a.item - b.item;
}

function insertSorted<T extends RecBase>(list: T[], r: T): void {
  let i = list.length;
  while (i > 0 && compareRecs(list[i - 1]!, r) > 0) i--;
  list.splice(i, 0, r);
}

function removeFrom<T>(list: T[], r: T): void {
  const i = list.indexOf(r);
  if (i >= 0) list.splice(i, 1);
}

/**
 * A node's blocks: a list while there are few (a node holds ~20: ~200 bytes, where a Set is ~700;
 * 5,000 nodes), a Set past NODE_BLOCKS_LIST (removal stays O(1) for a node with thousands).
 */
type NodeBlocks = BlockRec[] | Set<BlockRec>;
const NODE_BLOCKS_LIST = 64;

const netOf = (b: BlockRec) => ({ version: 4 as const, addr: BigInt(b.addr ?? 0), prefix: b.prefix });
const blockLike = (b: BlockRec) => ({ res: b, net: netOf(b), node: b.node, active: b.active });

/** A pool as the derived state sees it: resolved, with its index in the name-sorted list. */
export interface PoolView {
  readonly pool: IPPool;
  readonly net: { addr: number; prefix: number };
  readonly resolved: ResolvedPool;
}

/** What changed in one batch of events: derive.ts recomputes exactly this. */
export interface StoreChanges {
  /** Route keys of blocks added, removed or changed. */
  blockKeys: Set<number>;
  /** Node names whose effective Node changed (added, removed, address, MAC…). */
  nodes: Set<string>;
  /** The effective node records before the change, by name (for old addresses). */
  nodesBefore: Map<string, Node | undefined>;
  /** Pools, Felix or Konvoy changed: the pool phase was recomputed. */
  pools: boolean;
}

export const emptyChanges = (): StoreChanges => ({ blockKeys: new Set(), nodes: new Set(), nodesBefore: new Map(), pools: false });

export class ResourceStore {
  private readonly sources = new Map<string, SourceState>();
  readonly book = new DiagnosticBook();

  /** Valid records by kind + name, in load order: the first is the one that counts. */
  private readonly groups: Record<Exclude<ResourceKind, 'ClusterConfiguration' | 'BlockAffinity'>, MultiIndex<string, Rec>> = {
    IPPool: new MultiIndex(), Node: new MultiIndex(), FelixConfiguration: new MultiIndex(),
  };
  private readonly blockNames = new BlockNameIndex();
  /** One string per node name, however many blocks name it. */
  private readonly nodeNameStrings = new Map<string, string>();
  private readonly konvoys: KonvoyRec[] = [];
  /** Every Node name defined anywhere (valid, duplicate or rejected): how many times. */
  private readonly nodeNameCount = new Map<string, number>();
  private rejectedPools = 0;

  /** Effective (first-of-name) blocks by node name. */
  private readonly blocksByNode = new Map<string, NodeBlocks>();
  /** Effective active blocks by route key, in load order: the first claims the CIDR. */
  readonly claims = new NumberMultiIndex<BlockRec>();
  /** Effective resolved nodes by address number, in load order. */
  readonly nodesByAddress = new Map<number, NodeRec[]>();

  // The pool phase: recomputed whenever a pool, Felix or Konvoy resource changes (they are few).
  private konvoyEncap: Encapsulation = 'ipip';
  private konvoyMtu: number | undefined;
  /** Effective resolved pools in load order. */
  private resolvedPools: ResolvedPool[] = [];
  private everyPoolRead = true;
  private v4PoolNets: { name: string; addr: number; prefix: number; blockSize: number }[] = [];
  private crossSubnet: string[] = [];
  felix: ResolvedFelix = { settings: { vxlanVNI: DEFAULT_VXLAN_VNI, vxlanPort: DEFAULT_VXLAN_PORT } };
  /** Sorted by name, indexed: the model's pools. */
  pools: PoolView[] = [];

  private changes: StoreChanges = emptyChanges();
  private poolsDirty = false;
  private readonly blocksToCheck = new Set<BlockRec>();
  private readonly nodeNamesToCheck = new Set<string>();
  /** Blocks whose node is not defined: their message suggests among all names, so any name change rechecks them. */
  private readonly unknownNodeBlocks = new Set<BlockRec>();
  /** A Node was added or removed somewhere: the suggestions' list (and its order) may differ. */
  private nodeListChanged = false;

  /** Applies the events; returns what changed for the derived state. */
  apply(events: readonly SourceEvent[]): StoreChanges {
    for (const e of events) this.applyOne(e);
    this.settle();
    const out = this.changes;
    this.changes = emptyChanges();
    return out;
  }

  // ── events ────────────────────────────────────────────────────────────────────────────────

  private applyOne(e: SourceEvent): void {
    let src = this.sources.get(e.source.id);
    if (!src) {
      if (e.type === 'remove' || e.type === 'delete' || e.type === 'retain') return;
      src = { ref: e.source, parts: new Map(), named: 0 };
      this.sources.set(e.source.id, src);
    }
    switch (e.type) {
      case 'replace':
        this.replacePart(src, '', this.ingest(src, e.items));
        for (const key of this.partKeys(src)) if (key !== '') this.replacePart(src, key, undefined);
        break;
      case 'remove':
        for (const key of this.partKeys(src)) this.replacePart(src, key, undefined);
        break;
      case 'upsert': {
        const part = this.ingest(src, [e.document]);
        if (e.rejected) {
          const errors = ownErrors(part);
          if (errors.length > 0) {
            e.rejected(errors);
            break;
          }
        }
        this.replacePart(src, partKey(e.key), compact(part));
        e.accepted?.();
        break;
      }
      case 'block':
        this.replacePart(src, partKey(e.key), this.blockRecordOf(src, e.key, e.block));
        break;
      case 'delete':
        this.replacePart(src, partKey(e.key), undefined);
        break;
      case 'retain':
        for (const key of this.partKeys(src)) if (!e.keys.has(key === '\u0000' ? '' : key)) this.replacePart(src, key, undefined);
        break;
    }
    if (src.parts.size === 0 && src.named === 0) this.sources.delete(src.ref.id);
  }

  /** Every key the source holds a part at (a copy). */
  private partKeys(src: SourceState): string[] {
    const keys = [...src.parts.keys()];
    if (src.named > 0) for (const r of this.blockNames.all()) if (this.isNamedBlock(src, r)) keys.push(r.name);
    return keys;
  }

  /**
   * A record of `src` held outside `parts` (SourceState.named): in a source with `fileOf` a block
   * has no `file` exactly when its key is its name (blockRecordOf, recordOf).
   */
  private isNamedBlock(src: SourceState, r: Rec): r is BlockRecord {
    return r.src === src && src.ref.fileOf !== undefined && r instanceof BlockRecord && r.file === undefined;
  }

  /** The named block of `src` at `key`, if any; found through `next` when that is one (its name is `key`: no parse). */
  private namedBlock(src: SourceState, key: string, next: Part | undefined): BlockRecord | undefined {
    const group = next !== undefined && isRecPart(next) && this.isNamedBlock(src, next) ? this.blockNames.groupOf(next) : this.blockNames.list(key);
    for (const r of group) if (this.isNamedBlock(src, r)) return r;
    return undefined;
  }

  /** Classifies and resolves each document as it is produced (the tree is dropped after). */
  private ingest(src: SourceState, items: Iterable<SourceItem>): PartState {
    const part: PartState = { records: [], diagnostics: [], rejected: [] };
    for (const item of items) {
      if (isSourceError(item)) {
        part.diagnostics.push(item.error);
        continue;
      }
      this.ingestDocument(src, item, part);
    }
    return part;
  }

  /** A document's resources become records as they are classified (a List's items one by one). */
  private ingestDocument(src: SourceState, doc: RawDocument, part: PartState): void {
    classifyDocumentsInto([doc], {
      diagnostics: part.diagnostics,
      rejected: part.rejected,
      resources: {
        push: (res: Resource) => {
          const rec = this.recordOf(src, res);
          part.records.push(rec);
        },
      },
    });
  }

  /** One string per node name, however many blocks name it. */
  private nodeNameString(node: string): string {
    let s = this.nodeNameStrings.get(node);
    if (s === undefined) this.nodeNameStrings.set(node, (s = node));
    return s;
  }

  /** What recordOf makes of the affinity document of a 'block' event (document 1, named by its key). */
  private blockRecordOf(src: SourceState, key: string, b: KeyedBlock): BlockRec {
    // Keyed by its name (the etcd source's usual layout): where it was read is rebuilt from that.
    return new BlockRecord(src, 1, -1, undefined, NO_DIAGNOSTICS, this.nodeNameString(b.node), b.addr, b.prefix, b.active, b.named ? undefined : key);
  }

  private recordOf(src: SourceState, res: Resource): Rec {
    const prefix = res.loc.prefix;
    const item = prefix.length >= 2 && typeof prefix[1] === 'number' ? prefix[1] : -1;
    const base = { src, document: res.loc.document, item, name: res.name, loc: res.loc };
    switch (res.kind) {
      case 'BlockAffinity': {
        const spec = res.raw.spec;
        const node = this.nodeNameString(spec.node);
        const active = !(spec.deleted === true || spec.deleted === 'true') && (spec.state ?? 'confirmed') === 'confirmed';
        const fast = strictIpv4Cidr(spec.cidr);
        // In a source with fileOf, no file means "keyed by its name" (isNamedBlock): a document keeps it.
        const file = res.loc.file === src.ref.id && !src.ref.fileOf ? undefined : res.loc.file;
        if (fast && clearOfReservedIpv4(fast.addr, fast.prefix)) return new BlockRecord(src, res.loc.document, item, res.name, NO_DIAGNOSTICS, node, fast.addr, fast.prefix, active, file);
        const r = resolveBlock(res);
        const v = r.value;
        return new BlockRecord(src, res.loc.document, item, res.name, r.diagnostics, node,
          v ? Number(v.net.addr) : undefined, v ? v.net.prefix : 0, v?.active ?? false, file);
      }
      case 'Node': {
        const r = resolveNode(res);
        return { ...base, kind: 'Node', res, own: r.diagnostics, resolved: r.value, addr: r.value ? Number(r.value.net.addr) : 0 };
      }
      case 'IPPool':
        return { ...base, kind: 'IPPool', res, own: [] };
      case 'FelixConfiguration':
        return { ...base, kind: 'FelixConfiguration', res, own: [] };
      case 'ClusterConfiguration':
        return { ...base, kind: 'ClusterConfiguration', res, own: [] };
    }
  }

  private replacePart(src: SourceState, key: string, next: Part | undefined): void {
    const held = src.parts.get(key);
    const prev = held ?? (src.named > 0 ? this.namedBlock(src, key, next) : undefined);
    if (prev && !isRecPart(prev)) {
      this.book.set(prev, []);
      for (const r of prev.rejected) this.countRejected(r, -1);
    }
    if (next && !isRecPart(next)) {
      this.book.set(next, next.diagnostics);
      for (const r of next.rejected) this.countRejected(r, +1);
    }
    const before = recordsOf(prev);
    // Records kept from before take the new ones' places, in the part as stored.
    const after = next === undefined ? [] : isRecPart(next) ? [next] : next.records;
    if (before.length === 0 || after.length === 0) {
      for (const old of before) this.removeRec(old);
      for (const r of after) this.addRec(r);
    } else {
      this.keepUnchanged(before, after);
    }
    // Where the part is held now: a block keyed by its own name only in the name index.
    const stored = next !== undefined && isRecPart(next) ? after[0]! : next;
    if (held === undefined && prev !== undefined) src.named--;
    if (stored !== undefined && isRecPart(stored) && this.isNamedBlock(src, stored)) {
      src.parts.delete(key);
      src.named++;
    } else if (stored === undefined) src.parts.delete(key);
    else src.parts.set(key, stored);
  }

  /** Records of a source read again: those unchanged are kept in place (`after` takes them). */
  private keepUnchanged(before: readonly Rec[], after: Rec[]): void {
    // A source read again: records that come back unchanged are kept in place (nothing downstream
    // changes); the others go, then the new ones come.
    const byName = new MultiIndex<string, number>();
    after.forEach((r, i) => byName.add(r.name, i));
    const kept = new Set<number>();
    for (const old of before) {
      const i = byName.list(old.name).find((j) => !kept.has(j) && after[j]!.kind === old.kind && sameContent(old, after[j]!));
      if (i === undefined) {
        this.removeRec(old);
      } else {
        after[i] = old;
        kept.add(i);
      }
    }
    after.forEach((r, i) => {
      if (!kept.has(i)) this.addRec(r);
    });
  }

  private countRejected(r: { kind: ResourceKind; name: string }, delta: number): void {
    if (r.kind === 'Node') this.bumpNodeName(r.name, delta);
    if (r.kind === 'IPPool') { this.rejectedPools += delta; this.poolsDirty = true; }
  }

  private bumpNodeName(name: string, delta: number): void {
    const n = (this.nodeNameCount.get(name) ?? 0) + delta;
    if (n === 0) this.nodeNameCount.delete(name);
    else this.nodeNameCount.set(name, n);
    if ((n === 0 && delta < 0) || (n === delta && delta > 0)) this.nodeNamesToCheck.add(name);
    this.nodeListChanged = true;
  }

  // ── records and duplicate groups ──────────────────────────────────────────────────────────

  private addRec(r: Rec): void {
    if (r.kind === 'Node') this.bumpNodeName(r.name, +1);
    if (r.kind === 'ClusterConfiguration') {
      insertSorted(this.konvoys, r);
      this.poolsDirty = true;
      return;
    }
    if (r.kind === 'BlockAffinity') {
      const winner = this.blockNames.add(r);
      this.regroup(winner === undefined ? [r] : this.blockNames.groupOf(r), winner);
      return;
    }
    const groups = this.groups[r.kind];
    const winner = groups.add(r.name, r, compareRecs);
    this.regroup(winner === undefined ? [r] : groups.list(r.name), winner);
  }

  private removeRec(r: Rec): void {
    this.book.clear(r);
    if (r.kind === 'Node') this.bumpNodeName(r.name, -1);
    if (r.kind === 'ClusterConfiguration') {
      removeFrom(this.konvoys, r);
      this.poolsDirty = true;
      return;
    }
    if (r.kind === 'BlockAffinity') {
      const winner = this.blockNames.groupOf(r)[0];
      this.blockNames.remove(r);
      this.regroup(this.blockNames.groupOf(r), winner);
      return;
    }
    const groups = this.groups[r.kind];
    const winner = groups.first(r.name);
    groups.remove(r.name, r);
    this.regroup(groups.list(r.name), winner);
  }

  /** Duplicate diagnostics of a group, and the effects of a change of its first record. */
  private regroup(group: readonly Rec[], winnerBefore: Rec | undefined): void {
    const first = group[0];
    // A later duplicate is dropped before its own rules run: only the first reports them.
    for (let i = 0; i < group.length; i++) {
      const r = group[i]!;
      this.book.set(r, i === 0 ? NONE : [duplicateNameDiagnostic(r, first!)], 'dup');
      this.book.set(r, i === 0 ? r.own : NONE, 'own');
    }
    if (first === winnerBefore) return;
    const kind = (first ?? winnerBefore)!.kind;
    if (kind === 'IPPool' || kind === 'FelixConfiguration') this.poolsDirty = true;
    else if (kind === 'Node') this.nodeWinnerChanged(winnerBefore as NodeRec | undefined, first as NodeRec | undefined);
    else if (kind === 'BlockAffinity') this.blockWinnerChanged(winnerBefore as BlockRec | undefined, first as BlockRec | undefined);
  }

  private effectiveNode(name: string): NodeRec | undefined {
    return this.groups.Node.first(name) as NodeRec | undefined;
  }

  /** The effective node record of that name when it resolved (with its address as a number). */
  nodeRec(name: string): NodeRec | undefined {
    const r = this.effectiveNode(name);
    return r?.resolved ? r : undefined;
  }

  /** The model's node of that name (resolved), if any. */
  node(name: string): Node | undefined {
    return this.effectiveNode(name)?.resolved?.node;
  }

  private nodeWinnerChanged(before: NodeRec | undefined, after: NodeRec | undefined): void {
    const name = (after ?? before)!.name;
    if (!this.changes.nodesBefore.has(name)) this.changes.nodesBefore.set(name, before?.resolved?.node);
    this.changes.nodes.add(name);
    for (const n of [before, after]) {
      const v = n?.resolved;
      if (!v) continue;
      const addr = Number(v.net.addr);
      let list = this.nodesByAddress.get(addr);
      if (n === before) {
        if (list) {
          removeFrom(list, n);
          if (list.length === 0) this.nodesByAddress.delete(addr);
          else this.recheckAddress(list);
        }
        this.book.clear(n, 'node');
      } else {
        if (!list) this.nodesByAddress.set(addr, (list = []));
        insertSorted(list, n);
        this.recheckAddress(list);
      }
    }
  }

  private recheckAddress(list: NodeRec[]): void {
    const first = list[0]!;
    list.forEach((n, i) => {
      this.book.set(n, i === 0 ? this.nodeWarnings(n) : [duplicateNodeAddressDiagnostic(n.resolved!, first.resolved!), ...this.nodeWarnings(n)], 'node');
    });
  }

  /** The /32 warning and the node-against-pools errors (nodePoolDiagnostics). */
  private nodeWarnings(n: NodeRec): ConfigDiagnostic[] {
    const w = n.resolved ? hostPrefixWarning(n.resolved, this.crossSubnet) : undefined;
    const inPools = n.resolved ? nodePoolDiagnostics(n.resolved, this.resolvedPools) : [];
    return w ? [...inPools, w] : inPools;
  }

  private blockWinnerChanged(before: BlockRec | undefined, after: BlockRec | undefined): void {
    if (before) {
      this.book.clear(before, 'block');
      this.blocksToCheck.delete(before);
      this.unknownNodeBlocks.delete(before);
      const had = this.blocksByNode.get(before.node);
      if (Array.isArray(had)) {
        const i = had.indexOf(before);
        if (i >= 0) had.splice(i, 1);
      } else had?.delete(before);
      before.owner = undefined;
      if (before.addr !== undefined) {
        const key = packRouteKey(before.addr, before.prefix);
        this.changes.blockKeys.add(key);
        if (before.active && this.claims.remove(key, before)) {
          for (const b of this.claims.list(key)) this.blocksToCheck.add(b);
        }
      }
    }
    if (after) {
      const byNode = this.blocksByNode.get(after.node);
      if (!byNode) this.blocksByNode.set(after.node, [after]);
      else if (!Array.isArray(byNode)) byNode.add(after);
      else if (byNode.length < NODE_BLOCKS_LIST) byNode.push(after);
      else this.blocksByNode.set(after.node, new Set(byNode).add(after));
      this.blocksToCheck.add(after);
      if (after.addr !== undefined) {
        const key = packRouteKey(after.addr, after.prefix);
        this.changes.blockKeys.add(key);
        if (after.active) {
          const had = this.claims.add(key, after, compareRecs);
          if (had) for (const b of this.claims.list(key)) this.blocksToCheck.add(b);
        }
      }
    }
  }

  // ── settling: the cross-resource checks for what the events touched ──────────────────────

  private settle(): void {
    if (this.poolsDirty) this.recomputePools();
    if (this.nodeListChanged) for (const b of this.unknownNodeBlocks) this.blocksToCheck.add(b);
    this.nodeListChanged = false;
    if (this.nodeNamesToCheck.size > 0) {
      for (const name of this.nodeNamesToCheck) {
        for (const b of this.blocksByNode.get(name) ?? []) this.blocksToCheck.add(b);
      }
    }
    this.nodeNamesToCheck.clear();
    for (const b of this.blocksToCheck) this.checkBlock(b);
    this.blocksToCheck.clear();
  }

  private checkBlock(b: BlockRec): void {
    if (b.addr === undefined) {
      this.unknownNodeBlocks.delete(b);
      this.book.set(b, NONE, 'block');
      return;
    }
    // The common case with numbers and no allocation: the first pool (load order) holding the
    // block has its size, the node is defined, nobody else claims the CIDR.
    let diagnostics: ConfigDiagnostic[] | undefined;
    let ownerName: string | undefined;
    const addr = b.addr;
    let fast: (typeof this.v4PoolNets)[number] | undefined;
    for (const p of this.v4PoolNets) {
      if (b.prefix >= p.prefix && maskNumber(addr, p.prefix) === p.addr) { fast = p; break; }
    }
    if (fast && fast.blockSize === b.prefix) {
      ownerName = fast.name;
    } else {
      const { owner, diagnostics: poolDiagnostics } = blockPoolCheck(blockLike(b), this.resolvedPools, this.everyPoolRead);
      if (poolDiagnostics.length > 0) diagnostics = [...poolDiagnostics];
      ownerName = owner?.pool.name;
    }
    if (ownerName !== b.owner) {
      b.owner = ownerName;
      this.changes.blockKeys.add(packRouteKey(addr, b.prefix));
    }
    if (!this.nodeNameCount.has(b.node)) {
      (diagnostics ??= []).push(blockUnknownNodeDiagnostic(blockLike(b), this.nodeNames()));
      this.unknownNodeBlocks.add(b);
    } else if (this.unknownNodeBlocks.size > 0) {
      this.unknownNodeBlocks.delete(b);
    }
    if (b.active) {
      const first = this.claims.first(packRouteKey(addr, b.prefix));
      if (first && first !== b) (diagnostics ??= []).push(blockConflictDiagnostic(blockLike(b), blockLike(first)));
    }
    this.book.set(b, diagnostics ?? NONE, 'block');
  }

  /**
   * Every Node name defined, in the order the one-shot loader lists them (valid ones in load
   * order, then rejected ones): only on the error path, for the suggestion and the list.
   */
  private nodeNames(): string[] {
    const valid: NodeRec[] = [];
    for (const r of this.groups.Node.firsts()) valid.push(r as NodeRec);
    valid.sort(compareRecs);
    const rejected: string[] = [];
    for (const src of [...this.sources.values()].sort((a, b) => compareOrder(a.ref.order, b.ref.order) || (a.ref.id < b.ref.id ? -1 : 1))) {
      for (const key of [...src.parts.keys()].sort()) {
        const part = src.parts.get(key)!;
        if (!isRecPart(part)) for (const r of part.rejected) if (r.kind === 'Node') rejected.push(r.name);
      }
    }
    return [...valid.map((n) => n.name), ...rejected];
  }

  private recomputePools(): void {
    this.poolsDirty = false;
    this.changes.pools = true;
    // Konvoy: at most one.
    const konvoy = resolveKonvoy(this.konvoys.map((k) => k.res));
    this.konvoyEncap = konvoy.value!.encapsulation;
    this.konvoyMtu = konvoy.value!.mtu;
    const diagnostics: ConfigDiagnostic[] = [...konvoy.diagnostics];
    const poolRecs: PoolRec[] = [];
    const felixRecs: FelixRec[] = [];
    for (const r of this.groups.IPPool.firsts()) poolRecs.push(r as PoolRec);
    for (const r of this.groups.FelixConfiguration.firsts()) felixRecs.push(r as FelixRec);
    poolRecs.sort(compareRecs);
    felixRecs.sort(compareRecs);
    const resolved: ResolvedPool[] = [];
    for (const rec of poolRecs) {
      const r = resolvePool(rec.res, this.konvoyEncap);
      for (const d of r.diagnostics) diagnostics.push(d);
      if (r.value) resolved.push(r.value);
    }
    for (const d of checkPoolOverlaps(resolved)) diagnostics.push(d);
    const felix = resolveFelix(felixRecs.map((f) => f.res), { encapsulation: this.konvoyEncap, ...(this.konvoyMtu !== undefined ? { mtu: this.konvoyMtu } : {}) });
    for (const d of felix.diagnostics) diagnostics.push(d);
    this.felix = felix.value!;
    for (const d of checkFelixSwitches(this.felix, resolved)) diagnostics.push(d);
    this.book.set(this.poolPhaseKey, diagnostics);

    const structural = (ps: readonly ResolvedPool[]) => ps.map((p) => `${p.pool.name} ${p.pool.cidr}/${p.pool.blockSize}`).join(',');
    const recheckBlocks =
      structural(this.resolvedPools) !== structural(resolved) || this.everyPoolRead !== (this.rejectedPools === 0 && resolved.length === poolRecs.length);
    const nodeFacing = (ps: readonly ResolvedPool[]) => JSON.stringify(ps.map((p) => [p.pool.name, p.pool.cidr, p.res.loc]));
    const poolsChanged = nodeFacing(this.resolvedPools) !== nodeFacing(resolved);
    this.resolvedPools = resolved;
    // IPv4 pools as numbers, in load order (an IPv6 pool never holds an IPv4 block, so the number
    // scan finds the pool blockPoolCheck's would).
    this.v4PoolNets = resolved
      .filter((p) => p.net.version === 4)
      .map((p) => ({ name: p.pool.name, addr: Number(p.net.addr), prefix: p.net.prefix, blockSize: p.pool.blockSize }));
    this.everyPoolRead = this.rejectedPools === 0 && resolved.length === poolRecs.length;
    const crossSubnet = crossSubnetPoolNames(resolved);
    const crossChanged = crossSubnet.join(',') !== this.crossSubnet.join(',');
    this.crossSubnet = crossSubnet;
    this.pools = [...resolved]
      .sort((a, b) => (a.pool.name < b.pool.name ? -1 : a.pool.name > b.pool.name ? 1 : 0))
      .map((p, index) => ({ pool: { ...p.pool, index }, net: { addr: Number(p.net.addr), prefix: p.net.prefix }, resolved: p }));
    if (recheckBlocks) {
      for (const r of this.blockNames.firsts()) this.blocksToCheck.add(r);
    }
    // Every node is checked against the pools (nodePoolDiagnostics): few pools, a few thousand nodes.
    if (crossChanged || poolsChanged) {
      for (const list of this.nodesByAddress.values()) this.recheckAddress(list);
    }
  }

  private readonly poolPhaseKey = {};

  // ── views ─────────────────────────────────────────────────────────────────────────────────

  get felixSettings(): FelixSettings {
    return this.felix.settings;
  }

  /** Every effective node with a resolved address, any order. */
  *nodes(): Generator<Node> {
    for (const list of this.nodesByAddress.values()) for (const n of list) yield n.resolved!.node;
  }

  blocksOf(nodeName: string): Iterable<BlockRec> {
    return this.blocksByNode.get(nodeName) ?? [];
  }
}

/** The errors of a part's documents on their own (datastore.ts's errorsAlone, from the records made already). */
function ownErrors(part: PartState): ConfigDiagnostic[] {
  const out = part.diagnostics.filter((d) => d.severity === 'error');
  for (const r of part.records) {
    const own = r.kind === 'IPPool' ? resolvePool(r.res, 'ipip').diagnostics : r.own;
    for (const d of own) if (d.severity === 'error') out.push(d);
  }
  return out;
}

/** A part that is one clean record: the record itself. */
function compact(part: PartState): Part {
  return part.records.length === 1 && part.diagnostics.length === 0 && part.rejected.length === 0 ? part.records[0]! : part;
}

/** Whether a re-read record is the same as the one kept (then nothing downstream changes). */
function sameContent(a: Rec, b: Rec): boolean {
  if (a.kind !== b.kind || a.name !== b.name || a.document !== b.document || a.item !== b.item) return false;
  if (a.own.length !== b.own.length || a.own.some((d, i) => d.message !== b.own[i]!.message || d.path !== b.own[i]!.path)) return false;
  if (a.kind === 'BlockAffinity') {
    const y = b as BlockRec;
    return a.node === y.node && a.addr === y.addr && a.prefix === y.prefix && a.active === y.active;
  }
  return JSON.stringify(a.res.raw) === JSON.stringify((b as Exclude<Rec, BlockRec>).res.raw);
}
