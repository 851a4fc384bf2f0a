// Counter names and indexes of the `stats` map: enum burrow_stat in bpf/include/burrow.h, in
// its order, without the BURROW_STAT_ prefix.

export const STAT_NAMES = [
  'ENCAP_IPIP',
  'ENCAP_VXLAN',
  'DECAP_IPIP',
  'DECAP_VXLAN',
  'PASS',
  'PASS_FRAGMENT',
  'PASS_FIB',
  'PASS_TOO_BIG',
  'DROP_UNKNOWN_PEER',
  'DROP_BAD_VNI',
  'DROP_MALFORMED',
  'DROP_ECN',
  'DROP_TTL',
  'DROP_TOO_BIG',
  'DROP_NO_ROUTE',
  'DROP_ENCAP_FAILED',
  'DROP_ALREADY_ENCAP',
  'DROP_SPOOFED',
  'DROP_OUTSIDE_POOL',
  'PASS_TUNNEL_ENDPOINT',
  // Side counters: moved in addition to the verdict counter (ENCAP_*) of the SYN they describe.
  'MSS_CLAMPED',
  'MSS_MALFORMED',
  // Verdict counters again (path MTU).
  'PMTU_LEARNED',
  'DROP_PMTU_FORGED',
  'DROP_PMTU_TOO_SMALL',
  'PASS_PMTU',
] as const;

/** Counters that move besides a verdict counter, never instead of one (docs/datapath.md "MSS clamping"). */
export const SIDE_STAT_NAMES: readonly StatName[] = ['MSS_CLAMPED', 'MSS_MALFORMED'];

export type StatName = (typeof STAT_NAMES)[number];

/** BURROW_STAT__MAX. */
export const STAT_COUNT = STAT_NAMES.length;

/** The `stats` map index of a counter (BURROW_STAT_<name>). */
export function statIndex(name: StatName): number {
  return STAT_NAMES.indexOf(name);
}
