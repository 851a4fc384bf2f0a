/**
 * burrow.h values decoded for people and scripts: mode and flag names instead of numbers, CIDRs
 * instead of {prefixlen, addr}. What `agentctl maps dump`, `status`, `trace` and plan renderings
 * show, in one place, so every command names a field the same way. Pure.
 */
import {
  BurrowConfigFlag,
  BurrowPeerMode,
  BurrowRouteFlag,
  burrowStatNames,
  flagNames,
  sumStats,
  type BurrowConfig,
  type BurrowPeer,
  type BurrowRoute,
  type BurrowStatValue,
} from '../bpf/index.js';
import { BURROW_POOL_NONE } from '../generated/burrow-h.js';
import { modeName } from './map-entries.js';

export interface RouteView {
  cidr: string;
  mode: string;
  remote: string;
  vni: number;
  vtepMac: string;
  flags: string[];
  /** IPPool index; null when the route comes from no pool (0xffff). */
  pool: number | null;
}

export interface PeerView {
  address: string;
  modes: string[];
  vni: number;
}

export interface ConfigView {
  localIp: string;
  uplinkIfindex: number;
  uplinkMac: string;
  vtepMac: string;
  vxlanPort: number;
  ttl: number;
  defaultVni: number;
  uplinkMtu: number;
  flags: string[];
  /** MSS clamps (0: off). */
  mssIpip: number;
  mssVxlan: number;
  /** tc_decap's GRO hop for VXLAN (0: none) and the tunnel device's MAC it writes. */
  groIfindex: number;
  tunnelMac: string;
}

export interface CounterView {
  index: number;
  name: string;
  /** Summed over CPUs. JSON numbers: exact below 2^53. */
  packets: number;
  bytes: number;
  /** One element per possible CPU (only when asked for). */
  perCpu?: { cpu: number; packets: number; bytes: number }[];
}

/** Route flag names as the compiler's table prints them: nat-outgoing, same-subnet, in-pool, pool-disabled. */
export function routeFlagList(flags: number): string[] {
  return flagNames(flags, BurrowRouteFlag).map((n) => n.replace(/_/g, '-'));
}

export function routeView(cidr: string, r: BurrowRoute): RouteView {
  return {
    cidr,
    mode: modeName(r.mode),
    remote: r.remote,
    vni: r.vni,
    vtepMac: r.vtep_mac,
    flags: routeFlagList(r.flags),
    pool: r.pool === BURROW_POOL_NONE ? null : r.pool,
  };
}

export function peerView(address: string, p: BurrowPeer): PeerView {
  return { address, modes: flagNames(p.modes, BurrowPeerMode), vni: p.vni };
}

export function configView(c: BurrowConfig): ConfigView {
  return {
    localIp: c.local_ip,
    uplinkIfindex: c.uplink_ifindex,
    uplinkMac: c.uplink_mac,
    vtepMac: c.vtep_mac,
    vxlanPort: c.vxlan_port,
    ttl: c.ttl,
    defaultVni: c.default_vni,
    uplinkMtu: c.uplink_mtu,
    flags: flagNames(c.flags, BurrowConfigFlag),
    mssIpip: c.mss_ipip,
    mssVxlan: c.mss_vxlan,
    groIfindex: c.gro_ifindex,
    tunnelMac: c.tunnel_mac,
  };
}

/** A counter index's name (enum burrow_stat), or `stat N` for an index the enum does not have. */
export function statName(index: number): string {
  return burrowStatNames[index] ?? `stat ${index}`;
}

export function counterView(index: number, perCpuValues: readonly BurrowStatValue[], withPerCpu = false): CounterView {
  const sum = sumStats(perCpuValues);
  const view: CounterView = { index, name: statName(index), packets: Number(sum.packets), bytes: Number(sum.bytes) };
  if (withPerCpu) {
    view.perCpu = perCpuValues.map((v, cpu) => ({ cpu, packets: Number(v.packets), bytes: Number(v.bytes) }));
  }
  return view;
}

export { cidrOf } from './map-entries.js';
