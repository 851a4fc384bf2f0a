// fast-check generators of the datapath's map contents: node config, route tables, peers, and
// the FIB answers xdp_encap gets. Test-only.
import fc from 'fast-check';
import { ipv4ToNumber, numberToIpv4, prefixMask } from '../../src/codec/address.js';
import type { FibResult } from '../../src/codec/encap.js';
import { BURROW_POOL_NONE, type NodeConfig, type Peer, type PeerMode, type RouteEntry, type TunnelMode, type TunnelRoute } from '../../src/codec/model.js';
import { arbIpv4Address, arbMac, arbNodeAddress } from './packets.js';
import { VNI_MAX } from '../../src/codec/vxlan.js';

/**
 * Uplink ifindex 1–8, or 0 (no uplink yet: tc_encap's DROP_NO_ROUTE) one time in ten; VXLAN port
 * 4789 mostly, 8472 or any other; TTL 0 or any; MTU 0 or 1280–1500; VNI 4096 or any; decap's
 * pool source check and tc_encap's FIB-chosen uplink one time in four each; MSS clamps per mode (arbMssClamp);
 * tc_decap's GRO hop to a device 1–8 one time in three.
 */
export function arbNodeConfig(): fc.Arbitrary<NodeConfig> {
  return fc.record({
    localIp: fc.oneof({ weight: 9, arbitrary: arbNodeAddress() }, { weight: 1, arbitrary: arbIpv4Address() }),
    uplinkIfindex: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 8 }) }, { weight: 1, arbitrary: fc.constant(0) }),
    uplinkMac: arbMac(),
    vtepMac: arbMac(),
    vxlanPort: fc.oneof({ weight: 6, arbitrary: fc.constant(4789) }, { weight: 1, arbitrary: fc.constant(8472) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 65535 }) }),
    ttl: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 })),
    defaultVni: fc.oneof(fc.constant(4096), fc.integer({ min: 1, max: VNI_MAX })),
    uplinkMtu: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.oneof(fc.constantFrom(1280, 1450, 1480, 1500), fc.integer({ min: 1280, max: 1500 })) }),
    // BURROW_CONFIG_FLAG.DECAP_SRC_POOL (encap ignores it) and UPLINK_FIB (decap and xdp_encap
    // ignore it) one time in four each, independently.
    flags: fc.tuple(fc.nat(3), fc.nat(3)).map(([pool, fib]) => (pool === 0 ? 1 : 0) | (fib === 0 ? 2 : 0)),
    // MSS clamps: off one time in five, else what the agent writes for common MTUs, or any.
    mssIpip: arbMssClamp(),
    mssVxlan: arbMssClamp(),
    // tc_decap step 16 (VXLAN through the tunnel device's GRO) one time in three.
    groIfindex: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }) }),
    tunnelMac: arbMac(),
  });
}

/** An MSS clamp: 0 (off), the agent's values for tunnel MTUs 1480/1450/1240, or any 1–65535. */
export function arbMssClamp(): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 3, arbitrary: fc.constantFrom(1440, 1410, 1200, 536, 1) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 0xffff }) },
  );
}

/** VNI 0 (use the default) or a 24-bit value, 4096 often. */
export function arbVni(): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(0, 4096, 1, VNI_MAX), fc.integer({ min: 0, max: VNI_MAX }));
}

export function arbTunnelRoute(opts: { modes?: readonly TunnelMode[] } = {}): fc.Arbitrary<TunnelRoute> {
  const modes = opts.modes ?? ['ipip', 'vxlan', 'none'];
  return fc.record({
    mode: fc.oneof(
      ...modes.map((mode) => ({ weight: mode === 'none' ? 1 : 4, arbitrary: fc.constant(mode) })),
    ),
    remote: arbNodeAddress(),
    vni: arbVni(),
    vtepMac: arbMac(),
    flags: fc.integer({ min: 0, max: 31 }),
    pool: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(BURROW_POOL_NONE)),
  });
}

/** A prefix length: the usual /26, /24, /32, /16, /8, /0 often, any 0–32 otherwise. */
export function arbPrefixLength(): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(26, 26, 24, 32, 16, 8, 0), fc.integer({ min: 0, max: 32 }));
}

/** A strictly masked CIDR around a pod, node or random address. */
export function arbCidr(): fc.Arbitrary<string> {
  return fc.tuple(arbIpv4Address(), arbPrefixLength()).map(([address, length]) =>
    `${numberToIpv4((ipv4ToNumber(address) & prefixMask(length)) >>> 0)}/${length}`);
}

/** 0–8 entries (nested prefixes are common since the addresses come from small ranges). */
export function arbRouteTable(opts: { minLength?: number; maxLength?: number; modes?: readonly TunnelMode[] } = {}): fc.Arbitrary<RouteEntry[]> {
  return fc.array(fc.record({ cidr: arbCidr(), route: arbTunnelRoute(opts) }), {
    minLength: opts.minLength ?? 0,
    maxLength: opts.maxLength ?? 8,
  });
}

/** Peer modes as a set or as map bits: both, one, or none (rarely). */
export function arbPeer(): fc.Arbitrary<Peer> {
  const modes = fc.oneof(
    { weight: 6, arbitrary: fc.constant<PeerMode[]>(['ipip', 'vxlan']) },
    { weight: 1, arbitrary: fc.constant<PeerMode[]>(['ipip']) },
    { weight: 1, arbitrary: fc.constant<PeerMode[]>(['vxlan']) },
    { weight: 1, arbitrary: fc.constant<PeerMode[]>([]) },
  );
  return fc.record({ modes, asBits: fc.boolean(), vni: arbVni() })
    .map(({ modes, asBits, vni }) => ({
      modes: asBits ? modes.reduce((bits, m) => bits | (m === 'ipip' ? 1 : 2), 0) : new Set(modes),
      vni,
    }));
}

/** 0–6 peers with distinct node addresses, as [address, peer] pairs (feed them to peerMap). */
export function arbPeerList(opts: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<[string, Peer][]> {
  return fc.uniqueArray(fc.tuple(arbNodeAddress(), arbPeer()), {
    selector: ([address]) => address,
    minLength: opts.minLength ?? 0,
    maxLength: opts.maxLength ?? 6,
  });
}

/** Success out of `ingressIfindex` (XDP_TX) or another interface (XDP_REDIRECT), no neighbour, frag needed, or failure. */
/**
 * A `nexthops` entry (docs/datapath.md, "Next hops"): a device (often `ingressIfindex`, for
 * XDP_TX), two MACs, and an MTU that is 0 (not checked), any, or the frame's outer length plus a
 * small delta (`aroundMtu` turns that delta into the MTU).
 */
export function arbNexthop(ingressIfindex = 1): fc.Arbitrary<{ ifindex: number; dmac: string; smac: string; mtu: { delta: number } | number }> {
  return fc.record({
    ifindex: fc.oneof(fc.constant(ingressIfindex), fc.integer({ min: 1, max: 16 })),
    dmac: arbMac(),
    smac: arbMac(),
    mtu: fc.oneof(
      { weight: 2, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }).map((delta) => ({ delta })) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 0xffff }) },
    ),
  });
}

export function arbFibResult(ingressIfindex = 1): fc.Arbitrary<FibResult> {
  const success = fc.record({
    result: fc.constant('success' as const),
    ifindex: fc.oneof(fc.constant(ingressIfindex), fc.integer({ min: 1, max: 16 })),
    smac: arbMac(),
    dmac: arbMac(),
  });
  return fc.oneof(
    { weight: 4, arbitrary: success },
    { weight: 1, arbitrary: fc.constant({ result: 'fail' as const }) },
    { weight: 1, arbitrary: fc.record({ result: fc.constant('no-neigh' as const), ifindex: fc.integer({ min: 1, max: 16 }) }) },
    { weight: 1, arbitrary: fc.constant({ result: 'frag-needed' as const }) },
  );
}
