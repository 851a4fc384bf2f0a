// fast-check scenarios for the encapsulation programs: a node config, a route table, and a frame
// biased to reach every step of tc_encap / xdp_encap (destinations drawn from the table's CIDRs,
// sizes around the MTU, tunnel packets, node addresses, junk). Test-only.
import fc from 'fast-check';
import { parseIpv4Frame } from '../../src/codec/frame-parse.js';
import { ipv4ToNumber, numberToIpv4, parseCidr, prefixMask } from '../../src/codec/address.js';
import type { EncapOptions, FibLookup, FibResult } from '../../src/codec/encap.js';
import { ETH_HLEN } from '../../src/codec/ethernet.js';
import { IPPROTO_IPIP } from '../../src/codec/ipv4.js';
import { peerMap, tunnelOverhead, type Nexthop, type NodeConfig, type PeerMap, type RouteEntry, type TunnelRoute } from '../../src/codec/model.js';
import { lookupRoute } from '../../src/codec/route-table.js';
import { acceptedByTestRun } from './test-run-input.js';
import type { Hook } from '../../src/codec/verdict.js';
import {
  arbBadIpHeaderFrame, arbGarbageFrame, arbNodeAddress, arbNonIpv4Frame, arbPacketPlan, arbVlanFrame, buildPacketFrame,
  plannedFrameLength, type PacketPlan,
} from './packets.js';
import { arbFibResult, arbNexthop, arbNodeConfig, arbPrefixLength, arbRouteTable, arbTunnelRoute } from './tables.js';
import { applyTruncation, arbTruncationPlan, type TruncationPlan } from './truncation.js';

export type EncapFrameKind =
  | 'routed' | 'near-mtu' | 'route-remote' | 'local' | 'peer-endpoint' | 'tunnel' | 'random-dst' | 'truncated' | 'junk';

export interface EncapScenario {
  /** How the frame was made (for reading counterexamples and checking coverage). */
  readonly kind: EncapFrameKind;
  readonly frame: Uint8Array;
  readonly routes: RouteEntry[];
  readonly config: NodeConfig;
  /** The `peers` map: other nodes' tunnel endpoints (step 5 never tunnels to one). */
  readonly peers: PeerMap;
  readonly hook: Hook;
  /** The outer ID to model (what the program's random choice is replaced by). */
  readonly ipId: number;
  readonly ingressIfindex: number;
  /** The generated FIB answer (xdp), unless a fixed `fib` was given. */
  readonly fibResult: FibResult;
  /** Ready for encap(frame, options). */
  readonly options: EncapOptions;
}

export interface EncapScenarioOptions {
  /** Only this hook; default: both. */
  readonly hook?: Hook;
  /** A fixed FIB model (e.g. the test's real network), instead of generated answers. */
  readonly fib?: FibLookup;
  /** A fixed ingress ifindex; default 1 mostly. */
  readonly ingressIfindex?: number;
  /** Passed through to the options (tc). */
  readonly skbMaxLen?: number;
  /** Only frames BPF_PROG_TEST_RUN accepts for the scenario's hook (see acceptedByTestRun). */
  readonly testRunnable?: boolean;
  /** The devices a generated next hop may name (a live run must redirect to a real one); default: 1–16. */
  readonly nexthopIfindexes?: readonly number[];
}

/**
 * How one frame of an encap scenario is made, before the table it is aimed at is known; the
 * fuzz campaign's batches (test/bpf/harness) draw their frames from here too.
 */
export type EncapFrameSpec =
  | { kind: 'routed' | 'tunnel' | 'truncated'; packet: PacketPlan; routePick: number; hostBits: number; tunnel: 'ipip' | 'vxlan'; truncation: TruncationPlan }
  | { kind: 'near-mtu'; packet: PacketPlan; routePick: number; hostBits: number; mtuDelta: number }
  | { kind: 'route-remote' | 'local'; packet: PacketPlan; routePick: number; prefixLength: number; extraRoute: TunnelRoute }
  | { kind: 'peer-endpoint'; packet: PacketPlan; routePick: number; hostBits: number }
  | { kind: 'random-dst'; packet: PacketPlan }
  | { kind: 'junk'; frame: Uint8Array };

/** The kinds of frame and their weights. */
export function arbEncapFrameSpec(): fc.Arbitrary<EncapFrameSpec> {
  const packet = arbPacketPlan({ fragmentWeight: 2, vxlanPortWeight: 0 });
  const routed = { packet, routePick: fc.nat(), hostBits: fc.integer({ min: 0, max: 0xffffffff }) };
  const kinds = <K extends string>(...k: K[]) => fc.constantFrom(...k);
  return fc.oneof(
    { weight: 10, arbitrary: fc.record({ kind: kinds('routed' as const), ...routed, tunnel: fc.constant('ipip' as const), truncation: arbTruncationPlan() }) },
    { weight: 3, arbitrary: fc.record({ kind: kinds('tunnel' as const), ...routed, tunnel: kinds('ipip' as const, 'vxlan' as const), truncation: arbTruncationPlan() }) },
    { weight: 2, arbitrary: fc.record({ kind: kinds('truncated' as const), ...routed, tunnel: fc.constant('ipip' as const), truncation: arbTruncationPlan() }) },
    { weight: 4, arbitrary: fc.record({ kind: kinds('near-mtu' as const), ...routed, mtuDelta: fc.integer({ min: -2, max: 2 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: kinds('route-remote' as const, 'local' as const),
        packet,
        routePick: fc.nat(),
        prefixLength: arbPrefixLength(),
        extraRoute: arbTunnelRoute({ modes: ['ipip', 'vxlan'] }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: kinds('peer-endpoint' as const), packet, routePick: fc.nat(), hostBits: fc.integer({ min: 0, max: 0xffffffff }) }) },
    { weight: 2, arbitrary: fc.record({ kind: kinds('random-dst' as const), packet }) },
    { weight: 2, arbitrary: fc.record({ kind: kinds('junk' as const), frame: fc.oneof(arbNonIpv4Frame(), arbVlanFrame(), arbGarbageFrame(), arbBadIpHeaderFrame()) }) },
  );
}

export function arbEncapScenario(opts: EncapScenarioOptions = {}): fc.Arbitrary<EncapScenario> {
  return fc.record({
    config: arbNodeConfig(),
    routes: arbRouteTable({ minLength: 1 }),
    hook: opts.hook !== undefined ? fc.constant(opts.hook) : fc.constantFrom<Hook>('tc', 'xdp'),
    ipId: fc.oneof(fc.constantFrom(1, 0xffff), fc.integer({ min: 1, max: 0xffff })),
    ingressIfindex: opts.ingressIfindex !== undefined ? fc.constant(opts.ingressIfindex) : fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 4 }) }),
    fibResult: arbFibResult(1),
    spec: arbEncapFrameSpec(),
    otherPeers: fc.array(arbNodeAddress(), { maxLength: 3 }),
    // xdp step 7b: a path MTU learned for the frame's remote (around the outer length), or for any remote.
    learned: fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('around' as const), delta: fc.integer({ min: -3, max: 3 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('any' as const), pick: fc.nat(), mtu: fc.integer({ min: 552, max: 65535 }) }) },
    ),
    // tc step 8a, xdp step 8: agentd's next hop for the frame's remote, for another remote, or none.
    nexthop: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('frame' as const), nh: arbNexthop(1) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('any' as const), pick: fc.nat(), nh: arbNexthop(1) }) },
    ),
  }).map(({ config, routes, hook, ipId, ingressIfindex, fibResult, spec, otherPeers, learned, nexthop }) => {
    const { frame, routes: table, peers: needed } = resolveEncapFrame(spec, config, routes);
    const peers = peerMap([...otherPeers, ...needed].map((a) => [a, { modes: 3, vni: 4096 }] as const));
    const fib: FibLookup = opts.fib ?? (() => fibResult);
    // The route the frame takes (if any) and its outer length: what 'around' MTUs are taken from.
    const ip = parseIpv4Frame(frame);
    const framesEntry = ip && lookupRoute(table, ip.dst);
    const outerOf = (entry: RouteEntry | undefined) => frame.length - ETH_HLEN + (entry?.route.mode === 'vxlan' ? 50 : 20);
    const pmtu = new Map<string, number>();
    if (learned?.kind === 'any' && table.length > 0) pmtu.set(table[learned.pick % table.length]!.route.remote, learned.mtu);
    if (learned?.kind === 'around' && framesEntry) pmtu.set(framesEntry.route.remote, Math.max(0, outerOf(framesEntry) + learned.delta));
    const nexthops = new Map<string, Nexthop>();
    if (nexthop !== undefined && table.length > 0) {
      const entry = nexthop.kind === 'frame' ? framesEntry : table[nexthop.pick % table.length];
      const { mtu, ...rest } = nexthop.nh;
      const devices = opts.nexthopIfindexes;
      const ifindex = devices?.length ? devices[rest.ifindex % devices.length]! : rest.ifindex === 1 ? ingressIfindex : rest.ifindex;
      if (entry) nexthops.set(entry.route.remote, { ...rest, ifindex, mtu: aroundMtu(mtu, outerOf(entry)) });
    }
    const options: EncapOptions = {
      routes: table, config, peers, hook, ipId, ingressIfindex, fib, ...(pmtu.size ? { pmtu } : {}), ...(nexthops.size ? { nexthops } : {}),
      ...(opts.skbMaxLen !== undefined ? { skbMaxLen: opts.skbMaxLen } : {}),
    };
    return { kind: spec.kind, frame, routes: table, config, peers, hook, ipId, ingressIfindex, fibResult, options };
  }).filter((s) => !opts.testRunnable || acceptedByTestRun(s.frame, s.hook));
}

/** A generated next hop MTU: a number as is, or `outer + delta` clamped to 0–65535 (0: not checked). */
export function aroundMtu(mtu: { delta: number } | number, outer: number): number {
  return typeof mtu === 'number' ? mtu : Math.min(0xffff, Math.max(0, outer + mtu.delta));
}

/** MTUs above this (the wide tables of the fuzz campaign) would make near-MTU frames longer than a test run takes. */
const NEAR_MTU_MAX = 3000;

/**
 * The frame of `spec` against `config` and `routes` (at least one entry), and the table to run it
 * against: `routes`, plus for the 'route-remote' and 'local' kinds a route around the frame's
 * destination (routeAround); `peers`, the addresses the frame needs in the `peers` map: for
 * 'peer-endpoint', a destination inside a route that is a peer's tunnel endpoint — one of
 * `knownPeers` when given (a batch's fixed map), else an address inside a route.
 */
export function resolveEncapFrame(
  spec: EncapFrameSpec, config: NodeConfig, routes: RouteEntry[], knownPeers: readonly string[] = [],
): { frame: Uint8Array; routes: RouteEntry[]; peers: string[] } {
  const pick = (n: number): RouteEntry => routes[n % routes.length] as RouteEntry;
  const withDst = (plan: PacketPlan, dst: string): PacketPlan => ({ ...plan, ip: { ...plan.ip, dst } });
  switch (spec.kind) {
    case 'junk':
      return { frame: spec.frame, routes, peers: [] };
    case 'random-dst':
      return { frame: buildPacketFrame(spec.packet), routes, peers: [] };
    case 'peer-endpoint': {
      const known = knownPeers[spec.routePick % Math.max(1, knownPeers.length)];
      const dst = known ?? addressIn(pick(spec.routePick), spec.hostBits);
      return { frame: buildPacketFrame(withDst(spec.packet, dst), { vxlanPort: config.vxlanPort }), routes, peers: known ? [] : [dst] };
    }
    case 'route-remote':
    case 'local': {
      const dst = spec.kind === 'local' ? config.localIp : pick(spec.routePick).route.remote;
      const extra = routeAround(dst, spec.prefixLength, spec.extraRoute, spec.kind === 'route-remote');
      return { frame: buildPacketFrame(withDst(spec.packet, dst)), routes: [...routes, extra], peers: [] };
    }
    case 'near-mtu': {
      const plan = withDst(spec.packet, addressIn(pick(spec.routePick), spec.hostBits));
      const matched = lookupRoute(routes, plan.ip.dst)?.route.mode;
      const overhead = matched === 'vxlan' ? tunnelOverhead('vxlan') : tunnelOverhead('ipip');
      // Around the MTU, when frames of that size can go through a test run (else around 1500).
      const mtu = config.uplinkMtu !== 0 && config.uplinkMtu <= NEAR_MTU_MAX ? config.uplinkMtu : 1500;
      const headers = plannedFrameLength({ ...plan, payloadLength: 0 }) - ETH_HLEN;
      const payloadLength = Math.max(0, mtu + spec.mtuDelta - overhead - headers);
      return { frame: buildPacketFrame({ ...plan, payloadLength }), routes, peers: [] };
    }
    case 'routed':
    case 'tunnel':
    case 'truncated': {
      let plan = withDst(spec.packet, addressIn(pick(spec.routePick), spec.hostBits));
      if (spec.kind === 'tunnel') {
        plan = spec.tunnel === 'ipip'
          ? { ...plan, l4: { kind: 'raw', protocol: IPPROTO_IPIP } }
          : { ...plan, l4: { kind: 'udp', sport: 4789, dport: config.vxlanPort, checksum: 'zero', toVxlanPort: true } };
      }
      const frame = buildPacketFrame(plan, { vxlanPort: config.vxlanPort });
      return { frame: spec.kind === 'truncated' ? applyTruncation(frame, spec.truncation) : frame, routes, peers: [] };
    }
  }
}

/**
 * A route whose CIDR (`prefixLength` bits) holds `dst`: to a node address, which step 5 must pass
 * however the tables reach it. With `remoteIsDst`, the route's remote is `dst` itself.
 */
export function routeAround(dst: string, prefixLength: number, route: TunnelRoute, remoteIsDst: boolean): RouteEntry {
  return {
    cidr: `${numberToIpv4((ipv4ToNumber(dst) & prefixMask(prefixLength)) >>> 0)}/${prefixLength}`,
    route: remoteIsDst ? { ...route, remote: dst } : route,
  };
}

/** An address inside the entry's CIDR: its network with random host bits. */
function addressIn(entry: RouteEntry, hostBits: number): string {
  const cidr = parseCidr(entry.cidr);
  return numberToIpv4((cidr.network | (hostBits & ~prefixMask(cidr.prefixLength))) >>> 0);
}
