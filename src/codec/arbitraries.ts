// fast-check generators for the codec and the differential tests of the eBPF programs.
// Test-only (fast-check is a dev dependency): production code imports ./index.js instead.
//
//  packets   arbIpv4Address, arbNodeAddress, arbPodAddress, arbAnyAddress, arbMac, arbTtl,
//            arbFragmentFields, arbIpOptions, arbIpv4Plan, arbL4Plan, arbPacketPlan (+ buildPacketFrame),
//            arbPayloadLength, arbIpv4Frame, arbNonIpv4Frame, arbVlanFrame, arbGarbageFrame,
//            arbBadIpHeaderFrame
//  cuts      headerBoundaries, truncateFrame, arbTruncationPlan, applyTruncation, arbTruncatedFrame
//  maps      arbNodeConfig, arbVni, arbTunnelRoute, arbPrefixLength, arbCidr, arbRouteTable, arbPeer,
//            arbPeerList, arbFibResult
//  programs  arbEncapScenario (tc_encap, xdp_encap), arbDecapScenario (xdp_decap, tc_decap),
//            receivingNode (the decap side of an encap scenario); both take { hook, testRunnable }
//  frames    what the scenarios are made of, for generators that share one table among many
//            frames (the fuzz campaign's batches): arbEncapFrameSpec + resolveEncapFrame,
//            routeAround; arbDecapFrameSpec + resolveDecapFrame, arbDecapPeerList
export * from './arbitrary-packets.js';
export * from './arbitrary-truncation.js';
export * from './arbitrary-tables.js';
export * from './arbitrary-encap.js';
export * from './arbitrary-decap.js';
