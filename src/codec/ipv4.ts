// IPv4 headers (RFC 791) with options: parse, build, header checksum.
import { ipv4ToBytes, readIpv4, readU16, writeU16 } from './address.js';
import { checksumUpdate16, checksumValid, internetChecksum } from './checksum.js';

export const IPV4_MIN_HLEN = 20;
export const IPV4_MAX_HLEN = 60;
export const IPPROTO_ICMP = 1;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;

const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const OFFSET_MASK = 0x1fff;

/** ECN codepoints (RFC 3168): the low 2 bits of the TOS byte. */
export const ECN_NOT_ECT = 0;
export const ECN_ECT1 = 1;
export const ECN_ECT0 = 2;
export const ECN_CE = 3;

export interface Ipv4Header {
  readonly version: number;
  /** Header length in 32-bit words. */
  readonly ihl: number;
  readonly headerLength: number;
  readonly tos: number;
  readonly dscp: number;
  readonly ecn: number;
  readonly totalLength: number;
  readonly id: number;
  readonly df: boolean;
  readonly mf: boolean;
  /** Fragment offset in 8-byte units. */
  readonly fragOffset: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly checksum: number;
  readonly src: string;
  readonly dst: string;
  /** Option bytes (headerLength − 20), possibly shorter when the buffer ends inside them. */
  readonly options: Uint8Array;
  /** MF set or offset ≠ 0. */
  readonly isFragment: boolean;
}

/**
 * Parses the header at `offset`. Returns undefined when fewer than 20 bytes are present; the
 * version and IHL are reported as found (callers decide what a bad value means).
 */
export function parseIpv4(bytes: Uint8Array, offset = 0): Ipv4Header | undefined {
  if (bytes.length - offset < IPV4_MIN_HLEN) return undefined;
  const b0 = bytes[offset] ?? 0;
  const tos = bytes[offset + 1] ?? 0;
  const ihl = b0 & 0x0f;
  const fragField = readU16(bytes, offset + 6);
  const fragOffset = fragField & OFFSET_MASK;
  const mf = (fragField & FLAG_MF) !== 0;
  const headerLength = ihl * 4;
  const optionsEnd = Math.min(bytes.length, offset + Math.max(headerLength, IPV4_MIN_HLEN));
  return {
    version: b0 >>> 4,
    ihl,
    headerLength,
    tos,
    dscp: tos >>> 2,
    ecn: tos & 3,
    totalLength: readU16(bytes, offset + 2),
    id: readU16(bytes, offset + 4),
    df: (fragField & FLAG_DF) !== 0,
    mf,
    fragOffset,
    ttl: bytes[offset + 8] ?? 0,
    protocol: bytes[offset + 9] ?? 0,
    checksum: readU16(bytes, offset + 10),
    src: readIpv4(bytes, offset + 12),
    dst: readIpv4(bytes, offset + 16),
    options: bytes.slice(offset + IPV4_MIN_HLEN, optionsEnd),
    isFragment: mf || fragOffset !== 0,
  };
}

export interface Ipv4Fields {
  readonly src: string;
  readonly dst: string;
  readonly protocol: number;
  /** Whole TOS byte; overridden bitwise by `dscp`/`ecn` when those are given. */
  readonly tos?: number;
  readonly dscp?: number;
  readonly ecn?: number;
  readonly ttl?: number;
  readonly id?: number;
  readonly df?: boolean;
  readonly mf?: boolean;
  readonly fragOffset?: number;
  /** Option bytes; a length that is not a multiple of 4 is padded with zeros (EOL). At most 40. */
  readonly options?: Uint8Array;
  /** Total length field; default: header + payload length. */
  readonly totalLength?: number;
  /** IHL field; default: from the options length. Lets tests write IHL < 5 or lie about it. */
  readonly ihl?: number;
  readonly version?: number;
  /** Checksum field; default: computed. */
  readonly checksum?: number;
}

export function tosOf(fields: Pick<Ipv4Fields, 'tos' | 'dscp' | 'ecn'>): number {
  let tos = fields.tos ?? 0;
  if (fields.dscp !== undefined) tos = ((fields.dscp & 0x3f) << 2) | (tos & 3);
  if (fields.ecn !== undefined) tos = (tos & 0xfc) | (fields.ecn & 3);
  return tos;
}

/** Builds the header bytes (20 + padded options) for a payload of `payloadLength` bytes. */
export function buildIpv4Header(fields: Ipv4Fields, payloadLength: number): Uint8Array {
  const options = fields.options ?? new Uint8Array(0);
  if (options.length > IPV4_MAX_HLEN - IPV4_MIN_HLEN) {
    throw new RangeError(`IPv4 options are at most 40 bytes, got ${options.length}`);
  }
  const headerLength = IPV4_MIN_HLEN + Math.ceil(options.length / 4) * 4;
  const out = new Uint8Array(headerLength);
  out[0] = (((fields.version ?? 4) & 0xf) << 4) | ((fields.ihl ?? headerLength / 4) & 0xf);
  out[1] = tosOf(fields);
  writeU16(out, 2, fields.totalLength ?? headerLength + payloadLength);
  writeU16(out, 4, fields.id ?? 0);
  const frag = (fields.df ? FLAG_DF : 0) | (fields.mf ? FLAG_MF : 0) | ((fields.fragOffset ?? 0) & OFFSET_MASK);
  writeU16(out, 6, frag);
  out[8] = fields.ttl ?? 64;
  out[9] = fields.protocol;
  out.set(ipv4ToBytes(fields.src), 12);
  out.set(ipv4ToBytes(fields.dst), 16);
  out.set(options, IPV4_MIN_HLEN);
  writeU16(out, 10, fields.checksum ?? internetChecksum(out));
  return out;
}

/** Computes the header checksum of the IPv4 header at `offset` (its checksum field read as 0). */
export function ipv4HeaderChecksum(bytes: Uint8Array, offset = 0): number {
  const hlen = ((bytes[offset] ?? 0) & 0xf) * 4;
  const header = bytes.slice(offset, offset + hlen);
  header[10] = 0;
  header[11] = 0;
  return internetChecksum(header);
}

/** True when the IPv4 header at `offset` (IHL·4 bytes) checksums to 0xffff. */
export function ipv4HeaderChecksumValid(bytes: Uint8Array, offset = 0): boolean {
  const hlen = ((bytes[offset] ?? 0) & 0xf) * 4;
  if (hlen < IPV4_MIN_HLEN || offset + hlen > bytes.length) return false;
  return checksumValid(bytes, offset, offset + hlen);
}

/** Writes the computed checksum into the IPv4 header at `offset`. */
export function fixIpv4HeaderChecksum(bytes: Uint8Array, offset = 0): void {
  writeU16(bytes, offset + 10, ipv4HeaderChecksum(bytes, offset));
}

/**
 * Rewrites the TOS byte of the header at `offset` in place and updates its checksum
 * incrementally (RFC 1624); the checksum is not recomputed, so a wrong one stays wrong.
 */
export function rewriteTos(bytes: Uint8Array, offset: number, tos: number): void {
  const oldWord = readU16(bytes, offset);
  bytes[offset + 1] = tos & 0xff;
  const newWord = readU16(bytes, offset);
  writeU16(bytes, offset + 10, checksumUpdate16(readU16(bytes, offset + 10), oldWord, newWord));
}
