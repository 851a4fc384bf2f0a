// fast-check scenarios for the decapsulation programs: a node config, peers, and a frame biased
// to reach every step of xdp_decap / tc_decap: IPIP and VXLAN around generated inner packets,
// from peers or strangers, to us or elsewhere, with outer options and fragments, right and wrong
// ports, VNIs and flags, every ECN pair, inner TTL 0, damaged lengths and truncations. Test-only.
import fc from 'fast-check';
import { writeU16 } from './address.js';
import type { DecapOptions } from './decap.js';
import { ETH_HLEN, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, ETH_P_8021Q } from './ethernet.js';
import { buildIpipFrame, buildVxlanFrame, type FrameFields } from './frame-builder.js';
import { fixIpv4HeaderChecksum } from './ipv4.js';
import { effectiveVni, peerMap, type NodeConfig, type Peer, type PeerMap, type PeerMode, type RouteEntry } from './model.js';
import { acceptedByTestRun } from './test-run-input.js';
import type { Hook } from './verdict.js';
import {
  arbBadIpHeaderFrame, arbFragmentFields, arbGarbageFrame, arbIpOptions, arbIpv4Address, arbMac, arbNonIpv4Frame,
  arbPacketPlan, arbTtl, arbVlanFrame, buildPacketFrame, type FragmentFields, type PacketPlan,
} from './arbitrary-packets.js';
import { arbNodeConfig, arbPeerList } from './arbitrary-tables.js';
import { applyTruncation, arbTruncationPlan, type TruncationPlan } from './arbitrary-truncation.js';

export type DecapFrameKind = 'ipip' | 'vxlan' | 'plain' | 'junk';

export interface DecapScenario {
  readonly kind: DecapFrameKind;
  readonly frame: Uint8Array;
  readonly peerList: [string, Peer][];
  readonly peers: PeerMap;
  readonly config: NodeConfig;
  readonly hook: Hook;
  /** Ready for decap(frame, options). */
  readonly options: DecapOptions;
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

/**
 * How one frame of a decap scenario is made, before the config and peers it meets are known; the
 * fuzz campaign's batches (test/bpf/harness) draw their frames from here too.
 */
export type DecapFrameSpec =
  | { kind: 'ipip' | 'vxlan'; inner: PacketPlan; innerFirstByte: number | undefined; outer: OuterPlan; vxlan: VxlanPlan; damage: Damage }
  | { kind: 'plain'; packet: PacketPlan; toLocal: boolean }
  | { kind: 'junk'; frame: Uint8Array };

const weighted = <T>(w: number, arbitrary: fc.Arbitrary<T>) => ({ weight: w, arbitrary });

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

/** The kinds of frame and their weights. */
export function arbDecapFrameSpec(): fc.Arbitrary<DecapFrameSpec> {
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

export interface DecapScenarioOptions {
  /** Only this hook; default: both. */
  readonly hook?: Hook;
  /** Only frames BPF_PROG_TEST_RUN accepts for the scenario's hook (see acceptedByTestRun). */
  readonly testRunnable?: boolean;
}

/** 1–5 peers, or none one time in ten. */
export function arbDecapPeerList(): fc.Arbitrary<[string, Peer][]> {
  return fc.oneof(weighted(9, arbPeerList({ minLength: 1, maxLength: 5 })), weighted(1, arbPeerList({ maxLength: 0 })));
}

export function arbDecapScenario(opts: DecapScenarioOptions = {}): fc.Arbitrary<DecapScenario> {
  return fc.record({
    config: arbNodeConfig(),
    peerList: arbDecapPeerList(),
    hook: opts.hook !== undefined ? fc.constant(opts.hook) : fc.constantFrom<Hook>('tc', 'xdp'),
    spec: arbDecapFrameSpec(),
  }).map(({ config, peerList, hook, spec }) => {
    const peers = peerMap(peerList);
    const frame = resolveDecapFrame(spec, config, peerList);
    return { kind: spec.kind, frame, peerList, peers, config, hook, options: { peers, config, hook } };
  }).filter((s) => !opts.testRunnable || acceptedByTestRun(s.frame, s.hook));
}

/** The frame of `spec` for a node with `config` and `peerList` (its 'peer' sources pick from the list). */
export function resolveDecapFrame(spec: DecapFrameSpec, config: NodeConfig, peerList: [string, Peer][]): Uint8Array {
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

/**
 * The node at the other end of an encapsulated packet: its config (local address = the route's
 * remote) and a peers map holding exactly the sender, for the mode and VNI the sender used.
 */
export function receivingNode(sender: NodeConfig, entry: RouteEntry): { config: NodeConfig; peers: PeerMap } {
  const mode = entry.route.mode as PeerMode;
  return {
    config: { ...sender, localIp: entry.route.remote },
    peers: peerMap([[sender.localIp, { modes: new Set([mode]), vni: effectiveVni(entry.route, sender) }]]),
  };
}
