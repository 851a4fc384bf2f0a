// Longest-prefix-match lookup over a RouteTable, the model of the `routes` LPM trie.
import { cidrContains, ipv4ToNumber, parseCidr } from './address.js';
import type { RouteEntry, RouteTable } from './model.js';

/**
 * The entry whose CIDR contains `address` with the longest prefix. When two entries have the
 * same network and prefix length, the later one wins: writing the table into the map in order
 * leaves that one.
 */
export function lookupRoute(table: RouteTable, address: string | number): RouteEntry | undefined {
  const addr = typeof address === 'number' ? address >>> 0 : ipv4ToNumber(address);
  const cidrs = parsedCidrs(table);
  let best: RouteEntry | undefined;
  let bestLength = -1;
  table.forEach((entry, i) => {
    let cached = cidrs[i];
    if (cached?.text !== entry.cidr) cached = cidrs[i] = { text: entry.cidr, cidr: parseCidr(entry.cidr) };
    if (cached.cidr.prefixLength >= bestLength && cidrContains(cached.cidr, addr)) {
      best = entry;
      bestLength = cached.cidr.prefixLength;
    }
  });
  return best;
}

/** Each table's CIDRs parsed once (decap looks up twice per frame), re-parsed if an entry's text changes. */
const parsed = new WeakMap<RouteTable, { text: string; cidr: ReturnType<typeof parseCidr> }[]>();

function parsedCidrs(table: RouteTable): { text: string; cidr: ReturnType<typeof parseCidr> }[] {
  let cidrs = parsed.get(table);
  if (cidrs === undefined) parsed.set(table, (cidrs = []));
  if (cidrs.length > table.length) cidrs.length = table.length;
  return cidrs;
}

/** The table as the map holds it: one entry per (network, prefix length), the last written. */
export function effectiveRoutes(table: RouteTable): RouteEntry[] {
  const byKey = new Map<string, RouteEntry>();
  for (const entry of table) {
    const cidr = parseCidr(entry.cidr);
    const key = `${cidr.network}/${cidr.prefixLength}`;
    byKey.delete(key);
    byKey.set(key, entry);
  }
  return [...byKey.values()];
}
