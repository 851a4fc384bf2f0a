// The common first steps of every program (docs/datapath.md, "Common"): is this an Ethernet
// frame carrying something that looks like an IPv4 header?
import { readU16 } from './address.js';
import { ETH_HLEN, ETH_P_IP } from './ethernet.js';
import { IPV4_MIN_HLEN, parseIpv4, type Ipv4Header } from './ipv4.js';

/**
 * Steps 1–3: the IPv4 header after the Ethernet header, or undefined when the program must
 * PASS: shorter than 14 bytes, EtherType ≠ 0x0800 (VLAN tags included), fewer than 20 bytes
 * of IPv4, version ≠ 4, or IHL < 5.
 */
export function parseIpv4Frame(frame: Uint8Array): Ipv4Header | undefined {
  if (frame.length < ETH_HLEN) return undefined;
  if (readU16(frame, 12) !== ETH_P_IP) return undefined;
  if (frame.length - ETH_HLEN < IPV4_MIN_HLEN) return undefined;
  const ip = parseIpv4(frame, ETH_HLEN);
  if (ip === undefined || ip.version !== 4 || ip.ihl < 5) return undefined;
  return ip;
}
