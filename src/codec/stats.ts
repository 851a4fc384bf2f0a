// Counter names and indexes of the `stats` map: enum burrow_stat in bpf/include/burrow.h, in
// its order, without the BURROW_STAT_ prefix, upper case as in C. Generated from the header
// (src/generated/burrow-h.ts, docs/datapath.md "The vocabulary").
import { BURROW_STAT, BURROW_STAT__MAX, BURROW_STAT_NAMES } from '../generated/burrow-h.js';

export type StatName = Uppercase<(typeof BURROW_STAT_NAMES)[number]>;

export const STAT_NAMES: readonly StatName[] = BURROW_STAT_NAMES.map((n) => n.toUpperCase() as StatName);

/** Counters that move besides a verdict counter, never instead of one (docs/datapath.md "MSS clamping"). */
export const SIDE_STAT_NAMES: readonly StatName[] = ['MSS_CLAMPED', 'MSS_MALFORMED'];

/** BURROW_STAT__MAX. */
export const STAT_COUNT = BURROW_STAT__MAX;

/** The `stats` map index of a counter (BURROW_STAT_<name>). */
export function statIndex(name: StatName): number {
  return BURROW_STAT[name.toLowerCase() as Lowercase<StatName>];
}
