// IPv4/IPv6 addresses and networks as bigints: parsing (strict, Go's net.ParseIP/ParseCIDR
// rules: no leading zeros, no zones), masking, containment, overlap and canonical text.
// Pure; shared by the config validator and the compiler.

export type IpVersion = 4 | 6;

export interface IpAddress {
  readonly version: IpVersion;
  readonly value: bigint;
}

/** A network as written: `addr` may still carry host bits (see isStrictlyMasked). */
export interface IpNetwork {
  readonly version: IpVersion;
  readonly addr: bigint;
  readonly prefix: number;
}

export const bitsOf = (version: IpVersion): number => (version === 4 ? 32 : 128);

export function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Decimal only, no leading zeros: "010" is octal to some parsers and rejected by Go.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

export function parseIPv6(text: string): bigint | undefined {
  if (text.includes('%')) return undefined; // zones are not addresses of a network
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): bigint[] | undefined => {
    if (s === '') return [];
    const out: bigint[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIPv4(part);
        if (v4 === undefined) return undefined;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(BigInt(`0x${part}`));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const given = head.length + tail.length;
  if (halves.length === 2 ? given > 7 : given !== 8) return undefined;
  const groups = [...head, ...new Array<bigint>(8 - given).fill(0n), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const value = parseIPv6(text);
    return value === undefined ? undefined : { version: 6, value };
  }
  const value = parseIPv4(text);
  return value === undefined ? undefined : { version: 4, value };
}

/** `addr/prefix`; the prefix is mandatory. Host bits are kept (check with isStrictlyMasked). */
export function parseCidr(text: string): IpNetwork | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bitsOf(ip.version)) return undefined;
  return { version: ip.version, addr: ip.value, prefix };
}

export function maskOf(version: IpVersion, prefix: number): bigint {
  const bits = BigInt(bitsOf(version));
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** The network with its host bits cleared. */
export function masked(net: IpNetwork): IpNetwork {
  return { version: net.version, addr: net.addr & maskOf(net.version, net.prefix), prefix: net.prefix };
}

export const isStrictlyMasked = (net: IpNetwork): boolean => masked(net).addr === net.addr;

export function netContainsIp(net: IpNetwork, ip: IpAddress): boolean {
  if (net.version !== ip.version) return false;
  const mask = maskOf(net.version, net.prefix);
  return (ip.value & mask) === (net.addr & mask);
}

/** `inner` lies entirely inside `outer`. */
export function netContainsNet(outer: IpNetwork, inner: IpNetwork): boolean {
  return inner.prefix >= outer.prefix && netContainsIp(outer, { version: inner.version, value: inner.addr });
}

export function netsOverlap(a: IpNetwork, b: IpNetwork): boolean {
  return netContainsNet(a, b) || netContainsNet(b, a);
}

export function formatIp(ip: IpAddress): string {
  if (ip.version === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2, first wins) of zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export const formatCidr = (net: IpNetwork): string =>
  `${formatIp({ version: net.version, value: net.addr })}/${net.prefix}`;

/** Total order: IPv4 before IPv6, then by address, then shorter prefix first. */
export function compareNets(a: IpNetwork, b: IpNetwork): number {
  if (a.version !== b.version) return a.version - b.version;
  if (a.addr !== b.addr) return a.addr < b.addr ? -1 : 1;
  return a.prefix - b.prefix;
}

/** Parses a CIDR that is known to be valid (model values); throws otherwise. */
export function mustParseCidr(text: string): IpNetwork {
  const net = parseCidr(text);
  if (!net) throw new Error(`internal: '${text}' is not a CIDR`);
  return net;
}

export function mustParseIp(text: string): IpAddress {
  const ip = parseIp(text);
  if (!ip) throw new Error(`internal: '${text}' is not an IP address`);
  return ip;
}

export const compareCidrText = (a: string, b: string): number => compareNets(mustParseCidr(a), mustParseCidr(b));

export const compareIpText = (a: string, b: string): number => {
  const x = mustParseIp(a);
  const y = mustParseIp(b);
  return compareNets({ version: x.version, addr: x.value, prefix: 0 }, { version: y.version, addr: y.value, prefix: 0 });
};

export const IPV4_LINK_LOCAL: IpNetwork = { version: 4, addr: 0xa9fe0000n, prefix: 16 };
export const IPV6_LINK_LOCAL: IpNetwork = { version: 6, addr: 0xfe80n << 112n, prefix: 10 };

/**
 * IPv4 ranges that are never a pod's or a node's address (RFC 6890, RFC 1122): a pool, a block or
 * a node address there would send loopback, multicast or broadcast traffic into the tunnel (and
 * masquerade it). Link-local 169.254.0.0/16 is Calico's own rule, checked apart with its wording.
 */
export interface ReservedIpv4Range {
  /** As a number (unsigned), with its prefix. */
  readonly addr: number;
  readonly prefix: number;
  readonly cidr: string;
  /** What it is, as said in messages: 'loopback', 'multicast', … */
  readonly what: string;
}

export const RESERVED_IPV4_RANGES: readonly ReservedIpv4Range[] = [
  { addr: 0x00000000, prefix: 8, cidr: '0.0.0.0/8', what: '"this network"' },
  { addr: 0x7f000000, prefix: 8, cidr: '127.0.0.0/8', what: 'loopback' },
  { addr: 0xe0000000, prefix: 4, cidr: '224.0.0.0/4', what: 'multicast' },
  { addr: 0xf0000000, prefix: 4, cidr: '240.0.0.0/4', what: 'reserved (and limited broadcast 255.255.255.255)' },
];

const maskIpv4 = (addr: number, prefix: number): number => (prefix === 0 ? 0 : (addr & (0xffffffff << (32 - prefix))) >>> 0);

/** The reserved ranges an IPv4 network (address as an unsigned number) overlaps, in table order. */
export function reservedIpv4Overlaps(addr: number, prefix: number): ReservedIpv4Range[] {
  const out: ReservedIpv4Range[] = [];
  for (const r of RESERVED_IPV4_RANGES) {
    const p = Math.min(prefix, r.prefix);
    if (maskIpv4(addr, p) === maskIpv4(r.addr, p)) out.push(r);
  }
  return out;
}

/** Whether an IPv4 network touches no reserved range (the cheap test for the many blocks). */
export function clearOfReservedIpv4(addr: number, prefix: number): boolean {
  for (const r of RESERVED_IPV4_RANGES) {
    const p = prefix < r.prefix ? prefix : r.prefix;
    if (maskIpv4(addr, p) === maskIpv4(r.addr, p)) return false;
  }
  return true;
}

/**
 * The largest IPv4 pool burrow accepts: a /8, the size of 10.0.0.0/8, the largest private range
 * (RFC 1918) — and 2^24 pod addresses, 30 times what Kubernetes' largest supported cluster
 * (5,000 nodes × 110 pods) can use. A shorter prefix necessarily takes in public address space
 * (0.0.0.0/1 is half of the Internet), which burrow would route into the tunnel and masquerade.
 */
export const MIN_IPV4_POOL_PREFIX = 8;
