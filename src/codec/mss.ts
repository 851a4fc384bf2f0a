// MSS clamping (docs/datapath.md "MSS clamping"), as bpf/include/mss.h does it to a frame that is
// being encapsulated: a SYN's MSS option is lowered to the clamp, never raised, and the TCP
// checksum updated incrementally (RFC 1624), so a wrong checksum stays exactly as wrong.
import { readU16, writeU16 } from './address.js';
import { checksumUpdate16 } from './checksum.js';
import { ETH_HLEN } from './ethernet.js';
import { IPPROTO_TCP, type Ipv4Header } from './ipv4.js';
import type { StatName } from './stats.js';
import { TCP_HLEN, TCP_SYN } from './tcp.js';

export const TCP_OPT_EOL = 0;
export const TCP_OPT_NOP = 1;
export const TCP_OPT_MSS = 2;
export const TCP_OPT_MSS_LEN = 4;
/** Data offset 15: 40 bytes of options. */
export const TCP_OPT_MAX = 40;

/** What the clamp did: nothing, lowered the MSS, or found a SYN it cannot parse (left untouched). */
export type MssOutcome = 'none' | 'clamped' | 'malformed';

/** The side counter an outcome moves, if any. */
export function mssCounter(outcome: MssOutcome): StatName | undefined {
  if (outcome === 'clamped') return 'MSS_CLAMPED';
  if (outcome === 'malformed') return 'MSS_MALFORMED';
  return undefined;
}

/**
 * The options walk: the offset of the MSS value inside `options`, -1 without an MSS option, -2
 * when the list is malformed (an option other than EOL/NOP without a length byte inside the
 * list, a length below 2 or running past the list, an MSS option whose length is not 4, or a
 * second MSS option). EOL ends the list; what follows it is not looked at.
 */
export function findMssOption(options: Uint8Array): number {
  let at = -1;
  let i = 0;
  while (i < options.length) {
    const kind = options[i] ?? 0;
    if (kind === TCP_OPT_EOL) break;
    if (kind === TCP_OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= options.length) return -2;
    const len = options[i + 1] ?? 0;
    if (len < 2 || i + len > options.length) return -2;
    if (kind === TCP_OPT_MSS) {
      if (len !== TCP_OPT_MSS_LEN || at >= 0) return -2;
      at = i + 2;
    }
    i += len;
  }
  return at;
}

/**
 * Clamps the MSS of the TCP segment in `frame` (an Ethernet frame whose IPv4 header `ip` starts at
 * byte 14; modified in place) to `clamp`. Nothing happens when the clamp is 0 (off), the packet
 * is not TCP or is a fragment, the 20-byte TCP header does not end within the IP packet
 * (min(14 + total length, frame length)), or SYN is clear. A SYN whose data offset is below 5 or
 * whose header runs past the IP packet, or whose options do not parse (findMssOption), is
 * 'malformed'. Otherwise an MSS value above the clamp becomes the clamp.
 */
export function clampMss(frame: Uint8Array, ip: Ipv4Header, clamp: number): MssOutcome {
  if (clamp === 0 || ip.protocol !== IPPROTO_TCP || ip.isFragment) return 'none';
  const l4 = ETH_HLEN + ip.headerLength;
  const end = Math.min(ETH_HLEN + ip.totalLength, frame.length);
  if (l4 + TCP_HLEN > end) return 'none';
  if (((frame[l4 + 13] ?? 0) & TCP_SYN) === 0) return 'none';
  const hlen = ((frame[l4 + 12] ?? 0) >>> 4) * 4;
  if (hlen < TCP_HLEN || l4 + hlen > end) return 'malformed';
  if (hlen === TCP_HLEN) return 'none';
  const at = findMssOption(frame.subarray(l4 + TCP_HLEN, l4 + hlen));
  if (at === -2) return 'malformed';
  if (at < 0) return 'none';
  const value = l4 + TCP_HLEN + at;
  const old = readU16(frame, value);
  if (old <= clamp) return 'none';
  // The checksum sums 16-bit words from the start of the TCP header: a value at an odd offset
  // straddles two of them, and contributes its bytes swapped.
  const odd = (at & 1) === 1;
  const word = (v: number) => (odd ? ((v >>> 8) | (v << 8)) & 0xffff : v);
  writeU16(frame, value, clamp);
  writeU16(frame, l4 + 16, checksumUpdate16(readU16(frame, l4 + 16), word(old), word(clamp)));
  return 'clamped';
}
