// Batches for the fuzz campaign: one node config and route table, then many frames against it,
// so the maps are written once per batch instead of once per case. The frames follow
// arbEncapScenario's kinds and weights (src/codec/arbitrary-encap.ts), built from the codec's
// exported generators. Its 'route-remote' and 'local' kinds add a route around the destination;
// here those routes belong to the batch's table (extra entries after the generated ones), and
// the frames of those kinds are sent to the local address or to a route's remote. One batch in
// eight takes config and route values across their whole C ranges (wide-tables.ts).
import fc from 'fast-check';

import {
  applyTruncation, arbBadIpHeaderFrame, arbGarbageFrame, arbNodeConfig, arbNonIpv4Frame, arbPacketPlan, arbPrefixLength,
  arbRouteTable, arbTruncationPlan, arbTunnelRoute, arbVlanFrame, buildPacketFrame, plannedFrameLength,
  type PacketPlan, type TruncationPlan,
} from '../../../src/codec/arbitraries.js';
import { fitsTestRun } from './datapath.js';
import { arbMaybeWideTables, widenConfig, widenRoutes } from './wide-tables.js';
import {
  ETH_HLEN, IPPROTO_IPIP, acceptedByTestRun, ipv4ToNumber, lookupRoute, numberToIpv4, parseCidr, prefixMask, tunnelOverhead,
  type Hook, type NodeConfig, type RouteEntry, type TunnelRoute,
} from '../../../src/codec/index.js';

export interface BatchFrame {
  /** The arbEncapScenario / arbDecapScenario kind it follows. */
  readonly kind: string;
  readonly frame: Uint8Array;
  /** xdp_encap: the device it arrives on. */
  readonly ingressIfindex?: number;
}

export interface EncapBatch {
  readonly config: NodeConfig;
  readonly routes: RouteEntry[];
  readonly frames: BatchFrame[];
}

type FrameSpec =
  | { kind: 'routed' | 'tunnel' | 'truncated'; packet: PacketPlan; routePick: number; hostBits: number; tunnel: 'ipip' | 'vxlan'; truncation: TruncationPlan }
  | { kind: 'near-mtu'; packet: PacketPlan; routePick: number; hostBits: number; mtuDelta: number }
  | { kind: 'route-remote'; packet: PacketPlan; routePick: number }
  | { kind: 'local'; packet: PacketPlan }
  | { kind: 'random-dst'; packet: PacketPlan }
  | { kind: 'junk'; frame: Uint8Array };

/** MTUs above this (wide tables) would make near-MTU frames longer than a test run takes. */
const NEAR_MTU_MAX = 3000;

const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

function arbFrameSpec(): fc.Arbitrary<FrameSpec> {
  const packet = arbPacketPlan({ fragmentWeight: 2, vxlanPortWeight: 0 });
  const routed = { packet, routePick: fc.nat(), hostBits: fc.integer({ min: 0, max: 0xffffffff }) };
  return fc.oneof(
    weighted(10, fc.record({ kind: fc.constant('routed' as const), ...routed, tunnel: fc.constant('ipip' as const), truncation: arbTruncationPlan() })),
    weighted(3, fc.record({ kind: fc.constant('tunnel' as const), ...routed, tunnel: fc.constantFrom('ipip' as const, 'vxlan' as const), truncation: arbTruncationPlan() })),
    weighted(2, fc.record({ kind: fc.constant('truncated' as const), ...routed, tunnel: fc.constant('ipip' as const), truncation: arbTruncationPlan() })),
    weighted(4, fc.record({ kind: fc.constant('near-mtu' as const), ...routed, mtuDelta: fc.integer({ min: -2, max: 2 }) })),
    weighted(1, fc.record({ kind: fc.constant('route-remote' as const), packet, routePick: fc.nat() })),
    weighted(1, fc.record({ kind: fc.constant('local' as const), packet })),
    weighted(2, fc.record({ kind: fc.constant('random-dst' as const), packet })),
    weighted(2, fc.record({ kind: fc.constant('junk' as const), frame: fc.oneof(arbNonIpv4Frame(), arbVlanFrame(), arbGarbageFrame(), arbBadIpHeaderFrame()) })),
  );
}

/** Routes around the local address or a route's remote: what the 'local'/'route-remote' kinds add. */
interface ExtraRoute {
  readonly target: 'local' | number;
  readonly prefixLength: number;
  readonly route: TunnelRoute;
}

function arbExtraRoutes(): fc.Arbitrary<ExtraRoute[]> {
  return fc.array(fc.record({
    target: fc.oneof(fc.constant('local' as const), fc.nat()),
    prefixLength: arbPrefixLength(),
    route: arbTunnelRoute({ modes: ['ipip', 'vxlan'] }),
  }), { maxLength: 3 });
}

function withExtras(config: NodeConfig, routes: RouteEntry[], extras: ExtraRoute[]): RouteEntry[] {
  const table = [...routes];
  for (const extra of extras) {
    const dst = extra.target === 'local' ? config.localIp : (routes[extra.target % routes.length] as RouteEntry).route.remote;
    const route = extra.target === 'local' ? extra.route : { ...extra.route, remote: dst };
    table.push({ cidr: `${numberToIpv4((ipv4ToNumber(dst) & prefixMask(extra.prefixLength)) >>> 0)}/${extra.prefixLength}`, route });
  }
  return table;
}

export interface EncapBatchOptions {
  readonly hook: Hook;
  /** Frames per batch. */
  readonly size: number;
  /** xdp_encap: ingress devices to draw from (tc_encap: none). */
  readonly ingressIfindexes?: readonly number[];
}

export function arbEncapBatch(opts: EncapBatchOptions): fc.Arbitrary<EncapBatch> {
  const ingress = opts.ingressIfindexes?.length ? fc.constantFrom(...opts.ingressIfindexes) : fc.constant(undefined);
  const frame = fc.tuple(arbFrameSpec(), ingress);
  return fc.record({
    generated: arbNodeConfig(),
    generatedRoutes: arbRouteTable({ minLength: 1 }),
    extras: arbExtraRoutes(),
    wide: arbMaybeWideTables(),
    specs: fc.array(frame, { minLength: 1, maxLength: opts.size, size: 'max' }),
  }).map(({ generated, generatedRoutes, extras, wide, specs }) => {
    const config = widenConfig(generated, wide);
    const routes = widenRoutes(generatedRoutes, wide);
    const table = withExtras(config, routes, extras);
    const frames = specs
      .map(([spec, ingressIfindex]): BatchFrame => ({
        kind: spec.kind, frame: resolveFrame(spec, config, routes), ...(ingressIfindex !== undefined ? { ingressIfindex } : {}),
      }))
      .filter((f) => acceptedByTestRun(f.frame, opts.hook) && fitsTestRun(f.frame, opts.hook));
    return { config, routes: table, frames };
  });
}

function resolveFrame(spec: FrameSpec, config: NodeConfig, routes: RouteEntry[]): Uint8Array {
  const pick = (n: number): RouteEntry => routes[n % routes.length] as RouteEntry;
  const withDst = (plan: PacketPlan, dst: string): PacketPlan => ({ ...plan, ip: { ...plan.ip, dst } });
  switch (spec.kind) {
    case 'junk':
      return spec.frame;
    case 'random-dst':
      return buildPacketFrame(spec.packet);
    case 'local':
      return buildPacketFrame(withDst(spec.packet, config.localIp));
    case 'route-remote':
      return buildPacketFrame(withDst(spec.packet, pick(spec.routePick).route.remote));
    case 'near-mtu': {
      const plan = withDst(spec.packet, addressIn(pick(spec.routePick), spec.hostBits));
      const matched = lookupRoute(routes, plan.ip.dst)?.route.mode;
      const overhead = matched === 'vxlan' ? tunnelOverhead('vxlan') : tunnelOverhead('ipip');
      // Around the MTU, when frames of that size can go through a test run (else around 1500).
      const mtu = config.uplinkMtu !== 0 && config.uplinkMtu <= NEAR_MTU_MAX ? config.uplinkMtu : 1500;
      const headers = plannedFrameLength({ ...plan, payloadLength: 0 }) - ETH_HLEN;
      return buildPacketFrame({ ...plan, payloadLength: Math.max(0, mtu + spec.mtuDelta - overhead - headers) });
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
      return spec.kind === 'truncated' ? applyTruncation(frame, spec.truncation) : frame;
    }
  }
}

/** An address inside the entry's CIDR: its network with random host bits. */
function addressIn(entry: RouteEntry, hostBits: number): string {
  const cidr = parseCidr(entry.cidr);
  return numberToIpv4((cidr.network | (hostBits & ~prefixMask(cidr.prefixLength))) >>> 0);
}
