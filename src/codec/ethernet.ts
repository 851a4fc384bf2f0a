// Ethernet II headers. VLAN-tagged frames (802.1Q, 802.1ad) carry a tag EtherType in the type
// field, so for the datapath they are "not IPv4" and pass untouched (docs/datapath.md step 2).
import { macToBytes, readMac, readU16, writeU16 } from './address.js';

export const ETH_HLEN = 14;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const ETH_P_IPV6 = 0x86dd;

export interface EthernetHeader {
  readonly dst: string;
  readonly src: string;
  /** The type field at offset 12: a VLAN TPID for tagged frames. */
  readonly etherType: number;
  /** Type field is 802.1Q or 802.1ad. */
  readonly vlanTagged: boolean;
  /** EtherType is exactly 0x0800: the only frames the datapath looks into. */
  readonly isIpv4: boolean;
}

export function parseEthernet(frame: Uint8Array, offset = 0): EthernetHeader | undefined {
  if (frame.length - offset < ETH_HLEN) return undefined;
  const etherType = readU16(frame, offset + 12);
  return {
    dst: readMac(frame, offset),
    src: readMac(frame, offset + 6),
    etherType,
    vlanTagged: etherType === ETH_P_8021Q || etherType === ETH_P_8021AD,
    isIpv4: etherType === ETH_P_IP,
  };
}

export interface EthernetFields {
  readonly dst: string;
  readonly src: string;
  readonly etherType?: number;
}

export function buildEthernet(fields: EthernetFields): Uint8Array {
  const out = new Uint8Array(ETH_HLEN);
  writeEthernet(out, 0, fields);
  return out;
}

export function writeEthernet(out: Uint8Array, offset: number, fields: EthernetFields): void {
  out.set(macToBytes(fields.dst), offset);
  out.set(macToBytes(fields.src), offset + 6);
  writeU16(out, offset + 12, fields.etherType ?? ETH_P_IP);
}
