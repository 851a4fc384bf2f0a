/**
 * The derived state of one node, kept up to date from the store's changes
 * (docs/control-plane.md): the desired `routes` entries (encoded burrow_route bytes in a
 * PackedTable), the peers, the NAT rules and the node config, by the same rules as the one-shot
 * compiler (src/compile): each route is computed by the same functions (tunnelModeFor,
 * routeValueOf). A change recomputes only the route keys it can affect:
 *
 *   block added/removed/changed          its CIDR
 *   node changed                         its blocks, its old and new /32, its peer entry (and any other node's on its old address)
 *   pool modes / NAT / disabled changed  that pool's blocks and node addresses; all peers
 *   pool set, CIDRs or VNI changed       everything (rare; ≤ 500 ms at 100k routes)
 *   the local node's address changed     everything
 *
 * Every key whose bytes changed is queued for the next flush (flush.ts).
 */
import { burrowRoute, BurrowMode, BurrowRouteFlag, type BurrowConfig } from '../bpf/index.js';
import { compileNodeConfig } from '../compile/compile.js';
import { tunnelModeFor } from '../compile/encap.js';
import { compileNatRules } from '../compile/nat.js';
import { offSubnetWarning } from '../compile/routes.js';
import { resolveCompileOptions, type CompileOptions } from '../compile/options.js';
import type { NatRule, NodeConfig, TunnelEncap, TunnelMode, TunnelPeer } from '../compile/types.js';
import type { ConfigDiagnostic } from '../config/diagnostics.js';
import type { IPPool, Node } from '../config/model.js';
import { configValueOf, type RuntimeUplink } from '../agent/map-entries.js';
import { ipv4Number, maskNumber, packRouteKey, PackedTable, routeKeyAddr, routeKeyPrefix } from './packed-table.js';
import type { NodeRec, PoolView, ResourceStore, StoreChanges } from './store.js';

export const ROUTE_KIND_BLOCK = 1;
export const ROUTE_KIND_NODE_ADDRESS = 2;
/** One of the local node's blocks (mode none, LOCAL): decap's view of what is ours. */
export const ROUTE_KIND_LOCAL_BLOCK = 3;
/** An IPv4 pool's own CIDR (mode none, IN_POOL, remote 0). */
export const ROUTE_KIND_POOL = 4;

/** The uplink as agentd finds it: what compile options and the config entry need. */
export interface UplinkFacts extends RuntimeUplink {
  readonly name?: string;
}

interface OffSubnet {
  pool: string;
  node: string;
}

export class DerivedState {
  /** Desired `routes` entries: packed key → burrow_route bytes, tagged with their ROUTE_KIND_*. */
  readonly routes = new PackedTable(burrowRoute.size, 4096);
  /** Desired peers by outer address. */
  readonly peers = new Map<string, TunnelPeer>();
  private readonly peerOf = new Map<string, string>();
  nat: NatRule[] = [];
  /** Route keys whose desired entry changed since the last flush. */
  pendingRoutes = new Set<number>();
  /** Unencapsulated blocks of nodes outside our subnet (no kernel route: a warning). */
  private readonly offSubnet = new Map<number, OffSubnet>();
  private poolsBefore: PoolView[] = [];
  private vniBefore = -1;
  private localBefore: Node | undefined;
  private readonly scratch = Buffer.alloc(burrowRoute.size);
  private readonly macBytes = new Map<string, Uint8Array>();

  constructor(
    private readonly store: ResourceStore,
    readonly localName: string,
    private readonly options: Pick<CompileOptions, 'tunnelDevice' | 'ttl' | 'decapSourceCheck'> = {},
  ) {}

  get local(): Node | undefined {
    return this.store.node(this.localName);
  }

  /** The local node's name, prefix and masked network, taken once per update. */
  private localCache: { name: string; prefixLength: number; net: number } | undefined;
  private poolModes = new Map<string, { pool: IPPool; same: TunnelMode; cross: TunnelMode }>();

  /** Recomputes what `changes` can affect. */
  update(changes: StoreChanges): void {
    const local = this.local;
    this.localCache = local ? { name: local.name, prefixLength: local.prefixLength, net: maskNumber(ipv4Number(local.address), local.prefixLength) } : undefined;
    const vni = this.store.felixSettings.vxlanVNI;
    // Each pool's tunnel mode for a same-subnet and a cross-subnet node, once (tunnelModeFor's rule).
    if (changes.pools || this.poolModes.size !== this.store.pools.length) {
      this.poolModes = new Map(this.store.pools.map((p) => [p.pool.name, { pool: p.pool, same: tunnelModeFor(p.pool, true), cross: tunnelModeFor(p.pool, false) }]));
    }
    let all = false;
    let allPeers = false;
    const keys = new Set<number>();
    /** Pools whose blocks are recomputed (a mode, NAT or disabled change). */
    const poolsToRecompute = new Set<string>();
    const peerNodes = new Set<string>();

    if (!sameLocal(this.localBefore, local)) {
      all = true;
      allPeers = true;
    }
    this.localBefore = local;

    if (changes.pools) {
      const before = this.poolsBefore;
      const after = this.store.pools;
      this.nat = compileNatRules({ pools: after.map((p) => p.pool) });
      const structure = (ps: readonly PoolView[]) => ps.map((p) => `${p.pool.name} ${p.pool.cidr} ${p.pool.ipVersion}`).join(',');
      if (structure(before) !== structure(after) || vni !== this.vniBefore) {
        all = true;
        allPeers = true;
      } else {
        for (let i = 0; i < after.length; i++) {
          const a = before[i]!.pool;
          const b = after[i]!.pool;
          if (a.ipipMode === b.ipipMode && a.vxlanMode === b.vxlanMode && a.natOutgoing === b.natOutgoing && a.disabled === b.disabled) continue;
          allPeers ||= a.ipipMode !== b.ipipMode || a.vxlanMode !== b.vxlanMode;
          poolsToRecompute.add(b.name);
          const net = after[i]!.net;
          if (b.ipVersion === 4) keys.add(packRouteKey(net.addr, net.prefix));
          for (const n of this.store.nodes()) {
            const addr = ipv4Number(n.address);
            if (maskNumber(addr, net.prefix) === net.addr) keys.add(packRouteKey(addr, 32));
          }
        }
      }
      this.poolsBefore = after;
      this.vniBefore = vni;
    }

    for (const name of changes.nodes) {
      peerNodes.add(name);
      const before = changes.nodesBefore.get(name);
      if (before) keys.add(packRouteKey(ipv4Number(before.address), 32));
      const now = this.store.node(name);
      if (now) keys.add(packRouteKey(ipv4Number(now.address), 32));
      for (const b of this.store.blocksOf(name)) if (b.addr !== undefined) keys.add(packRouteKey(b.addr, b.prefix));
    }

    if (all) {
      // Everything: every claimed CIDR, every node address, and whatever else was desired.
      for (const k of this.store.claims.keys()) this.recomputeRoute(k);
      for (const addr of this.store.nodesByAddress.keys()) this.recomputeRoute(packRouteKey(addr, 32));
      for (const p of this.store.pools) if (p.pool.ipVersion === 4) this.recomputeRoute(packRouteKey(p.net.addr, p.net.prefix));
      const stale: number[] = [];
      for (const k of this.routes.keys()) {
        if (!this.store.claims.has(k) && !(routeKeyPrefix(k) === 32 && this.store.nodesByAddress.has(routeKeyAddr(k)))) stale.push(k);
      }
      for (const k of stale) this.recomputeRoute(k);
    } else {
      // Straight from the claims (a route is its CIDR's first claimant's): a pool's settings
      // change rarely, and no per-pool set of 100k blocks is kept for it.
      if (poolsToRecompute.size > 0) {
        for (const blk of this.store.claims.firsts()) {
          if (blk.owner !== undefined && blk.addr !== undefined && poolsToRecompute.has(blk.owner)) this.recomputeRoute(packRouteKey(blk.addr, blk.prefix));
        }
      }
      for (const k of changes.blockKeys) this.recomputeRoute(k);
      for (const k of keys) this.recomputeRoute(k);
    }

    if (allPeers) {
      for (const n of this.peerOf.keys()) peerNodes.add(n);
      for (const n of this.store.nodes()) peerNodes.add(n.name);
    }
    for (const name of peerNodes) this.recomputePeer(name);
  }

  /** The IPv4 pool whose CIDR is exactly `key`. */
  private poolAt(key: number): IPPool | undefined {
    for (const p of this.store.pools) {
      if (p.pool.ipVersion === 4 && packRouteKey(p.net.addr, p.net.prefix) === key) return p.pool;
    }
    return undefined;
  }

  private poolContaining(addr: number): PoolView | undefined {
    for (const p of this.store.pools) {
      if (p.pool.ipVersion === 4 && maskNumber(addr, p.net.prefix) === p.net.addr) return p;
    }
    return undefined;
  }


  /**
   * The route for one key, by the rules of src/compile/routes.ts, encoded straight into
   * `this.scratch` as burrow_route bytes (the fields routeValueOf gives; the property test holds
   * them equal): no object per route. Returns the route kind, or 0 for no route.
   */
  private encodeRoute(key: number): number {
    const local = this.localCache;
    if (!local) return 0;
    const addr = routeKeyAddr(key);
    const prefix = routeKeyPrefix(key);
    let kind = 0;
    let holder: NodeRec | undefined;
    let pool: IPPool | undefined;
    if (prefix === 32) {
      holder = this.store.nodesByAddress.get(addr)?.[0];
      pool = holder ? this.poolContaining(addr)?.pool : undefined;
      if (holder && pool) kind = ROUTE_KIND_NODE_ADDRESS;
    }
    let mode: TunnelMode = 'none';
    const block = kind === 0 ? this.store.claims.first(key) : undefined;
    if (block && block.owner !== undefined) {
      pool = this.poolModes.get(block.owner)?.pool;
      holder = this.store.nodeRec(block.node);
      if (!pool || !holder || pool.ipVersion !== 4) return 0;
      kind = block.node === local.name ? ROUTE_KIND_LOCAL_BLOCK : ROUTE_KIND_BLOCK;
    } else if (kind === 0) {
      pool = this.poolAt(key);
      if (!pool) return 0;
      kind = ROUTE_KIND_POOL;
    }
    const sameSubnet = kind !== ROUTE_KIND_POOL && kind !== ROUTE_KIND_LOCAL_BLOCK && maskNumber(holder!.addr, local.prefixLength) === local.net;
    if (kind === ROUTE_KIND_BLOCK) {
      const modes = this.poolModes.get(pool!.name)!;
      mode = sameSubnet ? modes.same : modes.cross;
    }
    const p = pool!;
    const flags = (p.natOutgoing ? BurrowRouteFlag.nat_outgoing : 0) | (sameSubnet ? BurrowRouteFlag.same_subnet : 0) |
      BurrowRouteFlag.in_pool | (p.disabled ? BurrowRouteFlag.pool_disabled : 0) | (kind === ROUTE_KIND_LOCAL_BLOCK ? BurrowRouteFlag.local : 0);
    const b = this.scratch;
    b.fill(0);
    b[0] = BurrowMode[mode];
    b[1] = flags;
    b.writeUInt16LE(p.index, 2);
    b.writeUInt32BE(kind === ROUTE_KIND_POOL ? 0 : holder!.addr, 4);
    if (mode === 'vxlan') {
      b.writeUInt32LE(this.store.felixSettings.vxlanVNI, 8);
      const text = holder!.resolved!.node.vtepMac;
      let mac = this.macBytes.get(text);
      if (!mac) {
        mac = Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
        this.macBytes.set(text, mac);
      }
      b.set(mac, 12);
    }
    if (kind === ROUTE_KIND_BLOCK && mode === 'none' && !sameSubnet) this.offSubnet.set(key, { pool: p.name, node: holder!.name });
    else if (this.offSubnet.size > 0) this.offSubnet.delete(key);
    return kind;
  }

  private recomputeRoute(key: number): void {
    const kind = this.encodeRoute(key);
    if (kind === 0) {
      if (this.offSubnet.size > 0) this.offSubnet.delete(key);
      if (this.routes.delete(key)) this.pendingRoutes.add(key);
      return;
    }
    // The tag is the route kind: a kind change alone (same bytes) still re-derives the kernel route.
    if (this.routes.set(key, this.scratch, 0, kind)) this.pendingRoutes.add(key);
  }

  private recomputePeer(name: string): void {
    const had = this.peerOf.get(name);
    const released = had !== undefined && this.peers.get(had)?.node === name;
    if (released) this.peers.delete(had);
    this.peerOf.delete(name);
    this.setPeer(name);
    if (!released || this.peers.has(had)) return;
    // Two nodes on one address is an error, but the model passes through it: an entry this node
    // gave up goes to a node still on that address, or that node would stay without one. That node
    // is recomputed whole: it may hold an entry at an address it has just left.
    for (const r of this.store.nodesByAddress.get(ipv4Number(had)) ?? []) {
      if (r.name !== name) this.recomputePeer(r.name);
      if (this.peers.has(had)) return;
    }
  }

  /** Writes the node's peer entry (and peerOf) when it is a remote node that may tunnel to us. */
  private setPeer(name: string): void {
    const local = this.local;
    const n = this.store.node(name);
    if (!local || !n || n.name === local.name) return;
    // The rule seen from the sender's side: its subnet, our address (src/compile/peers.ts).
    const same = maskNumber(ipv4Number(n.address), n.prefixLength) === maskNumber(ipv4Number(local.address), n.prefixLength);
    const modes = new Set<TunnelEncap>();
    for (const p of this.store.pools) {
      if (p.pool.ipVersion !== 4) continue;
      const mode: TunnelMode = tunnelModeFor(p.pool, same);
      if (mode !== 'none') modes.add(mode);
    }
    if (modes.size === 0) return;
    this.peers.set(n.address, { address: n.address, node: n.name, modes: [...modes].sort(), vni: this.store.felixSettings.vxlanVNI });
    this.peerOf.set(name, n.address);
  }

  /** The node config (compile.ts's rules) for the uplink as found, with its warnings. */
  nodeConfig(uplink: UplinkFacts | undefined): { node: NodeConfig; config: BurrowConfig; warnings: ConfigDiagnostic[] } | undefined {
    const local = this.local;
    if (!local) return undefined;
    const options = resolveCompileOptions({
      ...this.options,
      ...(uplink ? { uplinkMtu: uplink.mtu, uplinkIfindex: uplink.ifindex, uplinkMac: uplink.mac, ...(uplink.name ? { uplinkDevice: uplink.name } : {}) } : {}),
    });
    const { node, warnings } = compileNodeConfig({ felix: this.store.felixSettings }, local, options);
    return { node, config: configValueOf(node, uplink), warnings };
  }

  /** compile's route warnings: unencapsulated blocks of nodes outside our subnet, one per pool and node. */
  routeWarnings(): ConfigDiagnostic[] {
    const local = this.local;
    if (!local) return [];
    const seen = new Map<string, ConfigDiagnostic>();
    for (const { pool, node } of this.offSubnet.values()) {
      const key = `${pool}\u0000${node}`;
      if (seen.has(key)) continue;
      const remote = this.store.node(node)?.address ?? '';
      seen.set(key, offSubnetWarning(pool, node, remote, local));
    }
    return [...seen.values()];
  }
}

function sameLocal(a: Node | undefined, b: Node | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.name === b.name && a.address === b.address && a.prefixLength === b.prefixLength;
}
