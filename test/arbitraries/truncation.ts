// Truncated frames for fast-check: cut at every header boundary (and one byte either side), with
// the outer total length left as it was or made to agree with the cut. Test-only.
import fc from 'fast-check';
import { readU16, writeU16 } from '../../src/codec/address.js';
import { ETH_HLEN, ETH_P_IP } from '../../src/codec/ethernet.js';
import { fixIpv4HeaderChecksum, IPPROTO_ICMP, IPPROTO_IPIP, IPPROTO_TCP, IPPROTO_UDP } from '../../src/codec/ipv4.js';

/**
 * Offsets where a header of the frame starts or ends: Ethernet, IPv4 (20 bytes and IHL·4),
 * TCP/UDP/ICMP, and through IP-in-IP and UDP (read as VXLAN + inner Ethernet) into the inner
 * IPv4 header and its L4 header. Sorted, unique, ≤ the frame length.
 */
export function headerBoundaries(frame: Uint8Array): number[] {
  const found = new Set<number>([0, ETH_HLEN]);
  if (frame.length >= ETH_HLEN && readU16(frame, 12) === ETH_P_IP) addIpv4Boundaries(frame, ETH_HLEN, found, 2);
  return [...found].filter((b) => b <= frame.length).sort((a, b) => a - b);
}

function addIpv4Boundaries(frame: Uint8Array, ip: number, found: Set<number>, depth: number): void {
  found.add(ip);
  found.add(ip + 20);
  if (frame.length < ip + 20) return;
  const l4 = ip + ((frame[ip] ?? 0) & 0x0f) * 4;
  found.add(l4);
  const protocol = frame[ip + 9];
  if (protocol === IPPROTO_TCP) found.add(l4 + 20);
  if (protocol === IPPROTO_ICMP) found.add(l4 + 8);
  if (protocol === IPPROTO_IPIP && depth > 1) addIpv4Boundaries(frame, l4, found, depth - 1);
  if (protocol === IPPROTO_UDP) {
    found.add(l4 + 8);
    if (depth > 1) {
      found.add(l4 + 16); // VXLAN
      found.add(l4 + 30); // inner Ethernet
      if (frame.length >= l4 + 30 && readU16(frame, l4 + 28) === ETH_P_IP) addIpv4Boundaries(frame, l4 + 30, found, depth - 1);
    }
  }
}

export type TruncationMode = 'cut' | 'consistent';

/**
 * The first `length` bytes. 'consistent' also sets the outer IPv4 total length to what is left
 * (and fixes its checksum) when the outer header survives, so the checks after the length check
 * see the short packet.
 */
export function truncateFrame(frame: Uint8Array, length: number, mode: TruncationMode): Uint8Array {
  const out = frame.slice(0, Math.max(0, Math.min(length, frame.length)));
  if (mode === 'consistent' && out.length >= ETH_HLEN + 20 && readU16(out, 12) === ETH_P_IP) {
    writeU16(out, ETH_HLEN + 2, out.length - ETH_HLEN);
    const hlen = ((out[ETH_HLEN] ?? 0) & 0x0f) * 4;
    if (hlen >= 20 && out.length >= ETH_HLEN + hlen) fixIpv4HeaderChecksum(out, ETH_HLEN);
  }
  return out;
}

export interface TruncationPlan {
  /** Index into headerBoundaries(frame), taken modulo its length. */
  readonly boundary: number;
  /** −1, 0 or +1 bytes from the boundary. */
  readonly delta: number;
  readonly mode: TruncationMode;
}

export function arbTruncationPlan(): fc.Arbitrary<TruncationPlan> {
  return fc.record({
    boundary: fc.nat(30),
    delta: fc.constantFrom(-1, 0, 1),
    mode: fc.constantFrom('cut' as const, 'consistent' as const),
  });
}

/** Applies a plan; never returns the whole frame unchanged (it cuts at least one byte). */
export function applyTruncation(frame: Uint8Array, plan: TruncationPlan): Uint8Array {
  const boundaries = headerBoundaries(frame).filter((b) => b < frame.length);
  const at = boundaries[plan.boundary % boundaries.length] ?? 0;
  return truncateFrame(frame, Math.min(frame.length - 1, Math.max(0, at + plan.delta)), plan.mode);
}

/** Frames of `base` truncated at (or next to) a header boundary. */
export function arbTruncatedFrame(base: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(base, arbTruncationPlan()).map(([frame, plan]) => applyTruncation(frame, plan));
}
