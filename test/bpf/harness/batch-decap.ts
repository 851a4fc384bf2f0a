// Batches for the fuzz campaign on the decap programs: one node config and peer list, then many
// frames against them. The frames and peer lists are arbDecapScenario's
// (src/codec/arbitrary-decap.ts: arbDecapFrameSpec, resolveDecapFrame, arbDecapPeerList): IPIP
// and VXLAN around generated inner packets, from peers or strangers, to us or elsewhere, with
// outer options and fragments, right and wrong ports, VNIs and flags, every ECN pair, inner TTL 0,
// damaged lengths and truncations; plain packets; junk. One batch in eight takes config and peer
// values across their whole C ranges (wide-tables.ts).
import fc from 'fast-check';

import { arbDecapFrameSpec, arbDecapPeerList, arbNodeConfig, resolveDecapFrame } from '../../../src/codec/arbitraries.js';
import { acceptedByTestRun, peerMap, type Hook, type NodeConfig, type Peer, type PeerMap } from '../../../src/codec/index.js';
import type { BatchFrame } from './batch-encap.js';
import { arbMaybeWideTables, widenConfig, widenPeers } from './wide-tables.js';

export interface DecapBatch {
  readonly config: NodeConfig;
  readonly peerList: [string, Peer][];
  readonly peers: PeerMap;
  readonly frames: BatchFrame[];
}

export function arbDecapBatch(opts: { hook: Hook; size: number }): fc.Arbitrary<DecapBatch> {
  return fc.record({
    generated: arbNodeConfig(),
    generatedPeers: arbDecapPeerList(),
    wide: arbMaybeWideTables(),
    specs: fc.array(arbDecapFrameSpec(), { minLength: 1, maxLength: opts.size, size: 'max' }),
  }).map(({ generated, generatedPeers, wide, specs }) => {
    const config = widenConfig(generated, wide);
    const peerList = widenPeers(generatedPeers, wide);
    return {
      config,
      peerList,
      peers: peerMap(peerList),
      frames: specs
        .map((spec) => ({ kind: spec.kind, frame: resolveDecapFrame(spec, config, peerList) }))
        .filter((f) => acceptedByTestRun(f.frame, opts.hook)),
    };
  });
}
