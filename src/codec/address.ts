// IPv4 and MAC addresses: dotted / colon strings at the API, bytes and unsigned 32-bit numbers
// inside. Every parser throws on malformed input, so a typo in a test table fails loudly.

/** Parses "a.b.c.d" into an unsigned 32-bit number (network order read as big endian). */
export function ipv4ToNumber(address: string): number {
  const parts = address.split('.');
  if (parts.length !== 4) throw new TypeError(`not an IPv4 address: "${address}"`);
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) {
      throw new TypeError(`not an IPv4 address: "${address}"`);
    }
    value = value * 256 + Number(part);
  }
  return value;
}

export function numberToIpv4(value: number): string {
  const v = value >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

export function ipv4ToBytes(address: string): Uint8Array {
  const v = ipv4ToNumber(address);
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/** Reads 4 bytes at `offset` as a dotted address. */
export function readIpv4(bytes: Uint8Array, offset: number): string {
  return numberToIpv4(readU32(bytes, offset));
}

export function readU32(bytes: Uint8Array, offset: number): number {
  return (((bytes[offset] ?? 0) << 24) | ((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0)) >>> 0;
}

export function readU16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

export function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}

export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/** The all-zero MAC: a map field nobody set (no uplink yet, no VTEP, no GRO hop). */
export const ZERO_MAC = '00:00:00:00:00:00';

/** Parses "aa:bb:cc:dd:ee:ff" (case-insensitive) into 6 bytes. */
export function macToBytes(mac: string): Uint8Array {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new TypeError(`not a MAC address: "${mac}"`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** Formats 6 bytes at `offset` as lower-case "aa:bb:cc:dd:ee:ff". */
export function readMac(bytes: Uint8Array, offset = 0): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) out.push((bytes[offset + i] ?? 0).toString(16).padStart(2, '0'));
  return out.join(':');
}

export interface Ipv4Cidr {
  /** The network address with the host bits cleared. */
  readonly network: number;
  readonly prefixLength: number;
}

/**
 * Parses "a.b.c.d/n". Host bits are cleared, as the kernel's LPM trie ignores bits past
 * `prefixlen`; strictness about masking belongs to config validation, not to the datapath model.
 */
export function parseCidr(cidr: string): Ipv4Cidr {
  const slash = cidr.indexOf('/');
  if (slash < 0) throw new TypeError(`not an IPv4 CIDR (missing "/"): "${cidr}"`);
  const lengthText = cidr.slice(slash + 1);
  if (!/^(0|[1-9][0-9]?)$/.test(lengthText) || Number(lengthText) > 32) {
    throw new TypeError(`not an IPv4 CIDR (prefix length 0–32): "${cidr}"`);
  }
  const prefixLength = Number(lengthText);
  return { network: (ipv4ToNumber(cidr.slice(0, slash)) & prefixMask(prefixLength)) >>> 0, prefixLength };
}

/** The netmask of a prefix length as an unsigned 32-bit number (/0 → 0). */
export function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export function cidrContains(cidr: Ipv4Cidr, address: number): boolean {
  return ((address & prefixMask(cidr.prefixLength)) >>> 0) === cidr.network;
}
