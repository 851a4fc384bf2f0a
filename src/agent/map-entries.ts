/**
 * DesiredState ⇄ BPF map entries: the one translation between the compiler's domain values and
 * burrow.h's structs (via the codecs in src/bpf/structs.ts). Pure. Keys are canonical strings so
 * the reconciler can diff what is in the maps against what should be.
 */
import type { DesiredState, NodeConfig, TunnelPeer, TunnelRoute } from '../compile/index.js';
import {
  BurrowConfigFlag,
  BurrowMode,
  BurrowPeerMode,
  BurrowRouteFlag,
  type BurrowConfig,
  type BurrowPeer,
  type BurrowRoute,
  type BurrowRouteKey,
} from '../bpf/index.js';
import { ZERO_MAC } from '../codec/address.js';
import { BURROW_POOL_NONE } from '../generated/burrow-h.js';

export interface RouteEntry {
  key: BurrowRouteKey;
  value: BurrowRoute;
}

export interface PeerEntry {
  key: string;
  value: BurrowPeer;
}

export interface DesiredMapEntries {
  routes: Map<string, RouteEntry>;
  peers: Map<string, PeerEntry>;
  config: BurrowConfig;
}

export function routeKeyOf(cidr: string): BurrowRouteKey {
  const [addr, len] = cidr.split('/');
  return { prefixlen: Number(len ?? 32), addr: addr ?? '0.0.0.0' };
}

/** "a.b.c.d/n" of a routes map key (as stored: host bits are not cleared). */
export function cidrOf(key: BurrowRouteKey): string {
  return `${key.addr}/${key.prefixlen}`;
}

export function routeValueOf(r: TunnelRoute): BurrowRoute {
  const flags =
    (r.natOutgoing ? BurrowRouteFlag.nat_outgoing : 0) |
    (r.sameSubnet ? BurrowRouteFlag.same_subnet : 0) |
    (r.inPool ? BurrowRouteFlag.in_pool : 0) |
    (r.poolDisabled ? BurrowRouteFlag.pool_disabled : 0) |
    (r.kind === 'local-block' ? BurrowRouteFlag.local : 0);
  return {
    mode: BurrowMode[r.mode],
    flags,
    pool: r.pool?.index ?? BURROW_POOL_NONE,
    remote: r.remote,
    vni: r.mode === 'vxlan' ? r.vni : 0,
    vtep_mac: r.mode === 'vxlan' ? r.vtepMac : ZERO_MAC,
  };
}

export function peerValueOf(p: TunnelPeer): BurrowPeer {
  const modes = p.modes.reduce((bits, m) => bits | BurrowPeerMode[m], 0);
  return { modes, vni: p.vni };
}

export interface RuntimeUplink {
  ifindex: number;
  mac: string;
  mtu: number;
  /** tc_encap asks the FIB for the uplink (BURROW_CFG_UPLINK_FIB): a loopback tunnel source, several uplinks. */
  fib?: boolean;
  /**
   * tc_decap's GRO hop for VXLAN (docs/datapath.md, "VXLAN through the tunnel device's GRO"): the
   * tunnel device's peer and the tunnel device's MAC; absent: none (decapsulated VXLAN goes up the uplink).
   */
  groHop?: { ifindex: number; mac: string };
}

/** IPv4 (20) and TCP (20) headers without options: what a SYN's MSS may announce on a path of `mtu`. */
export const MSS_HEADERS = 40;

/** The MSS clamp written for a tunnel MTU (docs/datapath.md "MSS clamping"); at least 1 (0 would mean off). */
export function mssFor(tunnelMtu: number): number {
  return Math.max(1, Math.min(0xffff, tunnelMtu - MSS_HEADERS));
}

export function configValueOf(n: NodeConfig, uplink?: RuntimeUplink): BurrowConfig {
  return {
    local_ip: n.localIp,
    uplink_ifindex: uplink?.ifindex ?? n.uplinkIfindex,
    uplink_mac: uplink?.mac ?? n.uplinkMac ?? ZERO_MAC,
    vtep_mac: n.vtepMac,
    vxlan_port: n.vxlanPort,
    ttl: n.ttl,
    default_vni: n.defaultVni,
    uplink_mtu: uplink?.mtu ?? n.uplinkMtu,
    flags: (n.decapSourceCheck === 'pool' ? BurrowConfigFlag.decap_src_pool : 0) | (uplink?.fib ? BurrowConfigFlag.uplink_fib : 0),
    mss_ipip: n.mssClamp ? mssFor(n.tunnelMtu.ipip) : 0,
    mss_vxlan: n.mssClamp ? mssFor(n.tunnelMtu.vxlan) : 0,
    gro_ifindex: uplink?.groHop?.ifindex ?? 0,
    tunnel_mac: uplink?.groHop?.mac ?? ZERO_MAC,
  };
}

export function desiredMapEntries(state: DesiredState, uplink?: RuntimeUplink): DesiredMapEntries {
  const routes = new Map<string, RouteEntry>();
  for (const r of state.routes) {
    const key = routeKeyOf(r.cidr);
    routes.set(cidrOf(key), { key, value: routeValueOf(r) });
  }
  const peers = new Map<string, PeerEntry>();
  for (const p of state.peers) peers.set(p.address, { key: p.address, value: peerValueOf(p) });
  return { routes, peers, config: configValueOf(state.node, uplink) };
}

export function modeName(mode: number): string {
  const found = Object.entries(BurrowMode).find(([, v]) => v === mode);
  return found ? found[0] : `unknown(${mode})`;
}
