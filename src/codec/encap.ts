// The encapsulation programs, tc_encap and xdp_encap, step by step as docs/datapath.md states
// them. Pure: the kernel's contributions (random IP ID, FIB lookup, room to grow) are options.
import { ipv4ToNumber, readU16 } from './address.js';
import { ETH_HLEN, ETH_P_IP, writeEthernet } from './ethernet.js';
import { parseIpv4Frame } from './frame-parse.js';
import { IPPROTO_IPIP, IPPROTO_UDP, type Ipv4Header } from './ipv4.js';
import { BURROW_CONFIG_FLAG, tunnelOverhead, type Nexthop, type NexthopMap, type NodeConfig, type PeerMap, type PeerMode, type PmtuMap, type RouteEntry, type RouteTable } from './model.js';
import { clampMss, mssCounter } from './mss.js';
import { lookupRoute } from './route-table.js';
import type { StatName } from './stats.js';
import { buildTunnelHeaders } from './tunnel-headers.js';
import { resultOf, type DatapathResult, type Hook, type Verdict } from './verdict.js';

/** The headroom before every XDP frame (the kernel's XDP_PACKET_HEADROOM), BPF_PROG_TEST_RUN's included. */
export const XDP_PACKET_HEADROOM = 256;

/** What bpf_fib_lookup is asked (docs/datapath.md xdp_encap step 8, tc_encap step 8b). */
export interface FibQuery {
  /** cfg.local_ip. */
  readonly src: string;
  /** route.remote. */
  readonly dst: string;
  /** The ingress ifindex (tc: skb->ifindex). */
  readonly ifindex: number;
  /**
   * The outer IPv4 total length (a real FIB answers "frag needed" when it exceeds the MTU);
   * tc: 0 for a GSO packet (no MTU check).
   */
  readonly totLen: number;
}

/**
 * The FIB's answer. xdp_encap takes only 'success'; tc_encap (with UPLINK_FIB) also redirects on
 * 'no-neigh' (bpf_redirect_neigh resolves the next hop), drops 'frag-needed' as too big and
 * anything else ('fail': no route, not unicast) as no route.
 */
export type FibResult =
  | { readonly result: 'success'; readonly ifindex: number; readonly smac: string; readonly dmac: string }
  | { readonly result: 'no-neigh'; readonly ifindex: number }
  | { readonly result: 'frag-needed' }
  | { readonly result: 'fail' };

/** The FIB/neighbour model: called with the outer destination (route.remote) and the full query. */
export type FibLookup = (remote: string, query: FibQuery) => FibResult;

export interface EncapOptions {
  readonly routes: RouteTable;
  readonly config: NodeConfig;
  /** The `peers` map: step 5 never tunnels to a peer's address. Default: empty. */
  readonly peers?: PeerMap;
  readonly hook: Hook;
  /**
   * Outer IPv4 ID when the inner DF bit is clear: the program's random choice, which the test
   * reads from its output and substitutes here (1–65535; the program never writes 0). Default 1.
   */
  readonly ipId?: number;
  /** tc: the skb is GSO (skips the MTU check). BPF_PROG_TEST_RUN never is. Default false. */
  readonly gso?: boolean;
  /**
   * tc: the kernel's __bpf_skb_max_len (device MTU + hard header length; 65550 on the loopback
   * device BPF_PROG_TEST_RUN uses). bpf_skb_adjust_room fails when a non-GSO frame would exceed
   * it. Default: no limit.
   */
  readonly skbMaxLen?: number;
  /** xdp: required; tc: required when config.flags has UPLINK_FIB (step 8b). */
  readonly fib?: FibLookup;
  /**
   * The `nexthops` map (tc step 8a, xdp step 8): a peer found there gets the entry's MACs and
   * device, without the FIB or the kernel's neighbour lookup. Default: empty.
   */
  readonly nexthops?: NexthopMap;
  /** The `pmtu` map: xdp step 7b, and the MSS clamp's step 3b (both hooks). Default: empty. */
  readonly pmtu?: PmtuMap;
  /** xdp: the ingress ifindex; tc: skb->ifindex (BPF_PROG_TEST_RUN: the loopback device, 1). Default 1. */
  readonly ingressIfindex?: number;
  /**
   * xdp: headroom before the frame (XDP_PACKET_HEADROOM, 256, in BPF_PROG_TEST_RUN).
   * bpf_xdp_adjust_head fails when less than sizeof(struct xdp_frame) = 40 would remain.
   */
  readonly xdpHeadroom?: number;
}

export interface EncapResult extends DatapathResult {
  /** The LPM entry matched by the inner destination (step 4), if any. */
  readonly route: RouteEntry | undefined;
  /** The tunnel mode used, when encapsulated. */
  readonly mode?: PeerMode;
  /**
   * The outer ID (output bytes 18–19) is the program's random choice, not determined by the
   * input: inner DF clear and the frame encapsulated. Substitute it via `ipId`.
   */
  readonly outerIdRandom: boolean;
  /**
   * Where a redirect sends the frame: the next hop's device (both hooks, when `nexthops` has the
   * peer), else cfg.uplink_ifindex (tc) or the FIB egress (xdp; tc with UPLINK_FIB).
   */
  readonly redirectIfindex?: number;
  /**
   * tc: the kernel resolves the neighbour (bpf_redirect_neigh) and rewrites the Ethernet header
   * the output shows as the input's; false when the next hop's MACs were written (bpf_redirect).
   */
  readonly redirectNeigh?: boolean;
  /** What was asked of the FIB, when xdp step 8 or tc step 8b (UPLINK_FIB) was reached. */
  readonly fibQuery?: FibQuery;
}

const XDP_FRAME_SIZE = 40;

export function encap(frame: Uint8Array, options: EncapOptions): EncapResult {
  if (options.hook === 'xdp' && options.fib === undefined) throw new TypeError('xdp encap needs a fib model (options.fib)');
  if (options.hook === 'tc' && (options.config.flags & BURROW_CONFIG_FLAG.UPLINK_FIB) !== 0 && options.fib === undefined) {
    throw new TypeError('tc encap with the UPLINK_FIB flag needs a fib model (options.fib)');
  }
  const ip = parseIpv4Frame(frame);
  if (ip === undefined) return finish(options.hook, 'pass', 'PASS', frame, undefined);
  const entry = lookupRoute(options.routes, ip.dst);
  const mode = entry?.route.mode;
  // Step 4 passes any mode that is neither IPIP nor VXLAN: NONE, or a value burrow.h does not define.
  if (entry === undefined || (mode !== 'ipip' && mode !== 'vxlan')) return finish(options.hook, 'pass', 'PASS', frame, entry);
  const { route } = entry;
  const dst = ipv4ToNumber(ip.dst);
  if (dst === ipv4ToNumber(route.remote) || dst === ipv4ToNumber(options.config.localIp) || isPeer(options.peers, dst)) {
    return finish(options.hook, 'pass', 'PASS_TUNNEL_ENDPOINT', frame, entry);
  }
  if (isTunnelPacket(frame, ip, options.config)) {
    return finish(options.hook, 'drop', 'DROP_ALREADY_ENCAP', frame, entry);
  }
  const overhead = tunnelOverhead(mode);
  const mtu = options.config.uplinkMtu;
  const fits = !outerExceeds(frame, overhead, mtu);
  const id = outerId(ip, options.ipId);
  return options.hook === 'tc'
    ? encapTc(frame, ip, entry, mode, fits, id, options)
    : encapXdp(frame, ip, entry, mode, fits, id, options);
}

/** Step 5: the address is a key of `peers` (a tunnel endpoint of another node). */
function isPeer(peers: PeerMap | undefined, dst: number): boolean {
  if (peers === undefined) return false;
  for (const address of peers.keys()) if (ipv4ToNumber(address) === dst) return true;
  return false;
}

/** The MSS clamp of a mode (0: off). */
export function mssClampOf(config: NodeConfig, mode: PeerMode): number {
  return (mode === 'ipip' ? config.mssIpip : config.mssVxlan) ?? 0;
}

/** The smallest path MTU believed (BURROW_PMTU_MIN, the kernel's min_pmtu). */
export const PMTU_MIN = 552;

/**
 * The clamp a SYN to `remote` gets: the mode's (0: off), lowered to `learned − overhead − 40`
 * when a path MTU of at least 552 has been learned to the peer (MSS clamping step 3b).
 */
export function effectiveMssClamp(config: NodeConfig, mode: PeerMode, learned: number | undefined): number {
  const clamp = mssClampOf(config, mode);
  if (clamp === 0 || learned === undefined || learned < PMTU_MIN) return clamp;
  return Math.min(clamp, learned - tunnelOverhead(mode) - 40);
}

/**
 * The inner frame as it leaves, after the MSS clamp (step 10 for tc, 10 for xdp: after the
 * outer headers are written, which do not depend on the MSS), and the side counter it moves.
 */
function clampedInner(frame: Uint8Array, ip: Ipv4Header, mode: PeerMode, options: EncapOptions, remote: string): { inner: Uint8Array; also?: readonly StatName[] } {
  const inner = frame.slice();
  const counter = mssCounter(clampMss(inner, ip, effectiveMssClamp(options.config, mode, options.pmtu?.get(remote))));
  return counter !== undefined ? { inner, also: [counter] } : { inner };
}

/** Step 6: inner protocol 4, or an unfragmented UDP packet whose header is in the frame, to the VXLAN port. */
export function isTunnelPacket(frame: Uint8Array, ip: Ipv4Header, config: NodeConfig): boolean {
  if (ip.protocol === IPPROTO_IPIP) return true;
  if (ip.protocol !== IPPROTO_UDP || ip.isFragment) return false;
  const udp = ETH_HLEN + ip.headerLength;
  return udp + 8 <= frame.length && readU16(frame, udp + 2) === config.vxlanPort;
}

function outerId(ip: Ipv4Header, ipId: number | undefined): number {
  if (ip.df) return 0;
  const id = ipId ?? 1;
  if (!Number.isInteger(id) || id < 1 || id > 0xffff) {
    throw new RangeError(`outer IP ID must be 1–65535 when DF is clear (the program never writes 0), got ${id}`);
  }
  return id;
}

function encapTc(
  frame: Uint8Array, ip: Ipv4Header, entry: RouteEntry, mode: PeerMode, fits: boolean, id: number, options: EncapOptions,
): EncapResult {
  // Step 7: without an uplink, bpf_redirect_neigh(0) would drop the packet unseen.
  if (options.config.uplinkIfindex === 0) return finish('tc', 'drop', 'DROP_NO_ROUTE', frame, entry);
  const gso = options.gso ?? false;
  if (!fits && !gso) return finish('tc', 'drop', 'DROP_TOO_BIG', frame, entry);
  const overhead = tunnelOverhead(mode);
  // Step 8a: the next hop agentd keeps for the peer (docs/datapath.md, "Next hops").
  const nh = nexthopOf(options.nexthops, entry.route.remote);
  if (nh !== undefined) {
    if (!gso && outerExceeds(frame, overhead, nh.mtu)) return finish('tc', 'drop', 'DROP_TOO_BIG', frame, entry);
    if (!gso && options.skbMaxLen !== undefined && frame.length + overhead > options.skbMaxLen) {
      return finish('tc', 'drop', 'DROP_ENCAP_FAILED', frame, entry);
    }
    return encapsulated('tc', 'redirect', frame, ip, entry, mode, id, options, nh, nh.ifindex);
  }
  // Step 8b: the uplink, fixed or the FIB's choice for the peer (docs/datapath.md, "Loopback tunnel source").
  let redirectIfindex = options.config.uplinkIfindex;
  let fibQuery: FibQuery | undefined;
  if ((options.config.flags & BURROW_CONFIG_FLAG.UPLINK_FIB) !== 0) {
    fibQuery = {
      src: options.config.localIp,
      dst: entry.route.remote,
      ifindex: options.ingressIfindex ?? 1,
      totLen: gso ? 0 : frame.length - ETH_HLEN + overhead,
    };
    const fib = (options.fib as FibLookup)(entry.route.remote, fibQuery);
    if (fib.result === 'frag-needed') return { ...finish('tc', 'drop', 'DROP_TOO_BIG', frame, entry), fibQuery };
    if (fib.result === 'fail') return { ...finish('tc', 'drop', 'DROP_NO_ROUTE', frame, entry), fibQuery };
    redirectIfindex = fib.ifindex;
  }
  if (!gso && options.skbMaxLen !== undefined && frame.length + overhead > options.skbMaxLen) {
    return { ...finish('tc', 'drop', 'DROP_ENCAP_FAILED', frame, entry), ...(fibQuery ? { fibQuery } : {}) };
  }
  return { ...encapsulated('tc', 'redirect', frame, ip, entry, mode, id, options, undefined, redirectIfindex), ...(fibQuery ? { fibQuery } : {}) };
}

/** The frame's outer packet is larger than `mtu` (0: not checked): the uplink's (step 8) and a next hop's (8a). */
function outerExceeds(frame: Uint8Array, overhead: number, mtu: number): boolean {
  return mtu !== 0 && frame.length - ETH_HLEN + overhead > mtu;
}

/** The `nexthops` entry of a peer. */
function nexthopOf(nexthops: NexthopMap | undefined, remote: string): Nexthop | undefined {
  if (nexthops === undefined || nexthops.size === 0) return undefined;
  const want = ipv4ToNumber(remote);
  for (const [peer, nh] of nexthops) if (ipv4ToNumber(peer) === want) return nh;
  return undefined;
}

/**
 * The encapsulated frame and its result: the outer headers after an Ethernet header that is the
 * input's (tc, the kernel resolves the neighbour) or carries `l2`'s MACs (a next hop, or xdp's FIB).
 */
function encapsulated(
  hook: Hook, verdict: Verdict, frame: Uint8Array, ip: Ipv4Header, entry: RouteEntry, mode: PeerMode, id: number, options: EncapOptions,
  l2: { readonly dmac: string; readonly smac: string } | undefined, redirectIfindex: number,
): EncapResult {
  const overhead = tunnelOverhead(mode);
  const headers = buildTunnelHeaders({ frame, inner: ip, mode, route: entry.route, config: options.config, id });
  const { inner, also } = clampedInner(frame, ip, mode, options, entry.route.remote);
  const output = new Uint8Array(frame.length + overhead);
  if (l2 === undefined) output.set(frame.subarray(0, ETH_HLEN), 0);
  else writeEthernet(output, 0, { dst: l2.dmac, src: l2.smac, etherType: ETH_P_IP });
  output.set(headers, ETH_HLEN);
  output.set(inner.subarray(ETH_HLEN), ETH_HLEN + overhead);
  return {
    ...resultOf(hook, verdict, mode === 'ipip' ? 'ENCAP_IPIP' : 'ENCAP_VXLAN', output),
    ...(also ? { also } : {}),
    route: entry,
    mode,
    outerIdRandom: !ip.df,
    ...(verdict === 'redirect' ? { redirectIfindex } : {}),
    ...(hook === 'tc' ? { redirectNeigh: l2 === undefined } : {}),
  };
}

function encapXdp(
  frame: Uint8Array, ip: Ipv4Header, entry: RouteEntry, mode: PeerMode, fits: boolean, id: number, options: EncapOptions,
): EncapResult {
  if (!fits) return finish('xdp', 'pass', 'PASS_TOO_BIG', frame, entry);
  const overhead = tunnelOverhead(mode);
  // Step 7b: too big for the path MTU learned to the peer: the stack's route says the inner MTU.
  const learned = options.pmtu?.get(entry.route.remote);
  if (learned !== undefined && frame.length - ETH_HLEN + overhead > learned) return finish('xdp', 'pass', 'PASS_PMTU', frame, entry);
  const ingressIfindex = options.ingressIfindex ?? 1;
  // Step 8: the next hop agentd keeps for the peer (docs/datapath.md, "Next hops"), else the FIB's.
  const nh = nexthopOf(options.nexthops, entry.route.remote);
  if (nh !== undefined) {
    if (outerExceeds(frame, overhead, nh.mtu)) return finish('xdp', 'pass', 'PASS_TOO_BIG', frame, entry);
    if ((options.xdpHeadroom ?? XDP_PACKET_HEADROOM) - overhead < XDP_FRAME_SIZE) return finish('xdp', 'drop', 'DROP_ENCAP_FAILED', frame, entry);
    return encapsulated('xdp', nh.ifindex === ingressIfindex ? 'tx' : 'redirect', frame, ip, entry, mode, id, options, nh, nh.ifindex);
  }
  const fibQuery: FibQuery = {
    src: options.config.localIp,
    dst: entry.route.remote,
    ifindex: ingressIfindex,
    totLen: frame.length - ETH_HLEN + overhead,
  };
  const fib = (options.fib as FibLookup)(entry.route.remote, fibQuery);
  if (fib.result !== 'success') return { ...finish('xdp', 'pass', 'PASS_FIB', frame, entry), fibQuery };
  if ((options.xdpHeadroom ?? XDP_PACKET_HEADROOM) - overhead < XDP_FRAME_SIZE) {
    return { ...finish('xdp', 'drop', 'DROP_ENCAP_FAILED', frame, entry), fibQuery };
  }
  const verdict: Verdict = fib.ifindex === ingressIfindex ? 'tx' : 'redirect';
  return { ...encapsulated('xdp', verdict, frame, ip, entry, mode, id, options, fib, fib.ifindex), fibQuery };
}

function finish(hook: Hook, verdict: Verdict, counter: StatName, frame: Uint8Array, route: RouteEntry | undefined): EncapResult {
  return { ...resultOf(hook, verdict, counter, frame.slice()), route, outerIdRandom: false };
}
