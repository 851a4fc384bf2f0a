/**
 * What sources (files today; Kubernetes and etcd datastores later) hand the incremental engine
 * (docs/control-plane.md). A source owns a set of documents; each event says what one source's
 * set now is, or changes one object of it:
 *
 *   replace  the source's whole set is now `items` (a file was re-read; a datastore relisted)
 *   remove   the source is gone (a file was deleted): same as replace with nothing
 *   upsert   one object of a keyed source (a datastore watch event) is added or changed
 *   delete   one object of a keyed source is gone
 *   block    one block affinity of a keyed source, already taken apart (a datastore's IPAM key
 *            with a well-formed IPv4 CIDR): the same as an upsert of its BlockAffinity document,
 *            without building and classifying 100k documents that are valid by construction
 *
 * Items are produced lazily (`Iterable`): a 16 MB file is parsed document by document while the
 * engine consumes it, so the whole document tree is never held at once.
 */
import type { ConfigDiagnostic } from '../config/diagnostics.js';
import type { RawDocument } from '../config/documents.js';

/** A parsed document, or a problem with the source itself (syntax, unreadable, not a regular file, too big). */
export type SourceItem = RawDocument | { readonly error: ConfigDiagnostic };

export const isSourceError = (item: SourceItem): item is { readonly error: ConfigDiagnostic } => 'error' in item;

/**
 * Where a source sits in load order: diagnostics about two resources that clash are attached to
 * the later one. Compared element by element (numbers numerically, strings by code unit).
 * The file source uses [index of the path argument, file path].
 */
export type SourceOrder = readonly (string | number)[];

export interface SourceRef {
  /** Unique among sources: a file path, or e.g. `kubernetes:IPPool` for a datastore collection. */
  readonly id: string;
  readonly order: SourceOrder;
  /**
   * Where the object under a key was read, for a keyed source whose keys are not that already (the
   * etcd source keys a block affinity by its name: etcd-source.ts storeKeyOf).
   */
  readonly fileOf?: (key: string) => string;
}

export type SourceEvent =
  | { readonly type: 'replace'; readonly source: SourceRef; readonly items: Iterable<SourceItem> }
  | { readonly type: 'remove'; readonly source: SourceRef }
  | {
      readonly type: 'upsert';
      readonly source: SourceRef;
      readonly key: string;
      readonly document: RawDocument;
      /**
       * Skip-invalid (a datastore's objects): when the object fails its own rules (schema,
       * per-resource checks — exactly datastore.ts's errorsAlone), the store keeps the key's last
       * good version and calls this instead; otherwise it calls `accepted`.
       */
      readonly rejected?: (errors: readonly ConfigDiagnostic[]) => void;
      readonly accepted?: () => void;
    }
  | { readonly type: 'delete'; readonly source: SourceRef; readonly key: string }
  /** A keyed source read whole again (a relist): every object whose key is not in `keys` is gone. */
  | { readonly type: 'retain'; readonly source: SourceRef; readonly keys: ReadonlySet<string> }
  | { readonly type: 'block'; readonly source: SourceRef; readonly key: string; readonly block: KeyedBlock };

/**
 * A BlockAffinity named `<node>-a-b-c-d-nn` (src/engine/block-name.ts: its name is not carried, the
 * store rebuilds it): spec.node, its CIDR as numbers (strictIpv4Cidr) and whether it is active
 * (state confirmed, not deleted). Diagnostics name it by its key.
 */
export interface KeyedBlock {
  /** The event's key is its name (blockNameOf(node, addr, prefix)): the etcd source's usual layout. */
  readonly named: boolean;
  readonly node: string;
  readonly addr: number;
  readonly prefix: number;
  readonly active: boolean;
}

/** Where sources deliver events. Events of one call are applied together (one flush). */
export type EventSink = (events: readonly SourceEvent[]) => void;

export function compareOrder(a: SourceOrder, b: SourceOrder): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    const sx = String(x);
    const sy = String(y);
    return sx < sy ? -1 : 1;
  }
  return a.length - b.length;
}
