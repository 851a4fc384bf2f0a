/**
 * The etcdv3 datastore source (issue 10; docs/control-plane.md): Calico's own etcd layout,
 * read the way calico-node reads it, fed to the engine as events (events.ts).
 *
 *   /calico/resources/v3/projectcalico.org/ippools/<name>              IPPool (the resource as JSON)
 *   /calico/resources/v3/projectcalico.org/nodes/<name>                Node
 *   /calico/resources/v3/projectcalico.org/felixconfigurations/<name>  FelixConfiguration
 *   /calico/ipam/v2/host/<node>/ipv4/block/<a.b.c.d-nn>                a block affinity (Calico ≤ 3.29)
 *   /calico/ipam/v2/<host|virtual>/<node>/ipv<4|6>/block/<cidr-nn>      the same (3.30+), value
 *                                                                        {"state":"confirmed","deleted":false}
 *
 * (libcalico-go: lib/backend/model/resource.go and block_affinity.go.) The datastore is one
 * source whose objects are keyed by their etcd key (upsert/delete; load order = the key; a block
 * affinity under the usual layout by its name, which says the same: storeKeyOf), so an object's
 * diagnostics name its key. Start: one consistent read
 * of those prefixes at one revision, then a watch of each from the next revision; a watch
 * that fails (compaction, cancel) or a lost connection → relist at a new revision (what vanished
 * is removed, what is unchanged changes nothing), with backoff. An object that fails its own
 * rules (schema, per-resource checks) is reported and skipped — the last good version of it, if
 * any, stays — so one bad object never stops the node from following the rest.
 */
import { Etcd3, Range, type IOptions, type Watcher } from 'etcd3';

import type { ConfigDiagnostic } from '../config/diagnostics.js';
import type { RawDocument } from '../config/documents.js';
import { clearOfReservedIpv4 } from '../config/net.js';
import { NAME_RE } from '../config/schema.js';
import { errorsAlone, type DatastoreHooks, type EtcdConnection } from './datastore.js';
import { rawRange, type RawKeyValue, type RawRangeResponse } from './etcd-range.js';
import type { KeyedBlock, SourceEvent, SourceRef } from './events.js';
import { blockNameOf } from './block-name.js';
import { strictIpv4Cidr } from './packed-table.js';

export const CALICO_V3_PREFIX = '/calico/resources/v3/projectcalico.org/';
export const CALICO_IPAM_PREFIX = '/calico/ipam/v2/';
const COLLECTIONS = { ippools: 'IPPool', nodes: 'Node', felixconfigurations: 'FelixConfiguration' } as const;
/** What is read and watched: nothing else under /calico (workload endpoints, IPAM blocks and handles churn). */
export const ETCD_PREFIXES = [
  ...Object.keys(COLLECTIONS).map((plural) => `${CALICO_V3_PREFIX}${plural}/`),
  `${CALICO_IPAM_PREFIX}host/`,
  `${CALICO_IPAM_PREFIX}virtual/`,
];
const AFFINITY = /^\/calico\/ipam\/v2\/(?:(host|virtual)\/)?([^/]+)\/ipv([46])\/block\/([^/]+)$/;
const AFFINITY_OLD = /^\/calico\/ipam\/v2\/host\/([^/]+)\/ipv([46])\/block\/([^/]+)$/;

/** HTTP/2 flow-control window of the etcd connection and its streams (bytes): ~4 pages of affinities. */
const FLOW_WINDOW = 4 << 20;

/** A client for the endpoints, with mutual TLS when certificates are given. */
function etcdClient(c: EtcdConnection): Etcd3 {
  const options: IOptions = {
    hosts: [...c.endpoints], dialTimeout: 3000,
    // HTTP/2's default 64 KiB window: while the engine takes in one page the next stalls after
    // 64 KiB (nobody reads the socket), and the rest then comes in window-sized round trips. A
    // window of a few pages lets etcd send the next page whole meanwhile (a cold start at 100k
    // affinities sat idle a quarter of its read without it).
    grpcOptions: { 'grpc-node.flow_control_window': FLOW_WINDOW },
  };
  if (c.tls) options.credentials = { rootCertificate: c.tls.ca, ...(c.tls.key ? { privateKey: c.tls.key } : {}), ...(c.tls.cert ? { certChain: c.tls.cert } : {}) };
  return new Etcd3(options);
}

/**
 * One consistent read of every prefix burrow reads: the first page fixes the revision, every other
 * page reads at it. Each page is handed to `onPage` as it arrives (then dropped): 100k affinities
 * are never held as gRPC objects at once. Returns the revision.
 *
 * The affinities (the bulk: 20 per node) are read as `streams` key ranges at once, split at the
 * node names just read: one paged read keeps one page in flight, and at 100k affinities the engine
 * then waited for etcd a quarter of the read. The ranges cover the prefix whatever the names are
 * (they only balance the split); the order of the pages does not matter to the store.
 */
export async function readPrefixes(client: Etcd3, onPage: (kvs: readonly RawKeyValue[]) => void, pageSize = PAGE, streams = STREAMS): Promise<string> {
  let revision: string | undefined;
  const names: string[] = [];
  for (const p of ETCD_PREFIXES) {
    const end = Range.prefix(p).end;
    if (p === HOST_PREFIX && streams > 1 && names.length >= streams * 16) {
      names.sort();
      const cuts = Array.from({ length: streams - 1 }, (_, i) => Buffer.from(`${p}${names[Math.floor(((i + 1) * names.length) / streams)]!}`));
      await rangesAll(client, [Buffer.from(p), ...cuts], end, revision!, onPage, pageSize);
      continue;
    }
    const onNodes = p === NODES_PREFIX
      ? (kvs: readonly RawKeyValue[]) => {
        for (const kv of kvs) names.push(kv.key.toString('latin1', NODES_PREFIX.length));
        onPage(kvs);
      }
      : onPage;
    revision = await rangeAll(client, Buffer.from(p), end, revision, onNodes, pageSize);
  }
  return revision!;
}

/**
 * The keys from starts[0] to `end` as the ranges [starts[i], starts[i + 1]), all read at once at
 * `revision`. After one fails, the others hand in no more pages; the first failure is thrown
 * once all have stopped.
 */
async function rangesAll(client: Etcd3, starts: readonly Buffer[], end: Buffer, revision: string, onPage: (kvs: readonly RawKeyValue[]) => void, pageSize: number): Promise<void> {
  let failed = false;
  const settled = await Promise.allSettled(starts.map((start, i) =>
    rangeAll(client, start, starts[i + 1] ?? end, revision, (kvs) => {
      if (!failed) onPage(kvs);
    }, pageSize).catch((e: unknown) => {
      failed = true;
      throw e;
    })));
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

const NODES_PREFIX = `${CALICO_V3_PREFIX}nodes/`;
const HOST_PREFIX = `${CALICO_IPAM_PREFIX}host/`;
/** Key ranges the affinities are read as at once. */
const STREAMS = 3;

export interface EtcdSourceOptions extends EtcdConnection, DatastoreHooks {
  /** Keys per range request (default PAGE; tests use a few to see the read page by page). */
  pageSize?: number;
}

/** Keys per range request: 100k affinities are ~10 MB, over gRPC's 4 MiB message limit in one piece. */
const PAGE = 5000;

/**
 * Every key in [start, end), page by page (each handed to `onPage`), all at one revision (the
 * first page's, unless given): a consistent read of any size. Returns the revision. The pages
 * come through etcd-range.ts (keys and values are views of the message: copy what is kept).
 */
export async function rangeAll(client: Etcd3, start: Buffer, rangeEnd: Buffer, revision: string | undefined, onPage: (kvs: readonly RawKeyValue[]) => void, pageSize = PAGE): Promise<string> {
  const page = (key: Buffer, rev: string | undefined) => rawRange(client, { key, rangeEnd, limit: pageSize, ...(rev !== undefined ? { revision: rev } : {}) });
  let rev = revision;
  let next: Promise<RawRangeResponse> | undefined = page(start, rev);
  while (next) {
    const res: RawRangeResponse = await next;
    rev ??= res.revision;
    // The next page is asked for before this one is handed over: etcd reads it meanwhile.
    next = res.more && res.kvs.length > 0 ? page(Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]), rev) : undefined;
    onPage(res.kvs);
  }
  return rev!;
}

/** Calico's CIDRToName: '.', ':' and '/' become '-'. */
const cidrToName = (cidr: string) => cidr.replace(/[.:/]/g, '-');

/**
 * Whether `<node>-<digits and dashes, ending in a digit>` is a valid resource name (NAME_RE): the
 * suffix only extends the last label with characters a label may hold and ends it with a digit,
 * so `<node>-0` answers for every such suffix. Cached per node (100k keys name ~5k nodes).
 */
const suffixOk = new Map<string, boolean>();
function nodeNameTakesSuffix(node: string): boolean {
  let ok = suffixOk.get(node);
  if (ok === undefined) {
    if (suffixOk.size > 65536) suffixOk.clear();
    suffixOk.set(node, (ok = NAME_RE.test(`${node}-0`)));
  }
  return ok;
}

/** What calico-node writes as an affinity's value (3.30+); older versions write ''. */
const CONFIRMED_VALUES = new Set(['', '{"state":"confirmed","deleted":false}', '{"state":"confirmed"}']);
const CONFIRMED_BYTES = [...CONFIRMED_VALUES].map((text) => ({ text, bytes: Buffer.from(text) }));

/** A value as text: one of the confirmed values (nearly every affinity) without decoding it again. */
function valueText(value: Buffer): string {
  for (const c of CONFIRMED_BYTES) if (c.bytes.equals(value)) return c.text;
  return value.toString();
}

/** An affinity key that passes every rule of its own, in parts (keyedBlockOf's key rules). */
interface BlockKey {
  readonly node: string;
  /** The CIDR of `a.b.c.d-nn` as the key writes it (strict: the canonical form, so blockNameOf writes it back the same). */
  readonly addr: number;
  readonly prefix: number;
  /** `/calico/ipam/v2/host/<node>/ipv4/block/<encoded>`: the store keys it by its name (storeKeyOf). */
  readonly canonical: boolean;
}

/**
 * The rules of keyedBlockOf that depend on the key alone: an IPv4 affinity key with a well-formed
 * CIDR clear of the reserved ranges and a node name that takes the block's suffix. Read in place:
 * no regex, no split (100k keys at start).
 */
function blockKeyOf(key: string): BlockKey | undefined {
  if (!key.startsWith(CALICO_IPAM_PREFIX)) return undefined;
  // <host|virtual>/<node>/ipv4/block/<a.b.c.d-nn> or <node>/ipv4/block/… (AFFINITY)
  const rest = CALICO_IPAM_PREFIX.length;
  const s1 = key.indexOf('/', rest);
  const s2 = s1 < 0 ? -1 : key.indexOf('/', s1 + 1);
  const s3 = s2 < 0 ? -1 : key.indexOf('/', s2 + 1);
  if (s3 < 0) return undefined;
  const s4 = key.indexOf('/', s3 + 1);
  let nodeStart = rest;
  let nodeEnd = s1;
  let canonical = false;
  if (s4 >= 0) {
    if (key.indexOf('/', s4 + 1) >= 0) return undefined;
    const type = s1 - rest;
    canonical = type === 4 && key.startsWith('host', rest);
    if (!(canonical || (type === 7 && key.startsWith('virtual', rest)))) return undefined;
    nodeStart = s1 + 1;
    nodeEnd = s2;
  }
  if (nodeEnd === nodeStart || !key.startsWith('/ipv4/block/', nodeEnd)) return undefined;
  const encodedAt = nodeEnd + 12;
  const net = strictIpv4Cidr(key, encodedAt, key.length, 45);
  // Reserved ranges: the store's rules report them (resolveBlock), so the document path takes them.
  if (!net || !clearOfReservedIpv4(net.addr, net.prefix)) return undefined;
  const node = key.slice(nodeStart, nodeEnd);
  if (node.length + 1 + (key.length - encodedAt) > 253 || !nodeNameTakesSuffix(node)) return undefined;
  return { node, addr: net.addr, prefix: net.prefix, canonical };
}

/** The block a value makes of a key that passed blockKeyOf (undefined: the document path reports it). */
function blockOfValue(k: BlockKey, value: string): KeyedBlock | undefined {
  let active = true;
  if (!CONFIRMED_VALUES.has(value)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const { state, deleted } = parsed as { state?: unknown; deleted?: unknown };
    if (state !== undefined && state !== 'confirmed' && state !== 'pending' && state !== 'pendingDeletion') return undefined;
    active = (state ?? 'confirmed') === 'confirmed' && deleted !== true;
  }
  return { named: k.canonical, node: k.node, addr: k.addr, prefix: k.prefix, active };
}

/**
 * An IPv4 affinity key whose document would pass every rule of its own (a well-formed CIDR, a
 * valid name, a value that is clearly confirmed or parses to known fields) → the block, without
 * building the document (`documentOf` does for everything else, so diagnostics are the same).
 */
export function keyedBlockOf(key: string, value: string): KeyedBlock | undefined {
  const k = blockKeyOf(key);
  return k && blockOfValue(k, value);
}

/**
 * The store's key for an etcd key (a function of the key alone, so a put and a later delete meet).
 * An affinity under the usual layout is keyed by its name, which is what KDD calls the object and
 * says node and CIDR in ~40 bytes: 100k blocks keep their names, not ~70-byte keys as well
 * (etcdKeyOf rebuilds the key for diagnostics and the source's hooks). Every other key is itself:
 * etcd keys begin with '/', names never do.
 */
export function storeKeyOf(key: string): string {
  return storeKeyFor(key, blockKeyOf(key));
}

/** storeKeyOf with the key already read (the source reads it once per put). */
function storeKeyFor(key: string, k: BlockKey | undefined): string {
  return k?.canonical ? blockNameOf(k.node, k.addr, k.prefix) : key;
}

/** storeKeyOf's inverse: a name (`<node>-a-b-c-d-nn`) → its key under the usual layout. */
export function etcdKeyOf(storeKey: string): string {
  if (storeKey.startsWith('/')) return storeKey;
  let i = storeKey.length;
  for (let d = 0; d < 5; d++) i = storeKey.lastIndexOf('-', i - 1);
  const [a, b, c, e, prefix] = storeKey.slice(i + 1).split('-');
  return `${CALICO_IPAM_PREFIX}host/${storeKey.slice(0, i)}/ipv4/block/${a}.${b}.${c}.${e}-${prefix}`;
}

/** The datastore as the store sees it: one source, each object keyed by storeKeyOf. */
export const ETCD_SOURCE: SourceRef = { id: 'etcdv3', order: [1, 'etcdv3'], fileOf: etcdKeyOf };

/** An etcd key and value → the document Calico's value stands for (undefined: not ours). */
export function documentOf(key: string, value: string): { document?: RawDocument; error?: string } {
  const loc = { file: key, document: 1, prefix: [] as (string | number)[] };
  if (key.startsWith(CALICO_V3_PREFIX)) {
    const [plural, name, ...rest] = key.slice(CALICO_V3_PREFIX.length).split('/');
    if (!plural || !name || rest.length > 0 || !(plural in COLLECTIONS)) return {};
    try {
      return { document: { loc, value: JSON.parse(value) as unknown } };
    } catch (e) {
      return { error: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  if (key.startsWith(CALICO_IPAM_PREFIX)) {
    const m = AFFINITY.exec(key) ?? AFFINITY_OLD.exec(key);
    if (!m) return {};
    const [, type, node, version, encoded] = m.length === 5 ? m : [m[0], 'host', m[1], m[2], m[3]];
    if (version !== '4') return {}; // IPv6 blocks: burrow tunnels IPv4 only
    const dash = encoded!.lastIndexOf('-');
    const cidr = dash > 0 ? `${encoded!.slice(0, dash)}/${encoded!.slice(dash + 1)}` : encoded!;
    let parsed: { state?: unknown; deleted?: unknown } = {};
    if (value.trim() !== '') {
      let v: unknown;
      try {
        v = JSON.parse(value);
      } catch (e) {
        return { error: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: `an affinity's value must be a JSON object, not ${value.slice(0, 40)}` };
      parsed = v as typeof parsed;
    }
    const spec: Record<string, unknown> = { node, cidr, state: parsed.state ?? 'confirmed', deleted: parsed.deleted === true ? 'true' : 'false' };
    if (type === 'virtual') spec['type'] = 'virtual';
    return {
      document: {
        loc,
        value: { apiVersion: 'projectcalico.org/v3', kind: 'BlockAffinity', metadata: { name: `${node}-${cidrToName(cidr)}` }, spec },
      },
    };
  }
  return {};
}

export class EtcdSource {
  private readonly client: Etcd3;
  private watchers: Watcher[] = [];
  private closed = false;
  /**
   * Keys reported skipped (onSkipped) and not accepted since. What the store holds is not kept
   * here a second time (100k keys): a relist hands the store the keys it read ('retain').
   */
  private readonly skipped = new Set<string>();
  /** A read has completed: the next one is a relist, compared with the store. */
  private listed = false;
  private backoff: number;
  private retryTimer: NodeJS.Timeout | undefined;
  relists = 0;

  constructor(private readonly opts: EtcdSourceOptions) {
    this.client = etcdClient(opts);
    this.backoff = opts.backoff?.min ?? 200;
  }

  /** The first consistent read (a sink call per page), then the watch. Rejects when etcd cannot be read (having taken back what it handed in). */
  async start(): Promise<void> {
    await this.list();
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const w of this.watchers) void w.cancel().catch(() => undefined);
    this.client.close();
  }

  /** One source for the whole datastore; each key an object of it (diagnostics name the key). */
  private readonly source = ETCD_SOURCE;

  /**
   * Reads every prefix at one revision, replaces what changed, removes what vanished, then watches
   * from there. The first read hands each page to the sink as it arrives, so the engine takes in
   * one page while etcd reads the next (a cold start's store work fills the time spent waiting for
   * etcd); a read that fails part way takes back what it handed in. A relist is handed over whole,
   * ending with the keys it read: the store drops what vanished.
   */
  private async list(): Promise<void> {
    let events: SourceEvent[] = [];
    // What vanished since the last read: only a relist has anything to compare with.
    const seen = this.listed ? new Set<string>() : undefined;
    let handedIn = false;
    let revision: string;
    try {
      revision = await readPrefixes(this.client, (kvs) => {
        for (const kv of kvs) {
          const storeKey = this.eventFor(kv.key.toString(), valueText(kv.value), events);
          if (storeKey !== undefined) seen?.add(storeKey);
        }
        if (!seen && events.length > 0) {
          handedIn = true;
          this.opts.sink(events);
          events = [];
        }
      }, this.opts.pageSize);
    } catch (e) {
      if (handedIn) {
        // Nothing of this read stays: its objects go, and none of its keys is reported skipped.
        this.opts.sink([{ type: 'remove', source: this.source }]);
        for (const key of [...this.skipped]) this.accept(key);
      }
      throw e;
    }
    if (seen) {
      events.push({ type: 'retain', source: this.source, keys: seen });
      for (const key of [...this.skipped]) if (!seen.has(storeKeyOf(key))) this.accept(key);
    }
    this.listed = true;
    this.relists++;
    // A first read handed its pages in as they came; one with no keys at all still hands in once.
    if (seen || !handedIn) this.opts.sink(events);
    this.opts.onConnection?.(true);
    await this.watch(revision);
  }

  /** The event for a put (none for a key that is not ours); returns the store key it went under. */
  private eventFor(key: string, value: string, events: SourceEvent[]): string | undefined {
    const k = blockKeyOf(key);
    const storeKey = storeKeyFor(key, k);
    const block = k && blockOfValue(k, value);
    if (block) {
      this.accept(key);
      events.push({ type: 'block', source: this.source, key: storeKey, block });
      return storeKey;
    }
    const { document, error } = documentOf(key, value);
    if (error) {
      // Skipped, not gone: a relist keeps its last good version.
      this.skip(key, [{ severity: 'error', file: key, document: 1, kind: '', name: '', path: '', rule: 'etcd-value', message: error }]);
      return storeKey;
    }
    if (!document) return undefined;
    // The store checks the object's own rules as it takes it in (no second classification here).
    events.push({ type: 'upsert', source: this.source, key: storeKey, document, rejected: (errors) => this.skip(key, errors), accepted: () => this.accept(key) });
    return storeKey;
  }

  /** The key's object is in the store as it is now (or gone): any skip report of it is over. */
  private accept(key: string): void {
    this.skipped.delete(key);
    this.opts.onAccepted?.(key);
  }

  private skip(key: string, diagnostics: readonly ConfigDiagnostic[]): void {
    this.skipped.add(key);
    this.opts.log?.warn({ key, errors: diagnostics.map((d) => d.message).slice(0, 5) }, 'datastore object fails its own rules: skipped (its last good version, if any, stays)');
    this.opts.onSkipped?.(key, diagnostics);
  }

  private async watch(revision: string): Promise<void> {
    if (this.closed) return;
    const next = String(BigInt(revision) + 1n);
    const watchers: Watcher[] = [];
    this.watchers = watchers;
    const restart = (why: string) => {
      if (this.closed || this.watchers !== watchers) return;
      this.watchers = [];
      for (const w of watchers) void w.cancel().catch(() => undefined);
      this.opts.onConnection?.(false, why);
      this.opts.log?.warn({ why, retryInMs: this.backoff }, 'etcd watch lost: relisting');
      this.retry();
    };
    const connected: Promise<void>[] = [];
    for (const p of ETCD_PREFIXES) {
      // Handlers go on before the watch is created: no event between the read and the watch is missed.
      const watcher = this.client.watch().prefix(p).startRevision(next).watcher();
      watchers.push(watcher);
      watcher.on('data', (res) => {
        if (this.watchers !== watchers) return;
        const events: SourceEvent[] = [];
        for (const e of res.events) {
          const key = e.kv.key.toString();
          if (e.type === 'Delete') {
            // A key the store never took (not ours, or skipped) is a no-op there.
            this.accept(key);
            events.push({ type: 'delete', source: this.source, key: storeKeyOf(key) });
          } else {
            this.eventFor(key, e.kv.value.toString(), events);
          }
        }
        if (events.length > 0) this.opts.sink(events);
      });
      watcher.on('error', (e) => restart(e.message));
      watcher.on('disconnected', (e) => restart(`disconnected: ${e.message}`));
      connected.push(new Promise((resolve) => watcher.once('connected', () => resolve())));
    }
    await Promise.race([Promise.all(connected), new Promise((r) => setTimeout(r, 5000))]);
    if (this.closed) {
      for (const w of watchers) await w.cancel().catch(() => undefined);
      return;
    }
    this.backoff = this.opts.backoff?.min ?? 200;
  }

  private retry(): void {
    if (this.closed) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.backoff?.max ?? 10_000);
    this.retryTimer = setTimeout(() => {
      this.list().catch((e: unknown) => {
        this.opts.log?.warn({ err: e instanceof Error ? e.message : String(e), retryInMs: this.backoff }, 'etcd relist failed');
        this.opts.onConnection?.(false, e instanceof Error ? e.message : String(e));
        this.retry();
      });
    }, delay);
  }
}

/**
 * One consistent read of Calico's etcd (the prefixes above, at one revision) as manifest sources
 * for the one-shot path (`agentctl validate|compile|plan|apply --datastore etcdv3`): each key is
 * a "file" whose text is the document's JSON (a value that is not JSON is passed as it is, so
 * the parser reports it under its key).
 */
export async function readEtcdManifests(connection: EtcdConnection): Promise<{ file: string; text: string }[]> {
  const client = etcdClient(connection);
  try {
    const out: { file: string; text: string }[] = [];
    await readPrefixes(client, (kvs) => {
      for (const kv of kvs) {
        const key = kv.key.toString();
        const value = kv.value.toString();
        const { document, error } = documentOf(key, value);
        if (document) out.push({ file: key, text: JSON.stringify(document.value) });
        else if (error) out.push({ file: key, text: value });
      }
    });
    return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  } finally {
    client.close();
  }
}
