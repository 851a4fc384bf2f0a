/**
 * The reconciler's pure half: what is (ActualState, as read from the maps, the kernel and nft)
 * against what should be (DesiredParts, from the compiler via map-entries.ts) gives a Plan, the
 * minimal set of changes. No I/O here: reconcile.ts reads, plans with these functions, applies.
 *
 * Keys are canonical strings: routes by their masked CIDR (the LPM trie ignores host bits, so an
 * entry written with host bits set is the same entry), peers by dotted address, kernel routes by
 * destination. Values compare field by field, so a plan is empty exactly when nothing differs.
 */
import type { BurrowConfig, BurrowRouteKey } from '../bpf/index.js';
import { numberToIpv4, ipv4ToNumber, prefixMask, ZERO_MAC } from '../codec/address.js';
import type { DesiredState, KernelRoute as CompiledKernelRoute, TunnelPeer } from '../compile/index.js';
import { deepEqual, diffKeyed, isEmptyDiff, type KeyedDiff } from './diff.js';
import type { KernelRoute } from './kernel-routes.js';
import { desiredMapEntries, type PeerEntry, type RouteEntry, type RuntimeUplink } from './map-entries.js';
import { guardFingerprints, natRuleFingerprint, type NatRule, type TunnelGuard } from './nat.js';

export type { KeyedChange, KeyedDiff } from './diff.js';

/** The parts of the node a reconcile can touch; kernel routes and nft are optional. */
export type ReconcilePart = 'routes' | 'peers' | 'config' | 'kernelRoutes' | 'nat';

export interface ActualState {
  routes: ReadonlyMap<string, RouteEntry>;
  peers: ReadonlyMap<string, PeerEntry>;
  /** null: the config entry is all zeros (never written). */
  config: BurrowConfig | null;
  /** null: not read (the kernel part is skipped). */
  kernelRoutes: readonly KernelRoute[] | null;
  /** Fingerprints of the rules in burrow's nft table; null: not read. */
  natFingerprints: readonly string[] | null;
}

export interface DesiredParts {
  routes: ReadonlyMap<string, RouteEntry>;
  peers: ReadonlyMap<string, PeerEntry>;
  config: BurrowConfig;
  kernelRoutes: readonly KernelRoute[];
  nat: readonly NatRule[];
  /** The nft table's tunnel guard (its VXLAN port is the node's). */
  guard: TunnelGuard;
}

export interface ConfigChange {
  /** null: the entry was all zeros. */
  before: BurrowConfig | null;
  after: BurrowConfig;
  /** The fields that differ (every field when `before` is null). */
  fields: (keyof BurrowConfig)[];
}

export interface NatChange {
  /** Fingerprints of the rules in the table now (empty: no table). */
  before: string[];
  /** The NAT rules the table will hold. */
  after: NatRule[];
  /** The tunnel guard it will hold. */
  guard: TunnelGuard;
  add: NatRule[];
  /** Fingerprints of guard rules to add. */
  addGuard: string[];
  remove: string[];
}

export interface Plan {
  routes: KeyedDiff<RouteEntry>;
  peers: KeyedDiff<PeerEntry>;
  config: ConfigChange | null;
  kernelRoutes: KeyedDiff<KernelRoute>;
  nat: NatChange | null;
  /** Parts that were not compared (skipped by option): their diff is empty because unknown. */
  skipped: ReconcilePart[];
}

/** The burrow.h view of a DesiredState, plus its kernel routes and NAT rules. */
export function desiredParts(state: DesiredState, uplink?: RuntimeUplink): DesiredParts {
  const entries = desiredMapEntries(state, uplink);
  return {
    routes: entries.routes,
    peers: entries.peers,
    config: entries.config,
    kernelRoutes: state.kernelRoutes.map(kernelRouteOf),
    nat: state.nat.map((r) => ({ sourceCidr: r.sourceCidr, excludeDestinations: [...r.excludeDestinations] })),
    guard: guardOf(state.node),
  };
}

/** The tunnel guard a node's nft table holds. */
export function guardOf(node: { readonly vxlanPort: number }): TunnelGuard {
  return { vxlanPort: node.vxlanPort };
}

/**
 * The uplink fields (ifindex, MAC, MTU) and tc_decap's GRO hop are runtime facts the manifests do not carry: when the
 * caller does not know them, keep the ones already in the config entry instead of zeroing them.
 */
export function keepRuntimeUplink(desired: DesiredParts, actualConfig: BurrowConfig | null): DesiredParts {
  if (actualConfig === null || actualConfig.uplink_ifindex === 0) return desired;
  const { uplink_ifindex, uplink_mac, uplink_mtu, gro_ifindex, tunnel_mac } = actualConfig;
  return { ...desired, config: { ...desired.config, uplink_ifindex, uplink_mac, uplink_mtu, gro_ifindex, tunnel_mac } };
}

/**
 * Make-before-break across nodes: when a pool's encapsulation changes, each node switches when its
 * own agent reconciles, so for a while a peer may still send the old tunnel, or already the new
 * one. A peer that stays a peer keeps the modes `previous` allowed it on top of the new ones
 * (the VNI is the new one: a peer has one). Reconcile with this for a grace period after a
 * change, then with `next` alone to narrow the modes; peers that went are not kept.
 */
export function withTransitionalPeers<S extends PeerSet>(next: S, previous: PeerSet): S {
  const before = new Map(previous.peers.map((p) => [p.address, p]));
  const peers = next.peers.map((p) => {
    const old = before.get(p.address);
    if (!old) return p;
    const modes = [...new Set([...p.modes, ...old.modes])].sort();
    return modes.length === p.modes.length ? p : { ...p, modes };
  });
  return { ...next, peers };
}

/** What a tunnel-mode switch works on: a DesiredState, or the engine's peers alone. */
export interface PeerSet {
  readonly peers: readonly TunnelPeer[];
}

/** The compiler's kernel route as `ip route replace` arguments. */
export function kernelRouteOf(r: CompiledKernelRoute): KernelRoute {
  if (r.type === 'tunnel') {
    return { dst: r.dst, dev: r.dev, via: r.via, onlink: true, mtu: r.mtu, ...(r.src !== undefined ? { src: r.src } : {}) };
  }
  return { dst: r.dst, via: r.via, ...(r.dev !== undefined ? { dev: r.dev } : {}) };
}

/**
 * Does the route the kernel has satisfy the one we want? A desired route without a device lets
 * the kernel pick it (direct routes via a same-subnet node), so any device satisfies it.
 */
export function kernelRouteSatisfies(actual: KernelRoute, desired: KernelRoute): boolean {
  return (
    actual.dst === desired.dst &&
    (actual.via ?? '') === (desired.via ?? '') &&
    (desired.dev === undefined || actual.dev === desired.dev) &&
    (actual.mtu ?? 0) === (desired.mtu ?? 0) &&
    Boolean(actual.onlink) === Boolean(desired.onlink) &&
    (actual.src ?? '') === (desired.src ?? '')
  );
}

/** "a.b.c.d/n" with the host bits cleared: the identity of an LPM trie entry. */
export function canonicalRouteKey(key: BurrowRouteKey): string {
  const len = Math.max(0, Math.min(32, key.prefixlen));
  return `${numberToIpv4((ipv4ToNumber(key.addr) & prefixMask(len)) >>> 0)}/${len}`;
}

export function isZeroConfig(c: BurrowConfig): boolean {
  return (
    c.local_ip === '0.0.0.0' && c.uplink_ifindex === 0 && c.uplink_mac === ZERO_MAC && c.vtep_mac === ZERO_MAC &&
    c.vxlan_port === 0 && c.ttl === 0 && c.default_vni === 0 && c.uplink_mtu === 0 && c.flags === 0 && c.mss_ipip === 0 && c.mss_vxlan === 0 &&
    c.gro_ifindex === 0 && c.tunnel_mac === ZERO_MAC
  );
}

const CONFIG_FIELDS: (keyof BurrowConfig)[] = [
  'local_ip', 'uplink_ifindex', 'uplink_mac', 'vtep_mac', 'vxlan_port', 'ttl', 'default_vni', 'uplink_mtu', 'flags', 'mss_ipip', 'mss_vxlan',
  'gro_ifindex', 'tunnel_mac',
];

export function planConfig(before: BurrowConfig | null, after: BurrowConfig): ConfigChange | null {
  if (before === null) return { before, after, fields: [...CONFIG_FIELDS] };
  const fields = CONFIG_FIELDS.filter((f) => before[f] !== after[f]);
  return fields.length === 0 ? null : { before, after, fields };
}

export function planNat(before: readonly string[], after: readonly NatRule[], guard: TunnelGuard): NatChange | null {
  const have = new Set(before);
  const want = new Map(after.map((r) => [natRuleFingerprint(r), r]));
  const wantGuard = guardFingerprints(guard);
  const add = [...want].filter(([fp]) => !have.has(fp)).map(([, r]) => r);
  const addGuard = wantGuard.filter((fp) => !have.has(fp));
  const remove = [...have].filter((fp) => !want.has(fp) && !wantGuard.includes(fp)).sort();
  // A duplicated rule (same fingerprint twice) is a difference too: the table is rewritten.
  const duplicates = before.length !== have.size;
  if (add.length === 0 && addGuard.length === 0 && remove.length === 0 && !duplicates) return null;
  return { before: [...before].sort(), after: [...after], guard, add, addGuard, remove };
}

function byKey<V>(values: Iterable<V>, key: (v: V) => string): Map<string, V> {
  return new Map([...values].map((v) => [key(v), v]));
}

const EMPTY_DIFF = <V>(): KeyedDiff<V> => ({ add: [], update: [], remove: [] });

/** The minimal changes that turn `actual` into `desired`. Pure and deterministic (sorted by key). */
export function planReconcile(actual: ActualState, desired: DesiredParts): Plan {
  const skipped: ReconcilePart[] = [];
  if (actual.kernelRoutes === null) skipped.push('kernelRoutes');
  if (actual.natFingerprints === null) skipped.push('nat');
  return {
    routes: diffKeyed(actual.routes, desired.routes, (a, b) => deepEqual(a.value, b.value)),
    peers: diffKeyed(actual.peers, desired.peers, (a, b) => deepEqual(a.value, b.value)),
    config: planConfig(actual.config, desired.config),
    kernelRoutes:
      actual.kernelRoutes === null
        ? EMPTY_DIFF<KernelRoute>()
        : diffKeyed(byKey(actual.kernelRoutes, (r) => r.dst), byKey(desired.kernelRoutes, (r) => r.dst), kernelRouteSatisfies),
    nat: actual.natFingerprints === null ? null : planNat(actual.natFingerprints, desired.nat, desired.guard),
    skipped,
  };
}

/** How many changes the plan makes: entries added, updated and removed, config and NAT rules. */
export function planChangeCount(plan: Plan): number {
  const keyed = (d: KeyedDiff<unknown>) => d.add.length + d.update.length + d.remove.length;
  const nat = plan.nat === null ? 0 : Math.max(1, plan.nat.add.length + plan.nat.addGuard.length + plan.nat.remove.length);
  return keyed(plan.routes) + keyed(plan.peers) + (plan.config ? 1 : 0) + keyed(plan.kernelRoutes) + nat;
}

export function isEmptyPlan(plan: Plan): boolean {
  return (
    isEmptyDiff(plan.routes) && isEmptyDiff(plan.peers) && plan.config === null && isEmptyDiff(plan.kernelRoutes) && plan.nat === null
  );
}
