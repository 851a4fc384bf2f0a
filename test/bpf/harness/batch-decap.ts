// Batches for the fuzz campaign on the decap programs: one node config and peer list, then many
// frames against them. The frames follow arbDecapScenario's kinds, plans and weights
// (src/codec/arbitrary-decap.ts): IPIP and VXLAN around generated inner packets, from peers or
// strangers, to us or elsewhere, with outer options and fragments, right and wrong ports, VNIs and
// flags, every ECN pair, inner TTL 0, damaged lengths and truncations; plain packets; junk. One
// batch in eight takes config and peer values across their whole C ranges (wide-tables.ts).
import fc from 'fast-check';

import {
  applyTruncation, arbBadIpHeaderFrame, arbFragmentFields, arbGarbageFrame, arbIpOptions, arbIpv4Address, arbMac,
  arbNodeConfig, arbNonIpv4Frame, arbPacketPlan, arbPeerList, arbTruncationPlan, arbTtl, arbVlanFrame, buildPacketFrame,
  type FragmentFields, type PacketPlan, type TruncationPlan,
} from '../../../src/codec/arbitraries.js';
import {
  ETH_HLEN, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, acceptedByTestRun, buildIpipFrame, buildVxlanFrame,
  fixIpv4HeaderChecksum, peerMap, writeU16,
  type FrameFields, type Hook, type NodeConfig, type Peer, type PeerMap,
} from '../../../src/codec/index.js';
import type { BatchFrame } from './batch-encap.js';
import { fitsTestRun } from './datapath.js';
import { arbMaybeWideTables, widenConfig, widenPeers } from './wide-tables.js';

export interface DecapBatch {
  readonly config: NodeConfig;
  readonly peerList: [string, Peer][];
  readonly peers: PeerMap;
  readonly frames: BatchFrame[];
}

type SourcePick = { kind: 'peer'; index: number } | { kind: 'address'; address: string };

interface OuterPlan extends FragmentFields {
  ethSrc: string;
  ethDst: string;
  source: SourcePick;
  toLocal: boolean;
  dst: string;
  dscp: number;
  ecn: number;
  ttl: number;
  id: number;
  options: Uint8Array;
}

interface VxlanPlan {
  toConfigPort: boolean;
  otherPort: number;
  vni: { kind: 'peer' | 'default' } | { kind: 'value'; value: number };
  flags: number;
  innerEtherType: number;
  innerEthSrc: string;
  innerEthDst: string;
  sport: number;
  udpChecksum: 'zero' | 'compute';
}

type Damage =
  | { kind: 'none' }
  | { kind: 'truncate'; plan: TruncationPlan }
  | { kind: 'pad'; bytes: number }
  | { kind: 'total-length'; delta: number };

type FrameSpec =
  | { kind: 'ipip' | 'vxlan'; inner: PacketPlan; innerFirstByte: number | undefined; outer: OuterPlan; vxlan: VxlanPlan; damage: Damage }
  | { kind: 'plain'; packet: PacketPlan; toLocal: boolean }
  | { kind: 'junk'; frame: Uint8Array };

const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

function arbOuterPlan(): fc.Arbitrary<OuterPlan> {
  return fc.record({
    ethSrc: arbMac(),
    ethDst: arbMac(),
    source: fc.oneof(
      weighted(9, fc.record({ kind: fc.constant('peer' as const), index: fc.nat() })),
      weighted(1, fc.record({ kind: fc.constant('address' as const), address: arbIpv4Address() })),
    ),
    toLocal: fc.oneof(weighted(9, fc.constant(true)), weighted(1, fc.constant(false))),
    dst: arbIpv4Address(),
    dscp: fc.integer({ min: 0, max: 63 }),
    ecn: fc.integer({ min: 0, max: 3 }),
    ttl: arbTtl(),
    id: fc.integer({ min: 0, max: 0xffff }),
    options: fc.oneof(weighted(3, fc.constant(new Uint8Array(0))), weighted(1, arbIpOptions())),
  }).chain((outer) => arbFragmentFields(1).map((frag) => ({ ...outer, ...frag })));
}

function arbVxlanPlan(): fc.Arbitrary<VxlanPlan> {
  return fc.record({
    toConfigPort: fc.oneof(weighted(9, fc.constant(true)), weighted(1, fc.constant(false))),
    otherPort: fc.oneof(fc.constantFrom(4789, 8472, 53), fc.integer({ min: 0, max: 65535 })),
    vni: fc.oneof(
      weighted(8, fc.constant({ kind: 'peer' as const })),
      weighted(1, fc.constant({ kind: 'default' as const })),
      weighted(1, fc.record({ kind: fc.constant('value' as const), value: fc.integer({ min: 0, max: 0xffffff }) })),
    ),
    flags: fc.oneof(weighted(8, fc.constant(0x08)), weighted(1, fc.constant(0x00)), weighted(1, fc.integer({ min: 0, max: 255 }))),
    innerEtherType: fc.oneof(weighted(9, fc.constant(ETH_P_IP)), weighted(1, fc.constantFrom(ETH_P_ARP, ETH_P_IPV6, ETH_P_8021Q, 0))),
    innerEthSrc: arbMac(),
    innerEthDst: arbMac(),
    sport: fc.integer({ min: 0, max: 65535 }),
    udpChecksum: fc.constantFrom('zero' as const, 'compute' as const),
  });
}

function arbDamage(): fc.Arbitrary<Damage> {
  return fc.oneof(
    weighted(12, fc.constant({ kind: 'none' as const })),
    weighted(4, fc.record({ kind: fc.constant('truncate' as const), plan: arbTruncationPlan() })),
    weighted(1, fc.record({ kind: fc.constant('pad' as const), bytes: fc.integer({ min: 1, max: 40 }) })),
    weighted(1, fc.record({ kind: fc.constant('total-length' as const), delta: fc.oneof(fc.constantFrom(-1, 1, -20, 0x8000), fc.integer({ min: -100, max: 100 })) })),
  );
}

function arbFrameSpec(): fc.Arbitrary<FrameSpec> {
  const innerFirstByte = fc.oneof(
    weighted(18, fc.constant(undefined)),
    weighted(1, fc.integer({ min: 0, max: 4 }).map((ihl) => 0x40 | ihl)),
    weighted(1, fc.constantFrom(0x55, 0x65, 0x05, 0xf5, 0x00)),
  );
  return fc.oneof(
    weighted(12, fc.record({
      kind: fc.constantFrom('ipip' as const, 'vxlan' as const),
      inner: arbPacketPlan({ fragmentWeight: 1 }),
      innerFirstByte,
      outer: arbOuterPlan(),
      vxlan: arbVxlanPlan(),
      damage: arbDamage(),
    })),
    weighted(3, fc.record({ kind: fc.constant('plain' as const), packet: arbPacketPlan({ vxlanPortWeight: 3 }), toLocal: fc.boolean() })),
    weighted(2, fc.record({ kind: fc.constant('junk' as const), frame: fc.oneof(arbNonIpv4Frame(), arbVlanFrame(), arbGarbageFrame(), arbBadIpHeaderFrame()) })),
  );
}

export function arbDecapBatch(opts: { hook: Hook; size: number }): fc.Arbitrary<DecapBatch> {
  return fc.record({
    generated: arbNodeConfig(),
    generatedPeers: fc.oneof(weighted(9, arbPeerList({ minLength: 1, maxLength: 5 })), weighted(1, arbPeerList({ maxLength: 0 }))),
    wide: arbMaybeWideTables(),
    specs: fc.array(arbFrameSpec(), { minLength: 1, maxLength: opts.size, size: 'max' }),
  }).map(({ generated, generatedPeers, wide, specs }) => {
    const config = widenConfig(generated, wide);
    const peerList = widenPeers(generatedPeers, wide);
    return {
      config,
      peerList,
      peers: peerMap(peerList),
      frames: specs
        .map((spec) => ({ kind: spec.kind, frame: resolveFrame(spec, config, peerList) }))
        .filter((f) => acceptedByTestRun(f.frame, opts.hook) && fitsTestRun(f.frame, opts.hook)),
    };
  });
}

function resolveFrame(spec: FrameSpec, config: NodeConfig, peerList: [string, Peer][]): Uint8Array {
  if (spec.kind === 'junk') return spec.frame;
  if (spec.kind === 'plain') {
    const plan = spec.toLocal ? { ...spec.packet, ip: { ...spec.packet.ip, dst: config.localIp } } : spec.packet;
    return buildPacketFrame(plan, { vxlanPort: config.vxlanPort });
  }
  const { outer, vxlan } = spec;
  const peerEntry = outer.source.kind === 'peer' ? peerList[outer.source.index % Math.max(1, peerList.length)] : undefined;
  const src = peerEntry?.[0] ?? (outer.source.kind === 'address' ? outer.source.address : '10.0.9.9');
  const inner = buildPacketFrame(spec.inner).subarray(ETH_HLEN);
  if (spec.innerFirstByte !== undefined) inner[0] = spec.innerFirstByte;
  const fields: FrameFields = {
    ethSrc: outer.ethSrc, ethDst: outer.ethDst, src, dst: outer.toLocal ? config.localIp : outer.dst,
    dscp: outer.dscp, ecn: outer.ecn, ttl: outer.ttl, id: outer.id, df: outer.df, mf: outer.mf,
    fragOffset: outer.fragOffset, options: outer.options,
    ...(spec.damage.kind === 'pad' ? { padding: spec.damage.bytes } : {}),
  };
  const vni = vxlan.vni.kind === 'value' ? vxlan.vni.value : vxlan.vni.kind === 'peer' && peerEntry ? peerEntry[1].vni : config.defaultVni;
  const frame = spec.kind === 'ipip'
    ? buildIpipFrame({ ...fields, inner })
    : buildVxlanFrame({
      ...fields, inner, vni, sport: vxlan.sport, dport: vxlan.toConfigPort ? config.vxlanPort : vxlan.otherPort,
      udpChecksum: vxlan.udpChecksum, vxlanFlags: vxlan.flags, innerEtherType: vxlan.innerEtherType,
      innerEthSrc: vxlan.innerEthSrc, innerEthDst: vxlan.innerEthDst,
    });
  return damage(frame, spec.damage);
}

function damage(frame: Uint8Array, what: Damage): Uint8Array {
  switch (what.kind) {
    case 'none':
    case 'pad':
      return frame;
    case 'truncate':
      return applyTruncation(frame, what.plan);
    case 'total-length': {
      const out = frame.slice();
      const totLen = ((out[ETH_HLEN + 2] ?? 0) << 8) | (out[ETH_HLEN + 3] ?? 0);
      writeU16(out, ETH_HLEN + 2, (totLen + what.delta) & 0xffff);
      fixIpv4HeaderChecksum(out, ETH_HLEN);
      return out;
    }
  }
}
