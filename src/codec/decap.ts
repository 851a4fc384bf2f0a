// The decapsulation programs, xdp_decap and tc_decap (same rules, same counters), step by step
// as docs/datapath.md states them.
import { ipv4ToNumber, macToBytes, numberToIpv4, readU16, readU32, ZERO_MAC } from './address.js';
import { ETH_HLEN, ETH_P_IP } from './ethernet.js';
import { decapEcn } from './ecn.js';
import { parseIpv4Frame } from './frame-parse.js';
import { ICMP_HLEN } from './icmp.js';
import { IPPROTO_ICMP, IPPROTO_IPIP, IPPROTO_TCP, IPPROTO_UDP, IPV4_MIN_HLEN, rewriteTos } from './ipv4.js';
import {
  BURROW_CONFIG_FLAG, BURROW_PMTU_MIN, BURROW_ROUTE_FLAG, peerAllows,
  type NodeConfig, type Peer, type PeerMap, type PeerMode, type PmtuMap, type RouteTable,
} from './model.js';
import { lookupRoute } from './route-table.js';
import type { StatName } from './stats.js';
import { UDP_HLEN } from './udp.js';
import { VXLAN_FLAG_I, VXLAN_HLEN } from './vxlan.js';
import { resultOf, type DatapathResult, type Hook, type Verdict } from './verdict.js';

export interface DecapOptions {
  readonly peers: PeerMap;
  readonly config: NodeConfig;
  /** The `routes` map: step 12 looks up the inner source and destination in it. */
  readonly routes: RouteTable;
  /** Which program: only the return codes differ. Default 'xdp'. */
  readonly hook?: Hook;
  /** The `pmtu` map before the frame (step P6 keeps a narrower entry). Default: empty. */
  readonly pmtu?: PmtuMap;
}

export interface DecapResult extends DatapathResult {
  /** The tunnel mode recognised (from step 9 on). */
  readonly mode?: PeerMode;
  /** The peer found for the outer source (step 9), if any. */
  readonly peer?: Peer;
  /** Step P6: the `pmtu` entry written (peer → MTU, with a fresh learned_ns), if any. */
  readonly pmtuWrite?: { readonly peer: string; readonly mtu: number };
  /** Step 16 (tc, VXLAN carrying TCP, `config.groIfindex` set): the device the frame is redirected to. */
  readonly redirectIfindex?: number;
}

/** IHL·4 + 30 for VXLAN: outer UDP, VXLAN and inner Ethernet headers. */
const VXLAN_INNER_OFFSET = UDP_HLEN + VXLAN_HLEN + ETH_HLEN;

export function decap(frame: Uint8Array, options: DecapOptions): DecapResult {
  const hook = options.hook ?? 'xdp';
  const { config } = options;
  const end = (verdict: Verdict, counter: StatName, extra: Partial<DecapResult> = {}): DecapResult =>
    ({ ...resultOf(hook, verdict, counter, frame.slice()), ...extra });

  const outer = parseIpv4Frame(frame);
  if (outer === undefined) return end('pass', 'PASS');
  if (ipv4ToNumber(outer.dst) !== ipv4ToNumber(config.localIp)) return end('pass', 'PASS');
  if (outer.protocol !== IPPROTO_IPIP && outer.protocol !== IPPROTO_UDP && outer.protocol !== IPPROTO_ICMP) return end('pass', 'PASS');
  if (outer.isFragment) return end('pass', 'PASS_FRAGMENT');
  const ipLength = frame.length - ETH_HLEN;
  const hlen = outer.headerLength;
  const totLen = outer.totalLength;
  if (hlen > ipLength || totLen < hlen || totLen > ipLength) return end('drop', 'DROP_MALFORMED');
  if (outer.protocol === IPPROTO_ICMP) return pmtuClassify(frame, options, hlen, totLen, end);
  const mode: PeerMode = outer.protocol === IPPROTO_IPIP ? 'ipip' : 'vxlan';
  const udp = ETH_HLEN + hlen;
  if (mode === 'vxlan') {
    if (hlen + UDP_HLEN > totLen) return end('drop', 'DROP_MALFORMED');
    if (readU16(frame, udp + 2) !== config.vxlanPort) return end('pass', 'PASS');
  }
  const peer = options.peers.get(outer.src);
  if (peer === undefined || !peerAllows(peer, mode)) {
    return end('drop', 'DROP_UNKNOWN_PEER', { mode, ...(peer !== undefined ? { peer } : {}) });
  }
  let innerOffset = udp; // IPIP: the inner IPv4 header follows the outer one
  if (mode === 'vxlan') {
    if (hlen + VXLAN_INNER_OFFSET > totLen) return end('drop', 'DROP_MALFORMED', { mode, peer });
    const vxlan = udp + UDP_HLEN;
    if (((frame[vxlan] ?? 0) & VXLAN_FLAG_I) === 0) return end('drop', 'DROP_MALFORMED', { mode, peer });
    if (readU32(frame, vxlan + 4) >>> 8 !== peer.vni) return end('drop', 'DROP_BAD_VNI', { mode, peer });
    if (readU16(frame, vxlan + VXLAN_HLEN + 12) !== ETH_P_IP) return end('drop', 'DROP_MALFORMED', { mode, peer });
    innerOffset = udp + VXLAN_INNER_OFFSET;
  }
  const innerStart = innerOffset - ETH_HLEN; // relative to the outer IPv4 header, as tot_len is
  const innerB0 = frame[innerOffset] ?? 0;
  if (innerStart + IPV4_MIN_HLEN > totLen || innerB0 >>> 4 !== 4 || (innerB0 & 0x0f) < 5) {
    return end('drop', 'DROP_MALFORMED', { mode, peer });
  }
  const innerSrc = readU32(frame, innerOffset + 12);
  if (!innerSourceOk(options.routes, config, ipv4ToNumber(outer.src), innerSrc)) return end('drop', 'DROP_SPOOFED', { mode, peer });
  const dst = lookupRoute(options.routes, readU32(frame, innerOffset + 16));
  if (dst === undefined || (dst.route.flags & (BURROW_ROUTE_FLAG.IN_POOL | BURROW_ROUTE_FLAG.LOCAL)) === 0) {
    return end('drop', 'DROP_OUTSIDE_POOL', { mode, peer });
  }
  if (frame[innerOffset + 8] === 0) return end('drop', 'DROP_TTL', { mode, peer });
  const innerTos = frame[innerOffset + 1] ?? 0;
  const ecn = decapEcn(outer.ecn, innerTos & 3);
  if (ecn.action === 'drop') return end('drop', 'DROP_ECN', { mode, peer });

  const output = new Uint8Array(ETH_HLEN + frame.length - innerOffset);
  output.set(frame.subarray(0, ETH_HLEN), 0);
  output.set(frame.subarray(innerOffset), ETH_HLEN);
  const newTos = (innerTos & 0xfc) | ecn.innerEcn;
  if (newTos !== innerTos) rewriteTos(output, ETH_HLEN, newTos);
  const counter = mode === 'ipip' ? 'DECAP_IPIP' : 'DECAP_VXLAN';
  // Step 16: TCP through the tunnel device, whose GRO merges the inner segments.
  const groIfindex = config.groIfindex ?? 0;
  if (hook === 'tc' && mode === 'vxlan' && frame[innerOffset + 9] === IPPROTO_TCP && groIfindex !== 0) {
    output.set(macToBytes(config.tunnelMac ?? ZERO_MAC), 0);
    return { ...resultOf(hook, 'redirect', counter, output), mode, peer, redirectIfindex: groIfindex };
  }
  return { ...resultOf(hook, 'pass', counter, output), mode, peer };
}

/**
 * "Path MTU", steps P1–P6: an ICMP to us (its outer header passed steps 6–7). Reads nothing past
 * tot_len (hlen, totLen: the outer header's).
 */
function pmtuClassify(
  frame: Uint8Array, options: DecapOptions, hlen: number, totLen: number,
  end: (verdict: Verdict, counter: StatName, extra?: Partial<DecapResult>) => DecapResult,
): DecapResult {
  const { config } = options;
  const icmp = ETH_HLEN + hlen;
  // P1: type 3 code 4.
  if (hlen + ICMP_HLEN > totLen) return end('pass', 'PASS');
  if (frame[icmp] !== 3 || frame[icmp + 1] !== 4) return end('pass', 'PASS');
  const mtu = readU16(frame, icmp + 6);
  // P2: the quoted IPv4 header and 8 bytes after it, within tot_len.
  const q = icmp + ICMP_HLEN;
  if (hlen + ICMP_HLEN + IPV4_MIN_HLEN > totLen) return end('drop', 'DROP_MALFORMED');
  const qb0 = frame[q] ?? 0;
  if (qb0 >>> 4 !== 4 || (qb0 & 0x0f) < 5) return end('drop', 'DROP_MALFORMED');
  const qlen = (qb0 & 0x0f) * 4;
  if (hlen + ICMP_HLEN + qlen + 8 > totLen) return end('drop', 'DROP_MALFORMED');
  // P3: a tunnel packet.
  const qproto = frame[q + 9];
  if (qproto === IPPROTO_UDP) {
    if (readU16(frame, q + qlen + 2) !== config.vxlanPort) return end('pass', 'PASS');
  } else if (qproto !== IPPROTO_IPIP) {
    return end('pass', 'PASS');
  }
  // P4: one we sent (from us, to a peer, DF, not a fragment, bigger than the MTU named).
  const qfrag = readU16(frame, q + 6);
  const qdst = numberToIpv4(readU32(frame, q + 16));
  if (readU32(frame, q + 12) !== ipv4ToNumber(config.localIp) || (qfrag & 0x3fff) !== 0 || (qfrag & 0x4000) === 0 ||
      mtu >= readU16(frame, q + 2) || !options.peers.has(qdst)) {
    return end('drop', 'DROP_PMTU_FORGED');
  }
  // P5
  if (mtu < BURROW_PMTU_MIN) return end('drop', 'DROP_PMTU_TOO_SMALL');
  // P6: learn unless a narrower MTU is known.
  const old = options.pmtu?.get(qdst);
  return end('pass', 'PMTU_LEARNED', old === undefined || old >= mtu ? { pmtuWrite: { peer: qdst, mtu } } : {});
}

/**
 * Step 12, the inner source: the sending peer itself; else strict (default): the LPM entry for
 * it belongs to the sending peer (remote = outer source); with DECAP_SRC_POOL: an entry inside a
 * pool that is not one of our own blocks.
 */
function innerSourceOk(routes: RouteTable, config: NodeConfig, outerSrc: number, innerSrc: number): boolean {
  if (innerSrc === outerSrc) return true;
  const entry = lookupRoute(routes, innerSrc);
  if (entry === undefined) return false;
  const { flags } = entry.route;
  if ((config.flags & BURROW_CONFIG_FLAG.DECAP_SRC_POOL) !== 0) {
    return (flags & BURROW_ROUTE_FLAG.IN_POOL) !== 0 && (flags & BURROW_ROUTE_FLAG.LOCAL) === 0;
  }
  return ipv4ToNumber(entry.route.remote) === outerSrc;
}
