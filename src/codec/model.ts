// The datapath's view of the maps in bpf/include/burrow.h, as plain values: what the `routes`,
// `peers` and `config` maps hold, with addresses as dotted strings and MACs as "aa:bb:..".
// (The byte layouts live in src/bpf/structs.ts, checked against BTF; this is the semantics.)
import { ipv4ToNumber, numberToIpv4 } from './address.js';

export type TunnelMode = 'none' | 'ipip' | 'vxlan';
/** The modes a peer can be allowed to send. */
export type PeerMode = Exclude<TunnelMode, 'none'>;

/** enum burrow_mode. */
export const BURROW_MODE = { none: 0, ipip: 1, vxlan: 2 } as const satisfies Record<TunnelMode, number>;
/** enum burrow_peer_mode bits. */
export const BURROW_PEER = { ipip: 1 << 0, vxlan: 1 << 1 } as const satisfies Record<PeerMode, number>;
/** enum burrow_route_flag bits. */
export const BURROW_ROUTE_FLAG = {
  NAT_OUTGOING: 1 << 0,
  SAME_SUBNET: 1 << 1,
  IN_POOL: 1 << 2,
  POOL_DISABLED: 1 << 3,
  LOCAL: 1 << 4,
} as const;
/** enum burrow_config_flag bits. */
export const BURROW_CONFIG_FLAG = {
  /** Decap: an inner source anywhere in a pool (not one of our blocks) will do, not only the sending peer's blocks. */
  DECAP_SRC_POOL: 1 << 0,
  /** tc_encap: the outer packet leaves by the FIB's route to the peer, not by uplinkIfindex. */
  UPLINK_FIB: 1 << 1,
} as const;

export const BURROW_DEFAULT_VXLAN_PORT = 4789;
export const BURROW_DEFAULT_VNI = 4096;
export const BURROW_DEFAULT_TTL = 64;
export const BURROW_IPIP_OVERHEAD = 20;
export const BURROW_VXLAN_OVERHEAD = 50;
export const BURROW_SPORT_MIN = 32768;
export const BURROW_SPORT_MAX = 60999;
/** burrow_route.pool when the route comes from no pool. */
export const BURROW_POOL_NONE = 0xffff;

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

/** The kernel's min_pmtu: no path is believed narrower (BURROW_PMTU_MIN). */
export const BURROW_PMTU_MIN = 552;

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
