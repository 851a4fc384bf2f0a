/**
 * The incremental control plane of one node (docs/control-plane.md): events in, deltas out.
 *
 *   apply(events)   sources' events → store (validation through indexes) → derived state; only
 *                   the affected route keys are recomputed and queued
 *   flush(target)   when the model is valid: writes the queued changes, make-before-break, in
 *                   the reconciler's order (peers, config, routes set in one batch, kernel routes
 *                   in one `ip -batch`, nft only when the NAT set changed, routes deleted, peers
 *                   deleted); invalid input flushes nothing and the datapath keeps the last good state
 *   adopt(target)   reads what the node holds (maps, proto-211 routes, nft) as the applied state,
 *                   so a restarted agent writes only what differs
 *   resync(target)  drift repair without re-parsing anything: compares the node's maps, kernel
 *                   routes and nft against the applied state in slices, queues what drifted
 *
 * The applied state (what was last written) is kept as compact as the desired one: encoded
 * bytes in PackedTables keyed by packed route keys.
 */
import { setImmediate as yieldToEvents } from 'node:timers/promises';

import { burrowRoute, BurrowMode, BurrowRouteFlag, type BurrowConfig, type BurrowPeer } from '../bpf/index.js';
import type { DecapSourceCheck, NatRule, TunnelPeer } from '../compile/types.js';
import { compileDiagnostic } from '../compile/options.js';
import { compareDiagnostics, suggest, type ConfigDiagnostic } from '../config/diagnostics.js';
import type { KernelRoute } from '../agent/kernel-routes.js';
import { peerValueOf } from '../agent/map-entries.js';
import { nftFingerprints, type TunnelGuard } from '../agent/nat.js';
import { guardOf, kernelRouteSatisfies, planConfig } from '../agent/plan.js';
import { ReconcileApplyError, ReconcileRefusedError, type ApplyStepName, type AppliedStep, type KernelState, type ReconcileMap } from '../agent/reconcile.js';
import { DerivedState, ROUTE_KIND_BLOCK, ROUTE_KIND_POOL, type UplinkFacts } from './derive.js';
import { poolEncap } from '../compile/encap.js';
import { TUNNEL_GATEWAY } from '../compile/routes.js';
import type { SourceEvent } from './events.js';
import { ipv4Number, ipv4Text, maskNumber, packRouteKey, PackedTable, routeKeyAddr, routeKeyPrefix, routeKeyText } from './packed-table.js';
import { KernelRouteTable } from './kernel-table.js';
import { ResourceStore, type PoolView } from './store.js';

/** The `routes` map as raw bytes: the engine writes encoded entries without decoding them. */
export interface RawRouteMap {
  readonly maxEntries: number;
  /** Every entry, a batch at a time: `count` 8-byte burrow_route_keys and values end to end (buffers reused). */
  scan(each: (keys: Buffer, values: Buffer, count: number) => void): void;
  setMany(keys: Buffer, values: Buffer, count: number): void;
  deleteMany(keys: Buffer, count: number): void;
}

export interface EngineTarget {
  routes: RawRouteMap;
  peers: ReconcileMap<string, BurrowPeer>;
  config: ReconcileMap<number, BurrowConfig>;
  /** Kernel routes and nft; null: the maps alone (tests, agentctl --no-kernel). */
  kernel: KernelState | null;
}

export interface EngineOptions {
  localNode: string;
  tunnelDevice?: string;
  ttl?: number;
  decapSourceCheck?: DecapSourceCheck;
}

export interface FlushOptions {
  uplink?: UplinkFacts;
  /** Peers to write instead of the derived ones (a tunnel-mode switch widens them for a while). */
  peers?: readonly TunnelPeer[];
  /** Write the peers only and keep everything else queued (the switch's accepting phase). */
  peersOnly?: boolean;
}

export interface FlushResult {
  /** False when the model is invalid: nothing was written. */
  applied: boolean;
  changes: number;
  steps: AppliedStep[];
  counts: { routesSet: number; routesDeleted: number; peersSet: number; peersDeleted: number; config: number; kernelRoutes: number; nat: number };
}

export interface DriftReport {
  routes: number;
  peers: number;
  config: number;
  kernelRoutes: number;
  nat: number;
}

const ROUTE_KEY_SIZE = 8;
const ROUTE_VALUE_SIZE = burrowRoute.size;
const MODE_NAMES = new Map<number, 'none' | 'ipip' | 'vxlan'>(Object.entries(BurrowMode).map(([k, v]) => [v, k as 'none' | 'ipip' | 'vxlan']));
const SLICE = 16384;
/** Kernel routes per `ip -batch` run. */
const KERNEL_CHUNK = 32768;

/** burrow_route_key bytes: prefixlen (host order, little-endian here) then the address in network order. */
export function writeRouteKey(key: number, buf: Buffer, off: number): void {
  buf.writeUInt32LE(routeKeyPrefix(key), off);
  buf.writeUInt32BE(routeKeyAddr(key), off + 4);
}

/** The entry's identity as the LPM trie sees it (host bits ignored). */
export function readRouteKey(buf: Buffer, off = 0): number {
  const prefix = Math.min(32, buf.readUInt32LE(off));
  return packRouteKey(maskNumber(buf.readUInt32BE(off + 4), prefix), prefix);
}

export class Engine {
  readonly store = new ResourceStore();
  readonly derived: DerivedState;
  private readonly appliedRoutes = new PackedTable(ROUTE_VALUE_SIZE, 4096);
  private readonly appliedPeers = new Map<string, BurrowPeer>();
  private appliedConfig: BurrowConfig | null = null;
  private readonly appliedKernel = new KernelRouteTable();
  private appliedNat: string[] | null = null;
  private pendingKernel = new Set<number>();
  private kernelShape = '';
  private natChecked = false;
  /** The tunnel guard's VXLAN port when the nft table was last checked (a change re-checks it). */
  private natGuardPort = -1;
  /** How the last apply() split between the store (parse, validate) and the derived state. */
  lastApply = { storeMs: 0, deriveMs: 0 };

  constructor(readonly options: EngineOptions) {
    this.derived = new DerivedState(this.store, options.localNode, {
      ...(options.tunnelDevice ? { tunnelDevice: options.tunnelDevice } : {}),
      ...(options.ttl ? { ttl: options.ttl } : {}),
      ...(options.decapSourceCheck ? { decapSourceCheck: options.decapSourceCheck } : {}),
    });
  }

  /** Applies events to the store and the derived state; returns how many route keys now wait for a flush. */
  apply(events: readonly SourceEvent[]): number {
    const t0 = performance.now();
    const changes = this.store.apply(events);
    const t1 = performance.now();
    this.derived.update(changes);
    this.lastApply = { storeMs: t1 - t0, deriveMs: performance.now() - t1 };
    if (changes.pools) this.natChecked = false;
    return this.derived.pendingRoutes.size;
  }

  /** Valid: no error anywhere and the local node is defined. */
  get valid(): boolean {
    return this.store.book.errors === 0 && this.derived.local !== undefined;
  }

  /** Every error, in load order (sources, then documents); the unknown local node last. */
  errors(): ConfigDiagnostic[] {
    const out = [...this.store.book.all()].filter((d) => d.severity === 'error');
    out.sort((a, b) => compareLoc(a, b));
    if (this.store.book.errors === 0 && this.derived.local === undefined) {
      const names = [...this.store.nodes()].map((n) => n.name).sort();
      const guess = suggest(this.options.localNode, names);
      out.push(compileDiagnostic('', 'unknown-local-node',
        `local node '${this.options.localNode}' is not defined by any Node manifest${guess ? `; did you mean '${guess}'?` : `; nodes: ${names.join(', ') || 'none'}`}`,
        'Node', this.options.localNode));
    }
    return out;
  }

  /** The model's warnings and compile's (node config, off-subnet direct routes), sorted. */
  warnings(uplink?: UplinkFacts): ConfigDiagnostic[] {
    const out = [...this.store.book.all()].filter((d) => d.severity === 'warning');
    for (const w of this.derived.nodeConfig(uplink)?.warnings ?? []) out.push(w);
    for (const w of this.derived.routeWarnings()) out.push(w);
    return out.sort(compareDiagnostics);
  }

  // ── the desired state as plain values (tests, agentctl) ────────────────────────────────────

  private poolKeys: { pools: readonly PoolView[]; keys: Set<number> } | undefined;

  /** Every pool's CIDR as a route key (recomputed when the store's pools change). */
  private poolRouteKeys(): Set<number> {
    const pools = this.store.pools;
    if (this.poolKeys?.pools !== pools) this.poolKeys = { pools, keys: new Set(pools.map((p) => packRouteKey(p.net.addr, p.net.prefix))) };
    return this.poolKeys.keys;
  }

  /**
   * False when the route (its key and head(): tag, mode, flags) certainly wants no kernel route;
   * most keys — encapsulated blocks, which their pool's route carries — are decided here.
   */
  private mayWantKernelRoute(key: number, head: number): boolean {
    if (head < 0) return false;
    const tag = head >>> 16;
    if (tag === ROUTE_KIND_POOL) return true;
    if (tag !== ROUTE_KIND_BLOCK) return false;
    if ((MODE_NAMES.get(head & 0xff) ?? 'none') === 'none') return ((head >>> 8) & BurrowRouteFlag.same_subnet) !== 0;
    // An encapsulated block makes a route only with its pool's very CIDR.
    return this.poolRouteKeys().has(key);
  }

  /** The kernel route a desired route key wants, or undefined (compile's compileKernelRoutes rules). */
  kernelRouteFor(key: number, uplink: UplinkFacts | undefined, cfg = this.derived.nodeConfig(uplink)): KernelRoute | undefined {
    // Most keys (encapsulated blocks: their pool's route carries them) want nothing: decided from
    // the tag and the first two bytes (mode, flags) in one lookup, before any view or string is made.
    const head = this.derived.routes.head(key);
    if (!this.mayWantKernelRoute(key, head)) return undefined;
    const tag = head >>> 16;
    const mode = MODE_NAMES.get(head & 0xff) ?? 'none';
    const bytes = this.derived.routes.get(key);
    const local = this.derived.local;
    if (!bytes || !cfg || !local) return undefined;
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, ROUTE_VALUE_SIZE);
    if (tag === ROUTE_KIND_POOL || mode !== 'none') {
      // One route per encapsulating pool (compile's compileKernelRoutes): made by the pool's own
      // entry, or by a block with the pool's very CIDR.
      const view = this.store.pools[buf.readUInt16LE(2)];
      if (!view || (tag === ROUTE_KIND_BLOCK && (routeKeyAddr(key) !== view.net.addr || routeKeyPrefix(key) !== view.net.prefix))) return undefined;
      const encap = poolEncap(view.pool)?.encap;
      if (!encap) return undefined;
      const dst = routeKeyText(key);
      const src = encap === 'ipip' ? local.ipipTunnelAddr : local.vxlanTunnelAddr;
      return { dst, dev: cfg.node.tunnelDevice, via: TUNNEL_GATEWAY, onlink: true, mtu: cfg.node.tunnelMtu[encap], ...(src !== undefined ? { src } : {}) };
    }
    const remote = ipv4Text(buf.readUInt32BE(4));
    const dst = routeKeyText(key);
    if ((buf[1]! & BurrowRouteFlag.same_subnet) !== 0) return { dst, via: remote, ...(uplink?.name ? { dev: uplink.name } : {}) };
    return undefined;
  }

  /** Every desired kernel route (tests, agentctl). */
  kernelRoutes(uplink: UplinkFacts | undefined): KernelRoute[] {
    const cfg = this.derived.nodeConfig(uplink);
    const out: KernelRoute[] = [];
    for (const key of this.derived.routes.keys()) {
      const r = this.kernelRouteFor(key, uplink, cfg);
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * The routes that tell inner senders a learned path MTU (src/agent/pmtu.ts): for each remote in
   * `learned` (peer → path MTU), one route per tunnelled block of that peer through the tunnel
   * device, with the inner MTU (path − 20 IPIP, − 50 VXLAN), when that is below the tunnel MTU
   * the pool's route already carries.
   */
  pathMtuRoutes(learned: ReadonlyMap<string, number>, uplink: UplinkFacts | undefined): Array<KernelRoute & { mtu: number }> {
    const cfg = this.derived.nodeConfig(uplink);
    const local = this.derived.local;
    if (!cfg || !local || learned.size === 0) return [];
    const out: Array<KernelRoute & { mtu: number }> = [];
    for (const key of this.derived.routes.keys()) {
      if (this.derived.routes.tag(key) !== ROUTE_KIND_BLOCK) continue;
      const bytes = this.derived.routes.get(key);
      if (!bytes) continue;
      const mode = MODE_NAMES.get(bytes[0]!);
      if (mode !== 'ipip' && mode !== 'vxlan') continue;
      const remote = ipv4Text(Buffer.from(bytes.buffer, bytes.byteOffset, ROUTE_VALUE_SIZE).readUInt32BE(4));
      const path = learned.get(remote);
      if (path === undefined) continue;
      const mtu = path - (mode === 'ipip' ? 20 : 50);
      if (mtu >= cfg.node.tunnelMtu[mode]) continue;
      const src = mode === 'ipip' ? local.ipipTunnelAddr : local.vxlanTunnelAddr;
      out.push({ dst: routeKeyText(key), dev: cfg.node.tunnelDevice, via: TUNNEL_GATEWAY, onlink: true, mtu, mtuLock: true, ...(src !== undefined ? { src } : {}) });
    }
    return out;
  }

  // ── writing ────────────────────────────────────────────────────────────────────────────────

  /** Reads what the node holds as the applied state; everything desired is queued against it. */
  async adopt(target: EngineTarget): Promise<void> {
    const actual = await readActual(target, true);
    this.appliedRoutes.clear();
    target.routes.scan((keys, values, count) => {
      for (let i = 0; i < count; i++) this.appliedRoutes.set(readRouteKey(keys, i * ROUTE_KEY_SIZE), values, i * ROUTE_VALUE_SIZE);
    });
    this.appliedPeers.clear();
    for (const [k, v] of actual.peers) this.appliedPeers.set(k, v);
    this.appliedConfig = actual.config;
    this.appliedKernel.clear();
    for (const [k, r] of actual.kernel ?? []) this.appliedKernel.set(k, r);
    this.appliedNat = actual.nat;
    this.natChecked = false;
    this.kernelShape = '';
    for (const k of this.appliedRoutes.keys()) this.derived.pendingRoutes.add(k);
    for (const k of this.derived.routes.keys()) this.derived.pendingRoutes.add(k);
  }

  /**
   * Drift repair: compares the node against the applied state (no parsing, no compiling), takes
   * the node's word for what drifted and queues those keys; the next flush repairs them.
   * `kernel: false` compares the maps alone (kernel routes and nft are checked less often: agentd's
   * --route-refresh, as Felix's routeRefreshInterval).
   */
  async resync(target: EngineTarget, opts: { kernel?: boolean } = {}): Promise<DriftReport> {
    const actual = await readActual(target, opts.kernel ?? true);
    const drift: DriftReport = { routes: 0, peers: 0, config: 0, kernelRoutes: 0, nat: 0 };
    // Routes: compared in place, batch by batch, against the bytes last written.
    const seen = new Float64Array(Math.max(1, this.appliedRoutes.size + 1024));
    let seenCount = 0;
    let present = 0;
    let extra: number[] = [];
    target.routes.scan((keys, values, count) => {
      for (let i = 0; i < count; i++) {
        const key = readRouteKey(keys, i * ROUTE_KEY_SIZE);
        if (this.appliedRoutes.has(key)) {
          present++;
          if (seenCount < seen.length) seen[seenCount++] = key;
          if (this.appliedRoutes.equalsBytes(key, values, i * ROUTE_VALUE_SIZE)) continue;
        } else {
          extra.push(key);
        }
        this.appliedRoutes.set(key, values, i * ROUTE_VALUE_SIZE);
        drift.routes++;
        this.derived.pendingRoutes.add(key);
      }
    });
    const expected = this.appliedRoutes.size - extra.length;
    if (present !== expected) {
      // Entries were removed behind our back: find which.
      const there = new Set<number>(seen.subarray(0, seenCount));
      for (const k of extra) there.add(k);
      for (const key of [...this.appliedRoutes.keys()]) {
        if (!there.has(key)) { this.appliedRoutes.delete(key); drift.routes++; this.derived.pendingRoutes.add(key); }
      }
    }
    extra = [];
    await yieldToEvents();
    let n = 0;
    for (const [address, before] of this.appliedPeers) {
      const now = actual.peers.get(address);
      if (!now || now.modes !== before.modes || now.vni !== before.vni) drift.peers++;
    }
    for (const address of actual.peers.keys()) if (!this.appliedPeers.has(address)) drift.peers++;
    if (drift.peers > 0) {
      this.appliedPeers.clear();
      for (const [k, v] of actual.peers) this.appliedPeers.set(k, v);
    }
    if (this.appliedConfig === null ? actual.config !== null : planConfig(actual.config, this.appliedConfig) !== null) {
      drift.config = 1;
      this.appliedConfig = actual.config;
    }
    if (actual.kernel) {
      n = 0;
      for (const [key, route] of actual.kernel) {
        const before = this.appliedKernel.get(key);
        if (!before || !kernelRouteSatisfies(route, before) || !kernelRouteSatisfies(before, route)) {
          drift.kernelRoutes++;
          this.appliedKernel.set(key, route);
          this.pendingKernel.add(key);
        }
        if (++n % SLICE === 0) await yieldToEvents();
      }
      for (const key of [...this.appliedKernel.keys()]) {
        if (!actual.kernel.has(key)) { this.appliedKernel.delete(key); drift.kernelRoutes++; this.pendingKernel.add(key); }
      }
    }
    if (actual.nat !== null && this.appliedNat !== null && actual.nat.join('\n') !== this.appliedNat.join('\n')) {
      drift.nat = 1;
      this.appliedNat = actual.nat;
      this.natChecked = false;
    }
    return drift;
  }

  /** Writes what is queued (see the file comment); nothing when the model is invalid. */
  async flush(target: EngineTarget, opts: FlushOptions = {}): Promise<FlushResult> {
    const counts = { routesSet: 0, routesDeleted: 0, peersSet: 0, peersDeleted: 0, config: 0, kernelRoutes: 0, nat: 0 };
    if (!this.valid) return { applied: false, changes: 0, steps: [], counts };
    const cfg = this.derived.nodeConfig(opts.uplink)!;
    const local = this.derived.local!;
    // What every kernel route depends on beyond its own entry (the pools' tunnel: a pool entry's bytes do not say it).
    const poolTunnels = this.store.pools.map((p) => `${p.pool.name}=${poolEncap(p.pool)?.encap ?? '-'}`).join(',');
    const kernelShape = `${cfg.node.tunnelDevice}|${cfg.node.tunnelMtu.ipip}|${cfg.node.tunnelMtu.vxlan}|${local.ipipTunnelAddr ?? ''}|${local.vxlanTunnelAddr ?? ''}|${opts.uplink?.name ?? ''}|${poolTunnels}`;

    // Peers: few (one per node), compared whole.
    const wantPeers = new Map<string, BurrowPeer>();
    for (const p of opts.peers ?? this.derived.peers.values()) wantPeers.set(p.address, peerValueOf(p));
    const peerSets: [string, BurrowPeer][] = [];
    for (const [address, value] of wantPeers) {
      const before = this.appliedPeers.get(address);
      if (!before || before.modes !== value.modes || before.vni !== value.vni) peerSets.push([address, value]);
    }
    const peerDeletes = [...this.appliedPeers.keys()].filter((a) => !wantPeers.has(a));

    const peersOnly = opts.peersOnly === true;
    const configChange = peersOnly ? null : planConfig(this.appliedConfig, cfg.config);

    // Routes: only the queued keys.
    const routeSets: number[] = [];
    const routeDeletes: number[] = [];
    // The batch is encoded while comparing: keys and values end to end, ready for the kernel.
    let setValues = Buffer.alloc(0);
    if (!peersOnly) {
      const kernelToo = target.kernel !== null;
      setValues = Buffer.allocUnsafe(this.derived.pendingRoutes.size * ROUTE_VALUE_SIZE);
      // When every kernel route is re-derived below (the shape changed), the keys go in there.
      const queueKernel = kernelToo && kernelShape === this.kernelShape;
      for (const key of this.derived.pendingRoutes) {
        if (queueKernel) this.pendingKernel.add(key);
        const c = this.derived.routes.compareInto(this.appliedRoutes, key, setValues, routeSets.length * ROUTE_VALUE_SIZE);
        if (c === 'differs') routeSets.push(key);
        else if (c === 'gone') routeDeletes.push(key);
      }
    }

    // Kernel routes: the queued keys, or all when what every route carries changed (device, MTU, src).
    const kernel = target.kernel;
    // Keys only: the routes themselves are built a chunk at a time when written (100k route
    // objects and their `ip -batch` text at once cost ~90 MB at start).
    const kernelReplace: number[] = [];
    const kernelRemove: number[] = [];
    let natRules: typeof this.derived.nat | null = null;
    const guard = guardOf(cfg.node);
    if (kernel && !peersOnly) {
      if (kernelShape !== this.kernelShape) {
        // Every route again (the first flush: 100k keys); most are decided without a lookup.
        this.derived.routes.forEachHead((k, head) => {
          if (this.mayWantKernelRoute(k, head)) this.pendingKernel.add(k);
        });
        for (const k of this.appliedKernel.keys()) this.pendingKernel.add(k);
      }
      for (const key of this.pendingKernel) {
        const want = this.kernelRouteFor(key, opts.uplink, cfg);
        const have = this.appliedKernel.get(key);
        if (want && (!have || !kernelRouteSatisfies(have, want))) kernelReplace.push(key);
        else if (!want && have) kernelRemove.push(key);
      }
      if (!this.natChecked || this.appliedNat === null || guard.vxlanPort !== this.natGuardPort) {
        const want = nftFingerprints(this.derived.nat, guard);
        const have = this.appliedNat ?? [];
        if (this.appliedNat === null || want.join('\n') !== have.join('\n')) natRules = this.derived.nat;
      }
    }

    // Nothing is written unless all of it fits.
    let added = 0;
    for (const k of routeSets) if (!this.appliedRoutes.has(k)) added++;
    const routeCount = this.appliedRoutes.size + added - routeDeletes.length;
    if (this.derived.routes.size > target.routes.maxEntries) {
      throw new ReconcileRefusedError(`${this.derived.routes.size} routes wanted but the routes map holds at most ${target.routes.maxEntries}; nothing was changed`);
    }
    if (wantPeers.size > target.peers.info.maxEntries) {
      throw new ReconcileRefusedError(`${wantPeers.size} peers wanted but the peers map holds at most ${target.peers.info.maxEntries}; nothing was changed`);
    }
    const routesFirst = routeCount > target.routes.maxEntries;
    const peersFirst = this.appliedPeers.size + peerSets.length > target.peers.info.maxEntries;

    // This flush owns what is queued now. Events applied while it awaits the kernel (a datastore
    // watch does not wait) queue into fresh sets for the next flush instead of being cleared
    // unwritten; on failure what was taken goes back.
    const takenRoutes = peersOnly ? undefined : this.derived.pendingRoutes;
    if (takenRoutes) this.derived.pendingRoutes = new Set();
    const takenKernel = kernel && !peersOnly ? this.pendingKernel : undefined;
    if (takenKernel) this.pendingKernel = new Set();
    const giveBack = () => {
      if (takenRoutes) for (const k of takenRoutes) this.derived.pendingRoutes.add(k);
      if (takenKernel) for (const k of takenKernel) this.pendingKernel.add(k);
    };
    try {
      return await this.write(target, opts, cfg, { kernelShape, peersFirst, routesFirst, peerSets, peerDeletes, configChange, routeSets, routeDeletes, setValues, kernelReplace, kernelRemove, natRules, guard, counts });
    } catch (e) {
      giveBack();
      throw e;
    }
  }

  private async write(
    target: EngineTarget,
    opts: FlushOptions,
    cfg: NonNullable<ReturnType<DerivedState['nodeConfig']>>,
    w: {
      /** What every kernel route carries (device, MTUs, source addresses, uplink): a change re-derives them all. */
      kernelShape: string;
      peersFirst: boolean; routesFirst: boolean; peerSets: [string, BurrowPeer][]; peerDeletes: string[]; configChange: ReturnType<typeof planConfig>;
      routeSets: number[]; routeDeletes: number[]; setValues: Buffer; kernelReplace: number[]; kernelRemove: number[];
      natRules: NatRule[] | null; guard: TunnelGuard; counts: FlushResult["counts"];
    },
  ): Promise<FlushResult> {
    const { peersFirst, routesFirst, peerSets, peerDeletes, configChange, routeSets, routeDeletes, setValues, kernelReplace, kernelRemove, natRules, guard, counts } = w;
    const peersOnly = opts.peersOnly === true;
    const kernel = target.kernel;

    const steps: AppliedStep[] = [];
    const step = async (name: ApplyStepName, count: number, write: () => unknown): Promise<void> => {
      if (count === 0) return;
      try {
        await write();
      } catch (e) {
        throw new ReconcileApplyError(name, steps, e);
      }
      steps.push({ step: name, count });
    };
    const deletePeers = () => step('peers.delete', peerDeletes.length, () => {
      target.peers.deleteBatch(peerDeletes);
      for (const a of peerDeletes) this.appliedPeers.delete(a);
      counts.peersDeleted = peerDeletes.length;
    });
    const deleteRoutes = () => step('routes.delete', routeDeletes.length, () => {
      const keys = Buffer.alloc(routeDeletes.length * ROUTE_KEY_SIZE);
      routeDeletes.forEach((k, i) => writeRouteKey(k, keys, i * ROUTE_KEY_SIZE));
      target.routes.deleteMany(keys, routeDeletes.length);
      for (const k of routeDeletes) this.appliedRoutes.delete(k);
      counts.routesDeleted = routeDeletes.length;
    });

    if (peersFirst) await deletePeers();
    await step('peers.set', peerSets.length, () => {
      target.peers.setBatch(peerSets);
      for (const [a, v] of peerSets) this.appliedPeers.set(a, v);
      counts.peersSet = peerSets.length;
    });
    if (configChange) {
      await step('config.set', 1, () => {
        target.config.set(0, cfg.config);
        this.appliedConfig = cfg.config;
        counts.config = 1;
      });
    }
    if (routesFirst) await deleteRoutes();
    await step('routes.set', routeSets.length, () => {
      const keys = Buffer.alloc(routeSets.length * ROUTE_KEY_SIZE);
      const values = setValues.subarray(0, routeSets.length * ROUTE_VALUE_SIZE);
      routeSets.forEach((k, i) => writeRouteKey(k, keys, i * ROUTE_KEY_SIZE));
      target.routes.setMany(keys, values, routeSets.length);
      routeSets.forEach((k, i) => this.appliedRoutes.set(k, values, i * ROUTE_VALUE_SIZE));
      counts.routesSet = routeSets.length;
    });
    if (kernel && !peersOnly) {
      await step('kernel-routes', kernelReplace.length + kernelRemove.length, async () => {
        // Every replace before any delete (make-before-break), KERNEL_CHUNK routes per `ip -batch`.
        for (let i = 0; i < kernelReplace.length; i += KERNEL_CHUNK) {
          const keys = kernelReplace.slice(i, i + KERNEL_CHUNK);
          const routes = keys.map((k) => this.kernelRouteFor(k, opts.uplink, cfg)!);
          await kernel.applyRoutes(routes, []);
          keys.forEach((k, j) => this.appliedKernel.set(k, routes[j]!));
        }
        for (let i = 0; i < kernelRemove.length; i += KERNEL_CHUNK) {
          const keys = kernelRemove.slice(i, i + KERNEL_CHUNK);
          await kernel.applyRoutes([], keys.map((k) => this.appliedKernel.get(k)!));
          for (const k of keys) this.appliedKernel.delete(k);
        }
        counts.kernelRoutes = kernelReplace.length + kernelRemove.length;
      });
      this.kernelShape = w.kernelShape;
      if (natRules) {
        const rules = natRules;
        await step('nat', Math.max(1, rules.length), async () => {
          await kernel.applyNat(rules.map((r) => ({ sourceCidr: r.sourceCidr, excludeDestinations: [...r.excludeDestinations] })), guard);
          counts.nat = 1;
        });
        this.appliedNat = nftFingerprints(rules, guard);
      }
      this.natChecked = true;
      this.natGuardPort = guard.vxlanPort;
    }
    if (!routesFirst) await deleteRoutes();
    if (!peersFirst) await deletePeers();
    const changes = counts.routesSet + counts.routesDeleted + counts.peersSet + counts.peersDeleted + counts.config + counts.kernelRoutes + counts.nat;
    return { applied: true, changes, steps, counts };
  }

  /** Queued route keys (for metrics and tests). */
  get pending(): number {
    return this.derived.pendingRoutes.size;
  }
}

function keyOfDst(dst: string): number {
  const [addr, len] = dst.split('/');
  const prefix = Number(len ?? 32);
  return packRouteKey(maskNumber(ipv4Number(addr!), prefix), prefix);
}

interface ActualNode {
  peers: Map<string, BurrowPeer>;
  config: BurrowConfig | null;
  kernel: Map<number, KernelRoute> | null;
  nat: string[] | null;
}

/** Peers, config, kernel routes and nft as the node has them (routes are scanned in place by the caller). */
async function readActual(target: EngineTarget, withKernel: boolean): Promise<ActualNode> {
  const peers = new Map<string, BurrowPeer>();
  for (const [k, v] of target.peers.entriesBatch()) peers.set(k, v);
  const config = target.config.get(0);
  const zero = config === undefined || (config.local_ip === '0.0.0.0' && config.uplink_ifindex === 0 && config.vxlan_port === 0 && config.ttl === 0);
  let kernel: Map<number, KernelRoute> | null = null;
  let nat: string[] | null = null;
  if (target.kernel && withKernel) {
    kernel = new Map();
    for (const r of await target.kernel.listRoutes()) kernel.set(keyOfDst(r.dst), r);
    nat = (await target.kernel.natFingerprints()).sort();
  }
  return { peers, config: zero ? null : config, kernel, nat };
}

function compareLoc(a: ConfigDiagnostic, b: ConfigDiagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.document - b.document;
}

