// Codecs for bpf/include/burrow.h, the one definition of what the datapath and userspace share.
// The layouts, enums and limits come from src/generated/burrow-h.ts, which the build generates
// from the header (scripts/burrow-h.mjs): nothing here repeats a field, a value or a name of it.
// btf-check.ts still compares the codecs with the BTF of every object loaded through Collection,
// which refuses to load on a mismatch (an object built from another header). docs/datapath.md,
// "The vocabulary".
import {
  BURROW_CFG, BURROW_ENUMS, BURROW_MODE, BURROW_PEER, BURROW_ROUTE, BURROW_STAT, BURROW_STAT__MAX, BURROW_STAT_NAMES, BURROW_STRUCTS,
} from '../generated/burrow-h.js';
import { ipv4, mac, pad, struct, u16, u32, u64, u8, type Padding, type StructCodec, type StructValue, type ValueOf } from './struct.js';

const KINDS = { u8, u16, u32, u64, ipv4, mac } as const;
type Kind = keyof typeof KINDS;
type Layout = Readonly<Record<string, Kind | number>>;
/** The codec of each field of a generated layout: a kind's codec, or padding for a byte count. */
type LayoutFields<L extends Layout> = { -readonly [K in keyof L]: L[K] extends number ? Padding : L[K] extends Kind ? (typeof KINDS)[L[K]] : never };

/** The codec of burrow.h's struct `cName`, from its generated field list. */
function burrowStruct<N extends keyof typeof BURROW_STRUCTS>(cName: N): StructCodec<StructValue<LayoutFields<(typeof BURROW_STRUCTS)[N]>>> {
  const layout: Layout = BURROW_STRUCTS[cName];
  const fields = Object.fromEntries(Object.entries(layout).map(([name, kind]) => [name, typeof kind === 'number' ? pad(kind) : KINDS[kind]]));
  return struct(cName, fields as LayoutFields<(typeof BURROW_STRUCTS)[N]>);
}

export const burrowRouteKey = burrowStruct('burrow_route_key');
export const burrowRoute = burrowStruct('burrow_route');

/** Key of the `peers` hash: the outer source address. */
export const burrowPeerKey = ipv4;

export const burrowPeer = burrowStruct('burrow_peer');
export const burrowConfig = burrowStruct('burrow_config');

/** Key of the `config` array: always 0. */
export const burrowConfigKey = u32;

export const burrowStatValue = burrowStruct('burrow_stat_value');

/** Key of the `stats` per-CPU array: a counter index (BurrowStat). */
export const burrowStatKey = u32;

/** Value of the `pmtu` hash (key: the peer's address): the path MTU learned from ICMP frag-needed. */
export const burrowPmtu = burrowStruct('burrow_pmtu');

/** Key of the `pmtu` hash: the peer (tunnel endpoint) address. */
export const burrowPmtuKey = ipv4;

/** Value of the `nexthops` hash (key: the peer's address): how the outer packet leaves (agentd keeps it). */
export const burrowNexthop = burrowStruct('burrow_nexthop');

/** Key of the `nexthops` hash: the peer (tunnel endpoint) address. */
export const burrowNexthopKey = ipv4;

export type BurrowRouteKey = ValueOf<typeof burrowRouteKey>;
export type BurrowRoute = ValueOf<typeof burrowRoute>;
export type BurrowPeer = ValueOf<typeof burrowPeer>;
export type BurrowConfig = ValueOf<typeof burrowConfig>;
export type BurrowStatValue = ValueOf<typeof burrowStatValue>;
export type BurrowPmtu = ValueOf<typeof burrowPmtu>;
export type BurrowNexthop = ValueOf<typeof burrowNexthop>;

/** Every struct codec of burrow.h: what Collection checks against an object's BTF by default. */
export const burrowStructs: readonly StructCodec<unknown>[] = (Object.keys(BURROW_STRUCTS) as (keyof typeof BURROW_STRUCTS)[]).map(
  (cName) => burrowStruct(cName) as StructCodec<unknown>,
);

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
export const burrowStatNames = BURROW_STAT_NAMES;
export type BurrowStatName = (typeof burrowStatNames)[number];
export const BurrowStat = BURROW_STAT;
export const BURROW_STAT_MAX = BURROW_STAT__MAX;

export const BurrowMode = BURROW_MODE;
export type BurrowModeName = keyof typeof BurrowMode;
export const BurrowPeerMode = BURROW_PEER;
export const BurrowRouteFlag = BURROW_ROUTE;
export const BurrowConfigFlag = BURROW_CFG;

function enumSpec(cName: (typeof BURROW_ENUMS)[number]['cName']): EnumSpec {
  const e = BURROW_ENUMS.find((x) => x.cName === cName);
  if (!e) throw new Error(`burrow.h has no enum ${cName}`);
  return { cName: e.cName, prefix: e.prefix, values: e.values, ignore: e.sentinels };
}

export const burrowStatEnum = enumSpec('burrow_stat');
export const burrowModeEnum = enumSpec('burrow_mode');
export const burrowPeerModeEnum = enumSpec('burrow_peer_mode');
export const burrowRouteFlagEnum = enumSpec('burrow_route_flag');
export const burrowConfigFlagEnum = enumSpec('burrow_config_flag');

/** Every enum of burrow.h: checked against an object's BTF wherever the object has them. */
export const burrowEnums: readonly EnumSpec[] = BURROW_ENUMS.map((e) => enumSpec(e.cName));

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
