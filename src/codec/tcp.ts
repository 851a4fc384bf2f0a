// TCP segments (RFC 793) for generating test traffic: header without options + payload, with the
// pseudo-header checksum.
import { ipv4ToBytes, readU16, readU32, writeU16, writeU32 } from './address.js';
import { internetChecksum, pseudoHeaderSum } from './checksum.js';
import { IPPROTO_TCP } from './ipv4.js';

export const TCP_HLEN = 20;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface TcpFields {
  readonly sport: number;
  readonly dport: number;
  readonly seq?: number;
  readonly ack?: number;
  /** Flag bits (FIN 0x01 … ACK 0x10); default ACK|PSH. */
  readonly flags?: number;
  readonly window?: number;
  /** Checksum field; default: computed. */
  readonly checksum?: number;
  /** Option bytes after the fixed header, zero-padded to a multiple of 4 (at most 40). */
  readonly options?: Uint8Array;
  /** Data offset nibble as written (may lie); default: the header length / 4. */
  readonly dataOffset?: number;
}

/** Header length with `options` padded to a multiple of 4. */
export function tcpHeaderLength(options: Uint8Array | undefined): number {
  return TCP_HLEN + Math.ceil((options?.length ?? 0) / 4) * 4;
}

export function buildTcpSegment(fields: TcpFields, payload: Uint8Array, src: string, dst: string): Uint8Array {
  const hlen = tcpHeaderLength(fields.options);
  const out = new Uint8Array(hlen + payload.length);
  writeU16(out, 0, fields.sport);
  writeU16(out, 2, fields.dport);
  writeU32(out, 4, fields.seq ?? 0);
  writeU32(out, 8, fields.ack ?? 0);
  out[12] = ((fields.dataOffset ?? hlen / 4) & 0xf) << 4;
  out[13] = fields.flags ?? TCP_ACK | TCP_PSH;
  writeU16(out, 14, fields.window ?? 65535);
  if (fields.options) out.set(fields.options, TCP_HLEN);
  out.set(payload, hlen);
  const pseudo = pseudoHeaderSum(ipv4ToBytes(src), ipv4ToBytes(dst), IPPROTO_TCP, out.length);
  writeU16(out, 16, fields.checksum ?? internetChecksum(out, 0, out.length, pseudo));
  return out;
}

export interface TcpHeader {
  readonly sport: number;
  readonly dport: number;
  readonly seq: number;
  readonly ack: number;
  readonly dataOffset: number;
  readonly flags: number;
  readonly window: number;
  readonly checksum: number;
}

export function parseTcp(bytes: Uint8Array, offset = 0): TcpHeader | undefined {
  if (bytes.length - offset < TCP_HLEN) return undefined;
  return {
    sport: readU16(bytes, offset),
    dport: readU16(bytes, offset + 2),
    seq: readU32(bytes, offset + 4),
    ack: readU32(bytes, offset + 8),
    dataOffset: (bytes[offset + 12] ?? 0) >>> 4,
    flags: bytes[offset + 13] ?? 0,
    window: readU16(bytes, offset + 14),
    checksum: readU16(bytes, offset + 16),
  };
}

export function tcpChecksumValid(segment: Uint8Array, src: string, dst: string): boolean {
  const pseudo = pseudoHeaderSum(ipv4ToBytes(src), ipv4ToBytes(dst), IPPROTO_TCP, segment.length);
  return internetChecksum(segment, 0, segment.length, pseudo) === 0;
}
