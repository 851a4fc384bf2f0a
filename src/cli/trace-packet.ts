/**
 * The pure half of `agentctl trace`: the packet it sends (built with the codec), what the codec
 * predicts the program does with it given the maps' contents, and how the real run compares.
 *
 * egress   a plain pod packet, as the tunnel device's TC egress sees it (tc_encap)
 * ingress  the frame a peer node would put on the wire: the same pod packet encapsulated by the
 *          codec with the route that node would use to reach --dst here (tc_decap / xdp_decap)
 */
import {
  BURROW_POOL_NONE,
  buildIcmpEchoFrame,
  buildTcpFrame,
  buildUdpFrame,
  decap,
  encap,
  lookupRoute,
  parseIpv4,
  peerAllows,
  peerMap,
  ETH_HLEN,
  type DatapathResult,
  type NexthopMap,
  type NodeConfig,
  type PeerMap,
  type PmtuMap,
  type PeerMode,
  type RouteEntry,
  type RouteTable,
  type TunnelMode,
} from '../codec/index.js';
import type { BurrowConfig, BurrowNexthop, BurrowPeer, BurrowPmtu, BurrowRoute, BurrowRouteKey } from '../bpf/index.js';
import { modeName } from '../agent/map-entries.js';
import { UsageError } from './output.js';

export type TraceHook = 'egress' | 'ingress';
export type TraceProto = 'tcp' | 'udp' | 'icmp';

export interface TracePacket {
  hook: TraceHook;
  src: string;
  dst: string;
  proto: TraceProto;
  sport: number;
  dport: number;
  tos: number;
  ttl: number;
  /** IPv4 total length of the pod packet. */
  size: number;
  df: boolean;
  /** ingress: the sending node (outer source); default: the remote of the route covering --src. */
  outerSrc?: string | undefined;
  /** ingress: the tunnel the sender uses; default: the route's mode if the peer may use it. */
  mode?: PeerMode | undefined;
  /** ingress: VXLAN VNI; default: the one the peer is allowed. */
  vni?: number | undefined;
}

/** The maps' contents in the codec's terms. */
export interface CodecTables {
  routes: RouteTable;
  peers: PeerMap;
  config: NodeConfig;
  /** tc_encap step 8a: agentd's next hops (their MACs go on the outer frame). */
  nexthops?: NexthopMap;
  /** The learned path MTUs (the MSS clamp's step 3b). */
  pmtu?: PmtuMap;
}

export function codecTables(
  routes: Iterable<[BurrowRouteKey, BurrowRoute]>,
  peers: Iterable<[string, BurrowPeer]>,
  config: BurrowConfig,
  more: { nexthops?: Iterable<[string, BurrowNexthop]>; pmtu?: Iterable<[string, BurrowPmtu]> } = {},
): CodecTables {
  return {
    ...(more.nexthops ? { nexthops: new Map([...more.nexthops].map(([peer, n]) => [peer, { ifindex: n.ifindex, dmac: n.dmac, smac: n.smac, mtu: n.mtu }])) } : {}),
    ...(more.pmtu ? { pmtu: new Map([...more.pmtu].map(([peer, p]) => [peer, p.mtu])) } : {}),
    routes: [...routes].map(([k, r]): RouteEntry => ({
      cidr: `${k.addr}/${k.prefixlen}`,
      route: { mode: modeName(r.mode) as TunnelMode, remote: r.remote, vni: r.vni, vtepMac: r.vtep_mac, flags: r.flags, pool: r.pool },
    })),
    peers: peerMap([...peers].map(([address, p]) => [address, { modes: p.modes, vni: p.vni }] as const)),
    config: {
      localIp: config.local_ip, uplinkIfindex: config.uplink_ifindex, uplinkMac: config.uplink_mac, vtepMac: config.vtep_mac,
      vxlanPort: config.vxlan_port, ttl: config.ttl, defaultVni: config.default_vni, uplinkMtu: config.uplink_mtu, flags: config.flags,
      mssIpip: config.mss_ipip, mssVxlan: config.mss_vxlan, groIfindex: config.gro_ifindex, tunnelMac: config.tunnel_mac,
    },
  };
}

const L4_HEADER: Record<TraceProto, number> = { tcp: 20, udp: 8, icmp: 8 };
export const POD_MAC = '02:00:00:00:00:01';
export const POD_GATEWAY_MAC = '02:00:00:00:00:02';
const PEER_UPLINK_MAC = '02:00:00:00:00:0a';
/** Any uplink: the modelled sender's tc_encap drops everything without one (DROP_NO_ROUTE). */
const PEER_UPLINK_IFINDEX = 2;

/** The pod packet in an Ethernet frame, its IPv4 total length exactly `p.size`. */
export function podFrame(p: TracePacket, eth: { src: string; dst: string }): Uint8Array {
  const payloadLength = p.size - 20 - L4_HEADER[p.proto];
  if (payloadLength < 0) throw new UsageError(`--size: a ${p.proto} packet needs at least ${20 + L4_HEADER[p.proto]} bytes`);
  const payload = new Uint8Array(payloadLength).map((_, i) => i & 0xff);
  const common = { src: p.src, dst: p.dst, tos: p.tos, ttl: p.ttl, df: p.df, id: p.df ? 0 : 0x1234, ethSrc: eth.src, ethDst: eth.dst, payload };
  switch (p.proto) {
    case 'tcp':
      return buildTcpFrame({ ...common, sport: p.sport, dport: p.dport, tcpFlags: 0x02 });
    case 'udp':
      return buildUdpFrame({ ...common, sport: p.sport, dport: p.dport });
    case 'icmp':
      return buildIcmpEchoFrame({ ...common, identifier: p.sport, sequence: 1 });
  }
}

export interface IngressSender {
  outerSrc: string;
  mode: PeerMode;
  vni: number;
  /** The route here that told us who sends --src (undefined when --outer-src said so). */
  route: RouteEntry | undefined;
}

/** Who would send this packet to us, over which tunnel. */
export function ingressSender(p: TracePacket, t: CodecTables): IngressSender {
  const route = lookupRoute(t.routes, p.src);
  const outerSrc = p.outerSrc ?? route?.route.remote;
  if (outerSrc === undefined) {
    throw new UsageError(`--src ${p.src}: no route here covers it, so the sending node is unknown; give --outer-src`);
  }
  const peer = t.peers.get(outerSrc);
  const routeMode = route?.route.mode === 'ipip' || route?.route.mode === 'vxlan' ? route.route.mode : undefined;
  const allowed = (['ipip', 'vxlan'] as const).filter((m) => peer && peerAllows(peer, m));
  const mode = p.mode ?? (routeMode && allowed.includes(routeMode) ? routeMode : (allowed[0] ?? routeMode ?? 'ipip'));
  return { outerSrc, mode, vni: p.vni ?? peer?.vni ?? t.config.defaultVni, route };
}

/** The frame a sender puts on the wire to us: encapsulated by the codec as that node's tc_encap would. */
export function ingressFrame(p: TracePacket, t: CodecTables, sender: IngressSender): Uint8Array {
  const inner = podFrame(p, { src: PEER_UPLINK_MAC, dst: t.config.uplinkMac });
  const senderConfig: NodeConfig = {
    localIp: sender.outerSrc, uplinkIfindex: PEER_UPLINK_IFINDEX, uplinkMac: PEER_UPLINK_MAC,
    vtepMac: sender.route?.route.vtepMac ?? '66:00:00:00:00:01', vxlanPort: t.config.vxlanPort, ttl: 64,
    defaultVni: sender.vni, uplinkMtu: 0, flags: 0,
  };
  const toUs: RouteTable = [{
    cidr: `${p.dst}/32`,
    route: { mode: sender.mode, remote: t.config.localIp, vni: sender.vni, vtepMac: t.config.vtepMac, flags: 0, pool: BURROW_POOL_NONE },
  }];
  const sent = encap(inner, { routes: toUs, config: senderConfig, hook: 'tc' });
  if (sent.verdict !== 'redirect') {
    throw new UsageError(`the sender would not encapsulate this packet (its tc_encap says ${sent.counter.toLowerCase()}): is --dst ${p.dst} a node address?`);
  }
  return sent.output;
}

export interface Prediction {
  result: DatapathResult;
  /** egress: the LPM entry for --dst; ingress: undefined. */
  route?: RouteEntry | undefined;
}

/**
 * What the codec says the program does. Egress: when the program chose a random outer IP ID
 * (inner DF clear), the ID it wrote is substituted, as the differential tests do.
 */
export function predict(hook: TraceHook, frame: Uint8Array, t: CodecTables, programOutput: Uint8Array, xdp: boolean): Prediction {
  if (hook === 'ingress') return { result: decap(frame, { peers: t.peers, config: t.config, routes: t.routes, hook: xdp ? 'xdp' : 'tc' }) };
  const outer = parseIpv4(programOutput, ETH_HLEN);
  const ipId = outer && outer.id !== 0 ? outer.id : undefined;
  const r = encap(frame, {
    routes: t.routes, peers: t.peers, config: t.config, hook: 'tc', skbMaxLen: 65550, ...(ipId ? { ipId } : {}),
    ...(t.nexthops ? { nexthops: t.nexthops } : {}), ...(t.pmtu ? { pmtu: t.pmtu } : {}),
  });
  return { result: r, route: r.route };
}

export interface CounterDelta {
  name: string;
  packets: number;
  bytes: number;
}

export interface Comparison {
  agree: boolean;
  disagreements: string[];
  /** Counters other than the predicted one that moved (live traffic meanwhile, or a bug). */
  otherCounters: string[];
}

export function compareWithPrediction(
  run: { retval: number; output: Uint8Array; moved: readonly CounterDelta[] },
  prediction: DatapathResult,
  inputLength: number,
): Comparison {
  const disagreements: string[] = [];
  if (run.retval !== prediction.retval) disagreements.push(`verdict: program returned ${run.retval}, codec predicts ${prediction.retval} (${prediction.verdict})`);
  const counter = prediction.counter.toLowerCase();
  const moved = run.moved.find((c) => c.name === counter);
  if (!moved || moved.packets < 1 || moved.bytes < inputLength) {
    disagreements.push(`counters: codec predicts ${counter} +1 packet +${inputLength} bytes; it moved ${moved ? `+${moved.packets} packets` : 'not at all'}`);
  }
  // Side counters the codec predicts (mss_clamped, mss_malformed for a SYN) must move too.
  const sides = (prediction.also ?? []).map((c) => c.toLowerCase());
  for (const side of sides) {
    if (!run.moved.some((c) => c.name === side && c.packets >= 1)) disagreements.push(`counters: codec predicts ${side} +1 packet besides ${counter}; it did not move`);
  }
  const same = run.output.length === prediction.output.length && run.output.every((b, i) => b === prediction.output[i]);
  if (!same) disagreements.push(`output: ${firstDifference(run.output, prediction.output)}`);
  const expected = new Set([counter, ...sides]);
  return { agree: disagreements.length === 0, disagreements, otherCounters: run.moved.filter((c) => !expected.has(c.name)).map((c) => c.name) };
}

function firstDifference(a: Uint8Array, b: Uint8Array): string {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `byte ${i} is 0x${a[i]!.toString(16)}, codec predicts 0x${b[i]!.toString(16)}`;
  return `program output is ${a.length} bytes, codec predicts ${b.length}`;
}
