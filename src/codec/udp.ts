// UDP headers (RFC 768).
import { ipv4ToBytes, readU16, writeU16 } from './address.js';
import { internetChecksum, pseudoHeaderSum } from './checksum.js';
import { IPPROTO_UDP } from './ipv4.js';

export const UDP_HLEN = 8;

export interface UdpHeader {
  readonly sport: number;
  readonly dport: number;
  readonly length: number;
  readonly checksum: number;
}

export function parseUdp(bytes: Uint8Array, offset = 0): UdpHeader | undefined {
  if (bytes.length - offset < UDP_HLEN) return undefined;
  return {
    sport: readU16(bytes, offset),
    dport: readU16(bytes, offset + 2),
    length: readU16(bytes, offset + 4),
    checksum: readU16(bytes, offset + 6),
  };
}

export interface UdpFields {
  readonly sport: number;
  readonly dport: number;
  /** Length field; default 8 + payload length. */
  readonly length?: number;
  /**
   * 'compute' (default): over the pseudo-header, header and payload (0 becomes 0xffff);
   * 'zero': 0 ("no checksum", what VXLAN senders use); a number: written as is.
   */
  readonly checksum?: 'compute' | 'zero' | number;
}

/** UDP header + payload, the checksum computed over the IPv4 pseudo-header of src → dst. */
export function buildUdpSegment(fields: UdpFields, payload: Uint8Array, src: string, dst: string): Uint8Array {
  const out = new Uint8Array(UDP_HLEN + payload.length);
  writeU16(out, 0, fields.sport);
  writeU16(out, 2, fields.dport);
  writeU16(out, 4, fields.length ?? out.length);
  out.set(payload, UDP_HLEN);
  const mode = fields.checksum ?? 'compute';
  if (mode === 'compute') {
    const pseudo = pseudoHeaderSum(ipv4ToBytes(src), ipv4ToBytes(dst), IPPROTO_UDP, out.length);
    writeU16(out, 6, internetChecksum(out, 0, out.length, pseudo) || 0xffff);
  } else {
    writeU16(out, 6, mode === 'zero' ? 0 : mode);
  }
  return out;
}

/** True when the UDP checksum is 0 (absent) or the segment checksums right. */
export function udpChecksumValid(segment: Uint8Array, src: string, dst: string): boolean {
  if (readU16(segment, 6) === 0) return true;
  const pseudo = pseudoHeaderSum(ipv4ToBytes(src), ipv4ToBytes(dst), IPPROTO_UDP, segment.length);
  return internetChecksum(segment, 0, segment.length, pseudo) === 0;
}
