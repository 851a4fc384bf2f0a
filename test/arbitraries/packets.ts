// fast-check generators of packets and frames: plans (plain values that shrink well and print
// readably) and the frames built from them. Test-only: imported through ./arbitraries.js.
import fc from 'fast-check';
import { numberToIpv4 } from '../../src/codec/address.js';
import { ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6 } from '../../src/codec/ethernet.js';
import { buildIcmpEchoFrame, buildIpv4Frame, buildTcpFrame, buildUdpFrame, type FrameFields } from '../../src/codec/frame-builder.js';
import { ICMP_HLEN } from '../../src/codec/icmp.js';
import { IPPROTO_IPIP, IPPROTO_SCTP } from '../../src/codec/ipv4.js';
import { tcpHeaderLength } from '../../src/codec/tcp.js';
import { UDP_HLEN } from '../../src/codec/udp.js';

// --- addresses -----------------------------------------------------------------------------

/** Node (underlay) addresses: the lab's two node subnets, few enough to collide often. */
export function arbNodeAddress(): fc.Arbitrary<string> {
  return fc.record({ subnet: fc.constantFrom(1, 2), host: fc.integer({ min: 1, max: 12 }) })
    .map(({ subnet, host }) => `10.0.${subnet}.${host}`);
}

/** Pod addresses in 10.244.0.0/21 (eight /24s, many /26 blocks). */
export function arbPodAddress(): fc.Arbitrary<string> {
  return fc.record({ c: fc.integer({ min: 0, max: 7 }), d: fc.integer({ min: 0, max: 255 }) })
    .map(({ c, d }) => `10.244.${c}.${d}`);
}

/** Any IPv4 address, 0.0.0.0 and 255.255.255.255 included. */
export function arbAnyAddress(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.integer({ min: 0, max: 0xffffffff }).map(numberToIpv4),
    fc.constantFrom('0.0.0.0', '255.255.255.255', '127.0.0.1'),
  );
}

/** Mostly pod and node addresses, sometimes anything. */
export function arbIpv4Address(): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: arbPodAddress(), weight: 5 },
    { arbitrary: arbNodeAddress(), weight: 3 },
    { arbitrary: arbAnyAddress(), weight: 2 },
  );
}

export function arbMac(): fc.Arbitrary<string> {
  return fc.uint8Array({ minLength: 6, maxLength: 6 })
    .map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
}

// --- IPv4 header fields --------------------------------------------------------------------

/** TTL: 0, 1, 64, 255 often, any value otherwise. */
export function arbTtl(): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(0, 1, 64, 255), fc.integer({ min: 0, max: 255 }));
}

export interface FragmentFields {
  readonly df: boolean;
  readonly mf: boolean;
  readonly fragOffset: number;
}

/**
 * DF on or off; a fragment (MF set or offset ≠ 0) with probability ≈ `fragmentWeight` / 10.
 * Offsets include 1 and the maximum, 8191.
 */
export function arbFragmentFields(fragmentWeight = 2): fc.Arbitrary<FragmentFields> {
  const whole = fc.record({ df: fc.boolean(), mf: fc.constant(false), fragOffset: fc.constant(0) });
  const fragment = fc.record({
    df: fc.boolean(),
    mf: fc.boolean(),
    fragOffset: fc.oneof(fc.constantFrom(0, 1, 185, 8191), fc.integer({ min: 1, max: 8191 })),
  }).map((f) => (f.mf || f.fragOffset !== 0 ? f : { ...f, mf: true }));
  return fc.oneof({ arbitrary: whole, weight: 10 - fragmentWeight }, { arbitrary: fragment, weight: fragmentWeight });
}

const OPTION_ITEMS: readonly (readonly number[])[] = [
  [1], // NOP
  [148, 4, 0, 0], // router alert
  [7, 7, 4, 0, 0, 0, 0], // record route, one slot
  [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0], // record route, two slots
  [68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0], // timestamp, two slots
  [130, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0], // security
  [0], // end of list
];

/**
 * Option bytes for IHL 5–15: none (most often), a list of well-formed options padded with EOL
 * to a multiple of 4, or random bytes of a multiple-of-4 length up to 40.
 */
export function arbIpOptions(): fc.Arbitrary<Uint8Array> {
  const structured = fc.array(fc.constantFrom(...OPTION_ITEMS), { minLength: 1, maxLength: 8 }).map((items) => {
    const bytes: number[] = [];
    for (const item of items) if (bytes.length + item.length <= 40) bytes.push(...item);
    while (bytes.length % 4 !== 0) bytes.push(0);
    return Uint8Array.from(bytes);
  });
  const random = fc.integer({ min: 1, max: 10 }).chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 }));
  const full = fc.constant(Uint8Array.from([...Array<number>(39).fill(1), 0])); // IHL 15
  return fc.oneof(
    { arbitrary: fc.constant(new Uint8Array(0)), weight: 6 },
    { arbitrary: structured, weight: 3 },
    { arbitrary: random, weight: 1 },
    { arbitrary: full, weight: 1 },
  );
}

/** Plain values for one IPv4 header; DSCP covers all 64 values, ECN all 4. */
export interface Ipv4Plan extends FragmentFields {
  readonly src: string;
  readonly dst: string;
  readonly dscp: number;
  readonly ecn: number;
  readonly ttl: number;
  readonly id: number;
  readonly options: Uint8Array;
}

export function arbIpv4Plan(opts: { fragmentWeight?: number; dst?: fc.Arbitrary<string> } = {}): fc.Arbitrary<Ipv4Plan> {
  return fc.record({
    src: arbIpv4Address(),
    dst: opts.dst ?? arbIpv4Address(),
    dscp: fc.integer({ min: 0, max: 63 }),
    ecn: fc.integer({ min: 0, max: 3 }),
    ttl: arbTtl(),
    id: fc.integer({ min: 0, max: 0xffff }),
    options: arbIpOptions(),
  }).chain((ip) => arbFragmentFields(opts.fragmentWeight).map((frag) => ({ ...ip, ...frag })));
}

// --- L4 and whole packets --------------------------------------------------------------------

export type L4Plan =
  | {
    readonly kind: 'tcp'; readonly sport: number; readonly dport: number; readonly seq: number; readonly flags: number;
    /** Option bytes (padded to 4 when built) and, sometimes, a data offset that lies. */
    readonly options: Uint8Array; readonly dataOffset?: number;
  }
  | { readonly kind: 'udp'; readonly sport: number; readonly dport: number; readonly checksum: 'compute' | 'zero'; readonly toVxlanPort: boolean }
  | { readonly kind: 'icmp'; readonly type: number; readonly identifier: number; readonly sequence: number }
  | { readonly kind: 'raw'; readonly protocol: number };

function arbPort(): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(0, 22, 53, 80, 443, 4789, 8472, 65535), fc.integer({ min: 0, max: 65535 }));
}

/**
 * TCP, UDP, ICMP echo and other protocols (IPIP, GRE, ESP, SCTP, OSPF, 0, 255, any).
 * `vxlanPortWeight` (of 10 UDP plans) are marked to be sent to the VXLAN port of the config the
 * frame is built for.
 */
export function arbL4Plan(vxlanPortWeight = 1): fc.Arbitrary<L4Plan> {
  return fc.oneof(
    { weight: 4, arbitrary: arbTcpPlan() },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('udp' as const), sport: arbPort(), dport: arbPort(), checksum: fc.constantFrom('compute' as const, 'zero' as const), toVxlanPort: fc.integer({ min: 0, max: 9 }).map((n) => n < vxlanPortWeight) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('icmp' as const), type: fc.constantFrom(0, 8), identifier: fc.integer({ min: 0, max: 0xffff }), sequence: fc.integer({ min: 0, max: 0xffff }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), protocol: fc.oneof(fc.constantFrom(IPPROTO_IPIP, 47, 50, IPPROTO_SCTP, 89, 0, 255), fc.integer({ min: 0, max: 255 })) }) },
  );
}

/** TCP flags: SYN, SYN-ACK (what the MSS clamp looks at) or any of the six classic bits. */
function arbTcpFlags(): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(0x02, 0x12, 0x10, 0x18), fc.integer({ min: 0, max: 0x3f }));
}

/** MSS values around the clamps the agent writes (1440 IPIP, 1410 VXLAN at MTU 1500) and the ends. */
function arbMssValue(): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(0, 1, 536, 1240, 1409, 1410, 1411, 1439, 1440, 1441, 1460, 8960, 65495, 0xffff), fc.integer({ min: 0, max: 0xffff }));
}

/** One TCP option as bytes: MSS, NOP, EOL, window scale, SACK-permitted, timestamps, or a made-up kind. */
function arbTcpOption(): fc.Arbitrary<number[]> {
  return fc.oneof(
    { weight: 3, arbitrary: arbMssValue().map((v) => [2, 4, v >> 8, v & 0xff]) },
    { weight: 3, arbitrary: fc.constant([1] as number[]) },
    { weight: 1, arbitrary: fc.constant([0] as number[]) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 14 }).map((s) => [3, 3, s]) },
    { weight: 1, arbitrary: fc.constant([4, 2] as number[]) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })).map(([a, b]) => [8, 10, a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff, b >>> 24, (b >>> 16) & 0xff, (b >>> 8) & 0xff, b & 0xff]) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 5, max: 255 }), fc.uint8Array({ maxLength: 6 })).map(([k, body]) => [k, body.length + 2, ...body]) },
  );
}

/**
 * TCP option lists, for the MSS clamp (docs/datapath.md "MSS clamping"): none; the usual SYN
 * layout (MSS first); well-formed lists with MSS anywhere (odd offsets after a NOP), twice, or
 * not at all; and malformed ones (a length of 0, 1 or past the end, an MSS of length ≠ 4, a kind
 * with no length byte) — at most 40 bytes.
 */
export function arbTcpOptions(): fc.Arbitrary<Uint8Array> {
  const list = fc.array(arbTcpOption(), { maxLength: 8 }).map((opts) => opts.flat().slice(0, 40));
  const malformed = fc.tuple(
    fc.array(arbTcpOption(), { maxLength: 3 }),
    fc.oneof(
      fc.tuple(fc.integer({ min: 2, max: 255 }), fc.constantFrom(0, 1)).map(([k, l]) => [k, l]),
      arbMssValue().chain((v) => fc.constantFrom(2, 3, 5, 6).map((l) => [2, l, v >> 8, v & 0xff, 0, 0].slice(0, Math.max(l, 2)))),
      fc.integer({ min: 2, max: 255 }).map((k) => [k, 41]),
      fc.integer({ min: 2, max: 255 }).map((k) => [k]),
    ),
  ).map(([before, bad]) => [...before.flat(), ...bad].slice(0, 40));
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant([] as number[]) },
    { weight: 3, arbitrary: arbMssValue().map((v) => [2, 4, v >> 8, v & 0xff, 1, 3, 3, 7, 4, 2, 0, 0]) },
    { weight: 4, arbitrary: list },
    { weight: 2, arbitrary: malformed },
  ).map((bytes) => Uint8Array.from(bytes));
}

function arbTcpPlan(): fc.Arbitrary<Extract<L4Plan, { kind: 'tcp' }>> {
  return fc.record({
    kind: fc.constant('tcp' as const),
    sport: arbPort(),
    dport: arbPort(),
    seq: fc.integer({ min: 0, max: 0xffffffff }),
    flags: arbTcpFlags(),
    options: arbTcpOptions(),
    // A data offset that lies one time in ten: below 5, or past the segment.
    dataOffset: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
  }, { requiredKeys: ['kind', 'sport', 'dport', 'seq', 'flags', 'options'] });
}

/** A whole Ethernet + IPv4 + L4 frame as plain values; `buildPacketFrame` makes the bytes. */
export interface PacketPlan {
  readonly ethSrc: string;
  readonly ethDst: string;
  readonly ip: Ipv4Plan;
  readonly l4: L4Plan;
  readonly payloadLength: number;
  /** Seeds the payload bytes (a deterministic PRNG), so big payloads stay cheap and shrinkable. */
  readonly payloadSeed: number;
  /** Ethernet padding after the IPv4 packet. */
  readonly padding: number;
}

/** Payload lengths: mostly small, often up to 1480, sometimes up to 2900 (a ~3000-byte frame). */
export function arbPayloadLength(): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 0, max: 64 }) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 1480 }) },
    { weight: 2, arbitrary: fc.integer({ min: 1400, max: 2900 }) },
  );
}

export function arbPacketPlan(opts: { dst?: fc.Arbitrary<string>; fragmentWeight?: number; vxlanPortWeight?: number } = {}): fc.Arbitrary<PacketPlan> {
  return fc.record({
    ethSrc: arbMac(),
    ethDst: arbMac(),
    ip: arbIpv4Plan(opts),
    l4: arbL4Plan(opts.vxlanPortWeight),
    payloadLength: arbPayloadLength(),
    payloadSeed: fc.integer({ min: 0, max: 0xffffffff }),
    padding: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 32 }) }),
  });
}

/** Bytes from a seed (xorshift32): the same plan always builds the same frame. */
export function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, length));
  let x = (seed >>> 0) || 0x2545f491;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function l4HeaderLength(l4: L4Plan): number {
  switch (l4.kind) {
    case 'tcp': return tcpHeaderLength(l4.options);
    case 'udp': return UDP_HLEN;
    case 'icmp': return ICMP_HLEN;
    case 'raw': return 0;
  }
}

/** Frame length of a plan: Ethernet + IPv4 (options padded) + L4 header + payload + padding. */
export function plannedFrameLength(plan: PacketPlan): number {
  return ETH_HLEN + 20 + Math.ceil(plan.ip.options.length / 4) * 4 + l4HeaderLength(plan.l4) + plan.payloadLength + plan.padding;
}

export interface BuildContext {
  /** Where UDP plans marked `toVxlanPort` are sent. */
  readonly vxlanPort?: number;
}

export function buildPacketFrame(plan: PacketPlan, context: BuildContext = {}): Uint8Array {
  const payload = seededBytes(plan.payloadLength, plan.payloadSeed);
  const fields: FrameFields = { ...plan.ip, ethSrc: plan.ethSrc, ethDst: plan.ethDst, padding: plan.padding };
  const l4 = plan.l4;
  switch (l4.kind) {
    case 'tcp':
      return buildTcpFrame({
        ...fields, sport: l4.sport, dport: l4.dport, seq: l4.seq, tcpFlags: l4.flags, payload, tcpOptions: l4.options,
        ...(l4.dataOffset !== undefined ? { tcpDataOffset: l4.dataOffset } : {}),
      });
    case 'udp': {
      const dport = l4.toVxlanPort && context.vxlanPort !== undefined ? context.vxlanPort : l4.dport;
      return buildUdpFrame({ ...fields, sport: l4.sport, dport, udpChecksum: l4.checksum, payload });
    }
    case 'icmp':
      return buildIcmpEchoFrame({ ...fields, icmpType: l4.type, identifier: l4.identifier, sequence: l4.sequence, payload });
    case 'raw':
      return buildIpv4Frame({ ...fields, protocol: l4.protocol, payload });
  }
}

/** IPv4 frames of every protocol, fragments and options included. */
export function arbIpv4Frame(opts: { dst?: fc.Arbitrary<string>; fragmentWeight?: number } = {}): fc.Arbitrary<Uint8Array> {
  return arbPacketPlan(opts).map((plan) => buildPacketFrame(plan));
}

// --- frames the datapath must leave alone --------------------------------------------------

/** EtherType ≠ 0x0800: ARP, IPv6, VLAN TPIDs and random values, with an IPv4-looking body. */
export function arbNonIpv4Frame(): fc.Arbitrary<Uint8Array> {
  const etherType = fc.oneof(
    fc.constantFrom(ETH_P_ARP, ETH_P_IPV6, ETH_P_8021Q, ETH_P_8021AD, 0x0000, 0x0801, 0x08ff, 0xffff),
    fc.integer({ min: 0, max: 0xffff }).filter((t) => t !== ETH_P_IP),
  );
  return fc.tuple(arbPacketPlan(), etherType).map(([plan, type]) => {
    const frame = buildPacketFrame(plan);
    frame[12] = type >>> 8;
    frame[13] = type & 0xff;
    return frame;
  });
}

/** 802.1Q / 802.1ad tagged IPv4 frames: the tag hides the IPv4 EtherType from the datapath. */
export function arbVlanFrame(): fc.Arbitrary<Uint8Array> {
  return fc.record({ plan: arbPacketPlan(), tpid: fc.constantFrom(ETH_P_8021Q, ETH_P_8021AD), tci: fc.integer({ min: 0, max: 0xffff }) })
    .map(({ plan, tpid, tci }) => {
      const inner = buildPacketFrame(plan);
      const out = new Uint8Array(inner.length + 4);
      out.set(inner.subarray(0, 12), 0);
      out.set([tpid >>> 8, tpid & 0xff, tci >>> 8, tci & 0xff], 12);
      out.set(inner.subarray(12), 16);
      return out;
    });
}

/** Random bytes, 0–100 long, sometimes with the IPv4 EtherType (so parsing goes further). */
export function arbGarbageFrame(): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 100, size: 'max' }), fc.boolean()).map(([bytes, ipv4]) => {
    const out = bytes.slice();
    if (ipv4 && out.length >= 14) { out[12] = 0x08; out[13] = 0x00; }
    if (ipv4 && out.length >= 15) out[14] = 0x40 | (out[14]! & 0x0f);
    return out;
  });
}

/** IPv4 frames whose version ≠ 4 or IHL < 5. */
export function arbBadIpHeaderFrame(): fc.Arbitrary<Uint8Array> {
  const b0 = fc.oneof(
    fc.integer({ min: 0, max: 4 }).map((ihl) => 0x40 | ihl),
    fc.integer({ min: 0, max: 15 }).filter((v) => v !== 4).chain((v) => fc.integer({ min: 0, max: 15 }).map((ihl) => (v << 4) | ihl)),
  );
  return fc.tuple(arbPacketPlan(), b0).map(([plan, first]) => {
    const frame = buildPacketFrame(plan);
    frame[ETH_HLEN] = first;
    return frame;
  });
}
