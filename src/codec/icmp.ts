// ICMP echo request/reply (RFC 792) for generating test traffic.
import { readU16, writeU16 } from './address.js';
import { checksumValid, internetChecksum } from './checksum.js';

export const ICMP_HLEN = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;

export interface IcmpEchoFields {
  /** Default: echo request (8). */
  readonly type?: number;
  readonly code?: number;
  readonly identifier?: number;
  readonly sequence?: number;
  /** Checksum field; default: computed over header and payload. */
  readonly checksum?: number;
}

export function buildIcmpEcho(fields: IcmpEchoFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ICMP_HLEN + payload.length);
  out[0] = fields.type ?? ICMP_ECHO_REQUEST;
  out[1] = fields.code ?? 0;
  writeU16(out, 4, fields.identifier ?? 0);
  writeU16(out, 6, fields.sequence ?? 0);
  out.set(payload, ICMP_HLEN);
  writeU16(out, 2, fields.checksum ?? internetChecksum(out));
  return out;
}

export interface IcmpEchoHeader {
  readonly type: number;
  readonly code: number;
  readonly checksum: number;
  readonly identifier: number;
  readonly sequence: number;
}

export function parseIcmpEcho(bytes: Uint8Array, offset = 0): IcmpEchoHeader | undefined {
  if (bytes.length - offset < ICMP_HLEN) return undefined;
  return {
    type: bytes[offset] ?? 0,
    code: bytes[offset + 1] ?? 0,
    checksum: readU16(bytes, offset + 2),
    identifier: readU16(bytes, offset + 4),
    sequence: readU16(bytes, offset + 6),
  };
}

export function icmpChecksumValid(message: Uint8Array): boolean {
  return checksumValid(message);
}
