// VXLAN headers (RFC 7348 §5): flags(8) reserved(24) VNI(24) reserved(8).
import { readU32 } from './address.js';

export const VXLAN_HLEN = 8;
/** The I flag: the VNI is valid. Receivers ignore the other flag bits. */
export const VXLAN_FLAG_I = 0x08;
export const VNI_MAX = 0xffffff;

export interface VxlanHeader {
  readonly flags: number;
  /** The I flag is set. */
  readonly vniValid: boolean;
  readonly vni: number;
  /** Bytes 1–3 and 7, big endian, for tests that check they are 0 on transmit. */
  readonly reserved1: number;
  readonly reserved2: number;
}

export function parseVxlan(bytes: Uint8Array, offset = 0): VxlanHeader | undefined {
  if (bytes.length - offset < VXLAN_HLEN) return undefined;
  const flags = bytes[offset] ?? 0;
  return {
    flags,
    vniValid: (flags & VXLAN_FLAG_I) !== 0,
    vni: readU32(bytes, offset + 4) >>> 8,
    reserved1: readU32(bytes, offset) & 0xffffff,
    reserved2: bytes[offset + 7] ?? 0,
  };
}

export interface VxlanFields {
  readonly vni: number;
  /** Byte 0; default 0x08 (I flag only). */
  readonly flags?: number;
}

/** Builds the 8 bytes. The VNI is written as its low 24 bits (as `vni << 8` in C would). */
export function buildVxlan(fields: VxlanFields): Uint8Array {
  const out = new Uint8Array(VXLAN_HLEN);
  writeVxlan(out, 0, fields);
  return out;
}

export function writeVxlan(out: Uint8Array, offset: number, fields: VxlanFields): void {
  out[offset] = fields.flags ?? VXLAN_FLAG_I;
  out[offset + 1] = 0;
  out[offset + 2] = 0;
  out[offset + 3] = 0;
  out[offset + 4] = (fields.vni >>> 16) & 0xff;
  out[offset + 5] = (fields.vni >>> 8) & 0xff;
  out[offset + 6] = fields.vni & 0xff;
  out[offset + 7] = 0;
}
