// The datapath's view of the maps in bpf/include/burrow.h, as plain values: what the `routes`,
// `peers` and `config` maps hold, with addresses as dotted strings and MACs as "aa:bb:..".
// The names and numbers (modes, bits, defaults, limits) are the header's, generated from it into
// src/generated/burrow-h.ts (docs/datapath.md, "The vocabulary"); this is the semantics.
import {
  BURROW_CFG, BURROW_DEFAULT_TTL, BURROW_IPIP_OVERHEAD, BURROW_MODE, BURROW_PEER, BURROW_ROUTE, BURROW_VXLAN_OVERHEAD,
} from '../generated/burrow-h.js';
import { ipv4ToNumber, numberToIpv4 } from './address.js';

export {
  BURROW_DEFAULT_TTL, BURROW_DEFAULT_VNI, BURROW_DEFAULT_VXLAN_PORT, BURROW_IPIP_OVERHEAD, BURROW_MODE, BURROW_PEER, BURROW_PMTU_MIN,
  BURROW_POOL_NONE, BURROW_SPORT_MAX, BURROW_SPORT_MIN, BURROW_VXLAN_OVERHEAD,
} from '../generated/burrow-h.js';

export type TunnelMode = keyof typeof BURROW_MODE;
/** The modes a peer can be allowed to send. */
export type PeerMode = keyof typeof BURROW_PEER & TunnelMode;

/** An enum's table with the keys upper-cased, as the C enumerators spell them. */
function upperKeys<T extends Record<string, number>>(table: T): { readonly [K in keyof T & string as Uppercase<K>]: T[K] } {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k.toUpperCase(), v])) as never;
}

/** enum burrow_route_flag bits, by C name without BURROW_ROUTE_ (IN_POOL, LOCAL, ...). */
export const BURROW_ROUTE_FLAG = upperKeys(BURROW_ROUTE);
/** enum burrow_config_flag bits, by C name without BURROW_CFG_ (DECAP_SRC_POOL). */
export const BURROW_CONFIG_FLAG = upperKeys(BURROW_CFG);

/** struct burrow_route: where traffic to a CIDR is tunnelled, and which node (remote) it belongs to. */
export interface TunnelRoute {
  readonly mode: TunnelMode;
  /** Tunnel endpoint: the node the CIDR belongs to (0.0.0.0 for a pool entry). */
  readonly remote: string;
  /** VXLAN network identifier (24 bits); 0 means config.defaultVni. */
  readonly vni: number;
  /** Remote VTEP MAC: inner Ethernet destination for VXLAN. */
  readonly vtepMac: string;
  /** BURROW_ROUTE_FLAG bits (informational for the datapath, except IN_POOL and LOCAL: decap reads them). */
  readonly flags: number;
  /** Index of the IPPool the route comes from, BURROW_POOL_NONE for none. */
  readonly pool: number;
}

/** One `routes` LPM trie entry. */
export interface RouteEntry {
  /** "a.b.c.d/n"; host bits are ignored, as in the kernel's trie. */
  readonly cidr: string;
  readonly route: TunnelRoute;
}

/** The `routes` map, in insertion order (a later entry for the same prefix replaces an earlier one). */
export type RouteTable = readonly RouteEntry[];

/** struct burrow_peer: an outer source address allowed to send us tunnel packets. */
export interface Peer {
  /** Allowed modes: a set, or BURROW_PEER bits as stored in the map. */
  readonly modes: ReadonlySet<PeerMode> | number;
  /** The only VXLAN VNI accepted from this peer. */
  readonly vni: number;
}

/**
 * The `pmtu` map: the path MTU learned per peer (dotted peer address, canonical form → MTU).
 * The entries' learned_ns timestamps are the kernel's clock: the model leaves them out.
 */
export type PmtuMap = ReadonlyMap<string, number>;

/**
 * struct burrow_nexthop: how the outer packet to a peer leaves when agentd knows it
 * (docs/datapath.md, "Next hops"): the device, both MACs, and the route's MTU (0: not checked).
 */
export interface Nexthop {
  readonly ifindex: number;
  /** Outer Ethernet destination: the next hop's MAC ("aa:bb:.."). */
  readonly dmac: string;
  /** Outer Ethernet source: the device's MAC. */
  readonly smac: string;
  /** The largest outer packet (IPv4 total length) the route takes; 0: not checked. */
  readonly mtu: number;
}

/** The `nexthops` map, keyed by dotted peer (tunnel endpoint) address, canonical form. */
export type NexthopMap = ReadonlyMap<string, Nexthop>;

/** The `peers` map, keyed by dotted outer source address (canonical form, e.g. "10.0.1.11"). */
export type PeerMap = ReadonlyMap<string, Peer>;

/** struct burrow_config: this node. */
export interface NodeConfig {
  /** This node's underlay address. */
  readonly localIp: string;
  /** Where encapsulated packets leave (tc_encap redirects there); 0: none yet, tc_encap drops them (DROP_NO_ROUTE). */
  readonly uplinkIfindex: number;
  readonly uplinkMac: string;
  /** Local VTEP MAC: inner Ethernet source for VXLAN. */
  readonly vtepMac: string;
  /** UDP destination port (default 4789). */
  readonly vxlanPort: number;
  /** Outer TTL; 0 means 64. */
  readonly ttl: number;
  /** VNI for routes with vni 0 (default 4096). */
  readonly defaultVni: number;
  /** 0: no MTU check in the datapath. */
  readonly uplinkMtu: number;
  /** BURROW_CONFIG_FLAG bits. */
  readonly flags: number;
  /** MSS clamp for SYNs encapsulated in IPIP (tunnel MTU − 40); 0 or absent: off. */
  readonly mssIpip?: number;
  /** MSS clamp for SYNs encapsulated in VXLAN; 0 or absent: off. */
  readonly mssVxlan?: number;
  /**
   * tc_decap step 16: decapsulated VXLAN frames carrying TCP are redirected to this device (the
   * tunnel device's peer) with `tunnelMac` as their Ethernet destination; 0 or absent: passed up the uplink's stack.
   */
  readonly groIfindex?: number;
  /** The tunnel device's MAC (step 16). */
  readonly tunnelMac?: string;
}

/** The peer's mode bits, whichever form `modes` has. */
export function peerModeBits(peer: Peer): number {
  if (typeof peer.modes === 'number') return peer.modes & 0xff;
  let bits = 0;
  for (const mode of peer.modes) bits |= BURROW_PEER[mode];
  return bits;
}

export function peerAllows(peer: Peer, mode: PeerMode): boolean {
  return (peerModeBits(peer) & BURROW_PEER[mode]) !== 0;
}

/** The VNI written for a route: its own, or the config default when it is 0. */
export function effectiveVni(route: TunnelRoute, config: NodeConfig): number {
  return route.vni !== 0 ? route.vni : config.defaultVni;
}

/** The outer TTL written: config.ttl, or 64 when it is 0. */
export function effectiveTtl(config: NodeConfig): number {
  return config.ttl !== 0 ? config.ttl : BURROW_DEFAULT_TTL;
}

export function tunnelOverhead(mode: PeerMode): number {
  return mode === 'ipip' ? BURROW_IPIP_OVERHEAD : BURROW_VXLAN_OVERHEAD;
}

/** A PeerMap from [address, peer] pairs, keys put in canonical dotted form (throws on a bad one). */
export function peerMap(entries: Iterable<readonly [string, Peer]>): PeerMap {
  const map = new Map<string, Peer>();
  for (const [address, peer] of entries) map.set(numberToIpv4(ipv4ToNumber(address)), peer);
  return map;
}
