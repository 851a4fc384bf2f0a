// Batches for the fuzz campaign on the decap programs: one node config, peer list and routes
// table, then many frames against them. The frames, peer lists and tables are arbDecapScenario's
// (test/arbitraries/decap.ts: arbDecapFrameSpec, resolveDecapFrame, arbDecapPeerList,
// arbDecapRoutesSpec): IPIP and VXLAN around generated inner packets, from peers or strangers, to
// us or elsewhere, with outer options and fragments, right and wrong ports, VNIs and flags, inner
// sources and destinations in and out of the sender's blocks, our blocks and the pools, every ECN
// pair, inner TTL 0, damaged lengths and truncations; plain packets; junk. One batch in eight
// takes config, route and peer values across their whole C ranges (wide-tables.ts).
import fc from 'fast-check';

import { arbDecapFrameSpec, arbDecapPeerList, arbDecapRoutesSpec, arbNodeConfig, resolveDecapFrame, resolveDecapRoutes } from '../../arbitraries/index.js';
import { acceptedByTestRun } from '../../arbitraries/test-run-input.js';
import { peerMap, type Hook, type NodeConfig, type Peer, type PeerMap, type RouteEntry } from '../../../src/codec/index.js';
import type { BatchFrame } from './batch-encap.js';
import { arbMaybeWideTables, widenConfig, widenPeers, widenRoutes } from './wide-tables.js';

export interface DecapBatch {
  readonly config: NodeConfig;
  readonly peerList: [string, Peer][];
  readonly peers: PeerMap;
  readonly routes: RouteEntry[];
  readonly frames: BatchFrame[];
}

export function arbDecapBatch(opts: { hook: Hook; size: number }): fc.Arbitrary<DecapBatch> {
  return fc.record({
    generated: arbNodeConfig(),
    generatedPeers: arbDecapPeerList(),
    routesSpec: arbDecapRoutesSpec(),
    wide: arbMaybeWideTables(),
    specs: fc.array(arbDecapFrameSpec(), { minLength: 1, maxLength: opts.size, size: 'max' }),
  }).map(({ generated, generatedPeers, routesSpec, wide, specs }) => {
    const config = widenConfig(generated, wide);
    const peerList = widenPeers(generatedPeers, wide);
    // Widened after the frames picked their inner addresses from the table: flags and modes change, owners stay.
    const generatedRoutes = resolveDecapRoutes(routesSpec, config, peerList);
    const routes = widenRoutes(generatedRoutes, wide);
    return {
      config,
      peerList,
      peers: peerMap(peerList),
      routes,
      frames: specs
        .map((spec) => ({ kind: spec.kind, frame: resolveDecapFrame(spec, config, peerList, generatedRoutes) }))
        .filter((f) => acceptedByTestRun(f.frame, opts.hook)),
    };
  });
}
