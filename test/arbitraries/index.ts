// fast-check generators for the codec and the differential tests of the eBPF programs, and which
// frames BPF_PROG_TEST_RUN takes. Test-only: fast-check is a dev dependency, so none of this
// lives in src/ (the image ships src/ without dev dependencies).
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
//  test runs acceptedByTestRun, TC_TEST_RUN_MAX, XDP_TEST_RUN_LINEAR_MAX (test-run-input.ts)
//  frames    what the scenarios are made of, for generators that share one table among many
//            frames (the fuzz campaign's batches): arbEncapFrameSpec + resolveEncapFrame,
//            routeAround; arbDecapFrameSpec + resolveDecapFrame, arbDecapPeerList
export * from './packets.js';
export * from './truncation.js';
export * from './tables.js';
export * from './encap.js';
export * from './decap.js';
export * from './test-run-input.js';
