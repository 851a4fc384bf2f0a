// Batches for the fuzz campaign: one node config and route table, then many frames against it,
// so the maps are written once per batch instead of once per case. The frames are
// arbEncapScenario's (test/arbitraries/encap.ts: arbEncapFrameSpec, resolveEncapFrame), with
// one difference: the route its 'route-remote' and 'local' kinds add around the destination
// belongs to the batch's table here (up to three extra entries after the generated ones, around
// the local address or a route's remote), so those frames are only sent there. One batch in
// eight takes config and route values across their whole C ranges (wide-tables.ts).
import fc from 'fast-check';

import {
  acceptedByTestRun, aroundMtu, arbEncapFrameSpec, arbNexthop, arbNodeConfig, arbPrefixLength, arbRouteTable, arbTunnelRoute, resolveEncapFrame, routeAround,
} from '../../arbitraries/index.js';
import {
  ipv4ToNumber, numberToIpv4, parseCidr, peerMap, prefixMask,
  type Hook, type Nexthop, type NexthopMap, type NodeConfig, type PeerMap, type PmtuMap, type RouteEntry, type TunnelRoute,
} from '../../../src/codec/index.js';
import { arbMaybeWideTables, widenConfig, widenRoutes } from './wide-tables.js';

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
  /** Tunnel endpoints of other nodes, some inside the table's routes ('peer-endpoint' frames go there). */
  readonly peers: PeerMap;
  readonly frames: BatchFrame[];
  /** xdp_encap step 7b: path MTUs learned for some of the table's remotes. */
  readonly pmtu: PmtuMap;
  /** tc step 8a, xdp step 8: agentd's next hops for some of the table's remotes. */
  readonly nexthops: NexthopMap;
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
  return [...routes, ...extras.map((extra) => extra.target === 'local'
    ? routeAround(config.localIp, extra.prefixLength, extra.route, false)
    : routeAround((routes[extra.target % routes.length] as RouteEntry).route.remote, extra.prefixLength, extra.route, true))];
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
  const frame = fc.tuple(arbEncapFrameSpec(), ingress);
  return fc.record({
    generated: arbNodeConfig(),
    generatedRoutes: arbRouteTable({ minLength: 1 }),
    extras: arbExtraRoutes(),
    wide: arbMaybeWideTables(),
    specs: fc.array(frame, { minLength: 1, maxLength: opts.size, size: 'max' }),
    peerPicks: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffffffff })), { minLength: 1, maxLength: 3 }),
    learned: fc.oneof(
      { weight: 1, arbitrary: fc.constant<[number, number][]>([]) },
      { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(552, 1280, 1400), fc.integer({ min: 552, max: 3300 }))), { minLength: 1, maxLength: 3 }) },
    ),
    // Next hops for some remotes; an MTU given as a delta is taken around 1500 (near-MTU frames' outer length).
    nexthops: fc.array(fc.tuple(fc.nat(), arbNexthop(opts.ingressIfindexes?.[0] ?? 1)), { maxLength: 3 }),
  }).map(({ generated, generatedRoutes, extras, wide, specs, peerPicks, learned, nexthops: hops }) => {
    const config = widenConfig(generated, wide);
    const routes = widenRoutes(generatedRoutes, wide);
    const table = withExtras(config, routes, extras);
    // Peers inside the table's routes: 'peer-endpoint' frames are addressed to them.
    const peerAddresses = peerPicks.map(([pick, hostBits]) => {
      const cidr = parseCidr((routes[pick % routes.length] as RouteEntry).cidr);
      return numberToIpv4((cidr.network | (hostBits & ~prefixMask(cidr.prefixLength))) >>> 0);
    });
    const frames = specs
      .map(([spec, ingressIfindex]): BatchFrame => ({
        // The frame only: the batch's table is fixed (the route a spec adds is not in it).
        kind: spec.kind, frame: resolveEncapFrame(spec, config, routes, peerAddresses).frame, ...(ingressIfindex !== undefined ? { ingressIfindex } : {}),
      }))
      .filter((f) => acceptedByTestRun(f.frame, opts.hook));
    const peers = peerMap(peerAddresses.map((a) => [numberToIpv4(ipv4ToNumber(a)), { modes: 3, vni: 4096 }] as const));
    const pmtu = new Map(learned.map(([i, mtu]) => [table[i % table.length]!.route.remote, mtu] as [string, number]));
    const nexthops = new Map(hops.map(([i, { mtu, ...nh }]) => [table[i % table.length]!.route.remote, { ...nh, mtu: aroundMtu(mtu, 1500) }] as [string, Nexthop]));
    return { config, routes: table, peers, frames, pmtu, nexthops };
  });
}
