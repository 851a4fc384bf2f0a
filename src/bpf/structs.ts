// Codecs for bpf/include/burrow.h, the one definition of what the datapath and userspace share.
// Each declaration repeats the C layout field by field (C names, explicit padding); btf-check.ts
// compares them with the BTF of every object loaded through Collection, which refuses to load on
// a mismatch. Enum tables below are checked against the enums' BTF the same way.
import { ipv4, mac, pad, struct, u16, u32, u64, u8, type ValueOf } from './struct.js';

export const burrowRouteKey = struct('burrow_route_key', {
  prefixlen: u32,
  addr: ipv4,
});

export const burrowRoute = struct('burrow_route', {
  mode: u8,
  flags: u8,
  pool: u16,
  remote: ipv4,
  vni: u32,
  vtep_mac: mac,
  _pad: pad(2),
});

/** Key of the `peers` hash: the outer source address. */
export const burrowPeerKey = ipv4;

export const burrowPeer = struct('burrow_peer', {
  modes: u8,
  _pad: pad(3),
  vni: u32,
});

export const burrowConfig = struct('burrow_config', {
  local_ip: ipv4,
  uplink_ifindex: u32,
  uplink_mac: mac,
  vtep_mac: mac,
  vxlan_port: u16,
  ttl: u8,
  _pad0: pad(1),
  default_vni: u32,
  uplink_mtu: u16,
  _pad1: pad(2),
  flags: u32,
  mss_ipip: u16,
  mss_vxlan: u16,
});

/** Key of the `config` array: always 0. */
export const burrowConfigKey = u32;

export const burrowStatValue = struct('burrow_stat_value', {
  packets: u64,
  bytes: u64,
});

/** Key of the `stats` per-CPU array: a counter index (BurrowStat). */
export const burrowStatKey = u32;

/** Value of the `pmtu` hash (key: the peer's address): the path MTU learned from ICMP frag-needed. */
export const burrowPmtu = struct('burrow_pmtu', {
  learned_ns: u64,
  mtu: u16,
  _pad: pad(6),
});

/** Key of the `pmtu` hash: the peer (tunnel endpoint) address. */
export const burrowPmtuKey = ipv4;

export type BurrowRouteKey = ValueOf<typeof burrowRouteKey>;
export type BurrowRoute = ValueOf<typeof burrowRoute>;
export type BurrowPeer = ValueOf<typeof burrowPeer>;
export type BurrowConfig = ValueOf<typeof burrowConfig>;
export type BurrowStatValue = ValueOf<typeof burrowStatValue>;
export type BurrowPmtu = ValueOf<typeof burrowPmtu>;

/** Every struct codec of burrow.h: what Collection checks against an object's BTF by default. */
export const burrowStructs = [burrowRouteKey, burrowRoute, burrowPeer, burrowConfig, burrowStatValue, burrowPmtu] as const;

/**
 * A C enum mirrored in TS: `values` maps the enumerator names without `prefix`, lower-cased, to
 * their values. Enumerators listed in `ignore` (sentinels like __MAX) are not mirrored.
 */
export interface EnumSpec<N extends string = string> {
  readonly cName: string;
  readonly prefix: string;
  readonly values: Readonly<Record<N, number>>;
  readonly ignore?: readonly string[];
}

/** Counter names in the order of enum burrow_stat: the index of a name is its counter index. */
export const burrowStatNames = [
  'encap_ipip',
  'encap_vxlan',
  'decap_ipip',
  'decap_vxlan',
  'pass',
  'pass_fragment',
  'pass_fib',
  'pass_too_big',
  'drop_unknown_peer',
  'drop_bad_vni',
  'drop_malformed',
  'drop_ecn',
  'drop_ttl',
  'drop_too_big',
  'drop_no_route',
  'drop_encap_failed',
  'drop_already_encap',
  'drop_spoofed',
  'drop_outside_pool',
  'pass_tunnel_endpoint',
  'mss_clamped',
  'mss_malformed',
  'pmtu_learned',
  'drop_pmtu_forged',
  'drop_pmtu_too_small',
  'pass_pmtu',
] as const;

export type BurrowStatName = (typeof burrowStatNames)[number];

export const BurrowStat = Object.fromEntries(burrowStatNames.map((n, i) => [n, i])) as Readonly<
  Record<BurrowStatName, number>
>;

export const BURROW_STAT_MAX = burrowStatNames.length;

export const burrowStatEnum: EnumSpec<BurrowStatName> = {
  cName: 'burrow_stat',
  prefix: 'BURROW_STAT_',
  values: BurrowStat,
  ignore: ['BURROW_STAT__MAX'],
};

export const BurrowMode = { none: 0, ipip: 1, vxlan: 2 } as const;
export type BurrowModeName = keyof typeof BurrowMode;
export const burrowModeEnum: EnumSpec<BurrowModeName> = { cName: 'burrow_mode', prefix: 'BURROW_MODE_', values: BurrowMode };

export const BurrowPeerMode = { ipip: 1 << 0, vxlan: 1 << 1 } as const;
export const burrowPeerModeEnum: EnumSpec<keyof typeof BurrowPeerMode> = {
  cName: 'burrow_peer_mode',
  prefix: 'BURROW_PEER_',
  values: BurrowPeerMode,
};

export const BurrowRouteFlag = { nat_outgoing: 1 << 0, same_subnet: 1 << 1, in_pool: 1 << 2, pool_disabled: 1 << 3, local: 1 << 4 } as const;
export const burrowRouteFlagEnum: EnumSpec<keyof typeof BurrowRouteFlag> = {
  cName: 'burrow_route_flag',
  prefix: 'BURROW_ROUTE_',
  values: BurrowRouteFlag,
};

export const BurrowConfigFlag = { none: 0, decap_src_pool: 1 << 0, uplink_fib: 1 << 1 } as const;
export const burrowConfigFlagEnum: EnumSpec<keyof typeof BurrowConfigFlag> = {
  cName: 'burrow_config_flag',
  prefix: 'BURROW_CFG_',
  values: BurrowConfigFlag,
};

/** Every enum of burrow.h: checked against an object's BTF wherever the object has them. */
export const burrowEnums: readonly EnumSpec[] = [
  burrowStatEnum,
  burrowModeEnum,
  burrowPeerModeEnum,
  burrowRouteFlagEnum,
  burrowConfigFlagEnum,
];

/** Names of the bits set in `bits` (unknown bits as 'bit N'), for display. */
export function flagNames(bits: number, table: Readonly<Record<string, number>>): string[] {
  const names = Object.entries(table).filter(([, v]) => v !== 0 && (bits & v) === v).map(([n]) => n);
  const known = Object.values(table).reduce((a, v) => a | v, 0);
  for (let b = 0; b < 32; b++) if ((bits & ~known) & (1 << b)) names.push(`bit ${b}`);
  return names;
}

/** Sum of per-CPU counter values. */
export function sumStats(values: readonly BurrowStatValue[]): BurrowStatValue {
  return values.reduce((a, v) => ({ packets: a.packets + v.packets, bytes: a.bytes + v.bytes }), { packets: 0n, bytes: 0n });
}
