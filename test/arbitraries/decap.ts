// fast-check scenarios for the decapsulation programs: a node config, peers, a routes table
// (pools, the peers' blocks, our own blocks, node addresses, random entries) and a frame biased
// to reach every step of xdp_decap / tc_decap: IPIP and VXLAN around generated inner packets,
// from peers or strangers, to us or elsewhere, with outer options and fragments, right and wrong
// ports, VNIs and flags, inner sources in the sender's blocks, in others' or anywhere, inner
// destinations in our blocks, in pools or outside, every ECN pair, inner TTL 0, damaged lengths
// and truncations. Test-only.
import fc from 'fast-check';
import { ipv4ToNumber, numberToIpv4, parseCidr, prefixMask, writeU16 } from '../../src/codec/address.js';
import type { DecapOptions } from '../../src/codec/decap.js';
import { ETH_HLEN, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, ETH_P_8021Q } from '../../src/codec/ethernet.js';
import { buildFragNeededFrame, buildIpipFrame, buildTunnelQuote, buildVxlanFrame, type FrameFields } from '../../src/codec/frame-builder.js';
import { fixIpv4HeaderChecksum } from '../../src/codec/ipv4.js';
import { parseIpv4Frame } from '../../src/codec/frame-parse.js';
import { lookupRoute } from '../../src/codec/route-table.js';
import {
  BURROW_POOL_NONE, BURROW_ROUTE_FLAG, effectiveVni, peerMap,
  type NodeConfig, type Peer, type PeerMap, type PeerMode, type RouteEntry, type TunnelMode,
} from '../../src/codec/model.js';
import { acceptedByTestRun } from './test-run-input.js';
import type { Hook } from '../../src/codec/verdict.js';
import {
  arbBadIpHeaderFrame, arbFragmentFields, arbGarbageFrame, arbIpOptions, arbIpv4Address, arbMac, arbNodeAddress, arbNonIpv4Frame,
  arbPacketPlan, arbPodAddress, arbTtl, arbVlanFrame, buildPacketFrame, type FragmentFields, type PacketPlan,
} from './packets.js';
import { arbCidr, arbNodeConfig, arbPeerList, arbRouteTable } from './tables.js';
import { applyTruncation, arbTruncationPlan, type TruncationPlan } from './truncation.js';

export type DecapFrameKind = 'ipip' | 'vxlan' | 'plain' | 'junk' | 'icmp';

export interface DecapScenario {
  readonly kind: DecapFrameKind;
  readonly frame: Uint8Array;
  readonly peerList: [string, Peer][];
  readonly peers: PeerMap;
  readonly routes: RouteEntry[];
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
  | {
    kind: 'ipip' | 'vxlan'; inner: PacketPlan; innerFirstByte: number | undefined; outer: OuterPlan; vxlan: VxlanPlan; damage: Damage;
    innerSrc: AddressPick; innerDst: AddressPick;
  }
  | { kind: 'plain'; packet: PacketPlan; toLocal: boolean }
  | { kind: 'junk'; frame: Uint8Array }
  | IcmpSpec;

/**
 * An ICMP to us (mostly) for "Path MTU" P1–P6: frag-needed (mostly) quoting one of our tunnel
 * packets, or a forgery of one (another source, a non-peer destination, DF clear, a fragment, an
 * MTU it fit in, an MTU < 552), another protocol, a truncated or bad quote, a damaged outer header.
 */
export interface IcmpSpec {
  kind: 'icmp';
  toLocal: boolean;
  dst: string;
  routerSrc: string;
  icmpType: number;
  icmpCode: number;
  mtu: { kind: 'below-sent'; less: number } | { kind: 'value'; value: number };
  quoteMode: 'ipip' | 'vxlan' | 'other';
  otherProtocol: number;
  quoteSrc: { kind: 'local' } | { kind: 'address'; address: string };
  quoteDst: { kind: 'peer'; index: number } | { kind: 'address'; address: string };
  toConfigPort: boolean;
  otherPort: number;
  sentLength: number;
  df: boolean;
  frag: { mf: boolean; fragOffset: number };
  after: number;
  quoteFirstByte: number | undefined;
  quoteCut: number | undefined;
  damage: Damage;
}

const weighted = <T>(w: number, arbitrary: fc.Arbitrary<T>) => ({ weight: w, arbitrary });

/**
 * Where an inner address comes from, once the routes table and the outer source are known:
 * 'generated', as the packet plan has it; 'sender', the outer source itself; 'sender-block', inside
 * an entry that belongs to the outer source; 'local-block', inside one of our own blocks (LOCAL);
 * 'entry', inside any entry of the table. `pick` and `host` choose the entry and the address in it
 * (for the first two, one the entry answers for when a few tries find one: not a longer prefix).
 */
export type AddressPick =
  | { kind: 'generated' }
  | { kind: 'sender' }
  | { kind: 'sender-block' | 'local-block' | 'entry'; pick: number; host: number };

function arbAddressPick(weights: { generated: number; sender: number; senderBlock: number; localBlock: number; entry: number }): fc.Arbitrary<AddressPick> {
  const inside = (kind: 'sender-block' | 'local-block' | 'entry') => fc.record({ kind: fc.constant(kind), pick: fc.nat(), host: fc.nat() });
  return fc.oneof(
    weighted(weights.generated, fc.record({ kind: fc.constant('generated' as const) })),
    weighted(weights.sender, fc.record({ kind: fc.constant('sender' as const) })),
    weighted(weights.senderBlock, inside('sender-block')),
    weighted(weights.localBlock, inside('local-block')),
    weighted(weights.entry, inside('entry')),
  );
}

/** An address inside `cidr`, the `host`-th one (modulo its size). */
function addressIn(cidr: string, host: number): string {
  const c = parseCidr(cidr);
  const size = 2 ** (32 - c.prefixLength);
  return numberToIpv4((c.network + (host % size)) >>> 0);
}

function resolvePick(pick: AddressPick, generated: string, sender: string, routes: readonly RouteEntry[]): string {
  if (pick.kind === 'generated') return generated;
  if (pick.kind === 'sender') return sender;
  const { kind, pick: index, host } = pick;
  const candidates = routes.filter((e) =>
    kind === 'entry' ? true
      : kind === 'local-block' ? (e.route.flags & BURROW_ROUTE_FLAG.LOCAL) !== 0
        : e.route.remote === sender);
  const entry = candidates[index % Math.max(1, candidates.length)];
  if (!entry) return generated;
  if (kind === 'entry') return addressIn(entry.cidr, host);
  // An address the entry answers for (not a longer prefix inside it), if one of a few tries finds it.
  for (let i = 0; i < 8; i++) {
    const address = addressIn(entry.cidr, host + i * 0x9e3779b1);
    if (lookupRoute(routes, address) === entry) return address;
  }
  return addressIn(entry.cidr, host);
}

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

function arbIcmpSpec(): fc.Arbitrary<IcmpSpec> {
  return fc.record({
    kind: fc.constant('icmp' as const),
    toLocal: fc.oneof(weighted(9, fc.constant(true)), weighted(1, fc.constant(false))),
    dst: arbIpv4Address(),
    routerSrc: arbIpv4Address(),
    icmpType: fc.oneof(weighted(9, fc.constant(3)), weighted(1, fc.constantFrom(0, 8, 11, 12)), weighted(1, fc.integer({ min: 0, max: 255 }))),
    icmpCode: fc.oneof(weighted(9, fc.constant(4)), weighted(1, fc.integer({ min: 0, max: 15 }))),
    mtu: fc.oneof(
      weighted(6, fc.record({ kind: fc.constant('below-sent' as const), less: fc.oneof(fc.constantFrom(1, 20, 100, 220), fc.integer({ min: 1, max: 2000 })) })),
      weighted(2, fc.record({ kind: fc.constant('value' as const), value: fc.oneof(fc.constantFrom(0, 68, 551, 552, 553, 1280, 1400, 1500, 65535), fc.integer({ min: 0, max: 65535 })) })),
    ),
    quoteMode: fc.oneof(weighted(4, fc.constant('ipip' as const)), weighted(4, fc.constant('vxlan' as const)), weighted(1, fc.constant('other' as const))),
    otherProtocol: fc.constantFrom(1, 6, 47, 50),
    quoteSrc: fc.oneof(weighted(9, fc.constant({ kind: 'local' as const })), weighted(1, fc.record({ kind: fc.constant('address' as const), address: arbIpv4Address() }))),
    quoteDst: fc.oneof(weighted(9, fc.record({ kind: fc.constant('peer' as const), index: fc.nat() })), weighted(1, fc.record({ kind: fc.constant('address' as const), address: arbIpv4Address() }))),
    toConfigPort: fc.oneof(weighted(9, fc.constant(true)), weighted(1, fc.constant(false))),
    otherPort: fc.integer({ min: 0, max: 65535 }),
    sentLength: fc.oneof(fc.constantFrom(1500, 1480, 1450, 9000, 576), fc.integer({ min: 28, max: 65535 })),
    df: fc.oneof(weighted(9, fc.constant(true)), weighted(1, fc.constant(false))),
    frag: fc.oneof(weighted(12, fc.constant({ mf: false, fragOffset: 0 })), weighted(1, fc.record({ mf: fc.boolean(), fragOffset: fc.integer({ min: 0, max: 0x1fff }) }))),
    after: fc.oneof(weighted(3, fc.constant(8)), weighted(2, fc.integer({ min: 8, max: 120 }))),
    quoteFirstByte: fc.oneof(weighted(12, fc.constant(undefined)), weighted(1, fc.constantFrom(0x44, 0x40, 0x55, 0x46, 0x4f, 0x65, 0x00))),
    quoteCut: fc.oneof(weighted(10, fc.constant(undefined)), weighted(2, fc.integer({ min: 0, max: 30 }))),
    damage: arbDamage(),
  });
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
      innerSrc: arbAddressPick({ generated: 1, sender: 1, senderBlock: 14, localBlock: 1, entry: 2 }),
      innerDst: arbAddressPick({ generated: 1, sender: 0, senderBlock: 0, localBlock: 12, entry: 3 }),
    })),
    weighted(3, fc.record({ kind: fc.constant('plain' as const), packet: arbPacketPlan({ vxlanPortWeight: 3 }), toLocal: fc.boolean() })),
    weighted(2, fc.record({ kind: fc.constant('junk' as const), frame: fc.oneof(arbNonIpv4Frame(), arbVlanFrame(), arbGarbageFrame(), arbBadIpHeaderFrame()) })),
    weighted(4, arbIcmpSpec()),
  );
}

export interface DecapScenarioOptions {
  /** Only this hook; default: both. */
  readonly hook?: Hook;
  /** Only frames BPF_PROG_TEST_RUN accepts for the scenario's hook (see acceptedByTestRun). */
  readonly testRunnable?: boolean;
}

/**
 * How a decap routes table is made before the node and its peers are known: pools, blocks owned
 * by a peer (by index), by us or by any node address, and a few random entries on top.
 */
export interface DecapRoutesSpec {
  readonly pools: { cidr: string; flags: number; pool: number }[];
  /** A block for peer i (of the first five), and one of ours, before the other blocks. */
  readonly peerBlocks: string[];
  readonly localBlock: string | null;
  readonly blocks: { cidr: string; owner: { kind: 'peer'; index: number } | { kind: 'local' } | { kind: 'address'; address: string }; mode: TunnelMode; flags: number; pool: number }[];
  readonly extra: RouteEntry[];
}

/** A /26 (mostly), /24 or /32 around a pod address: the kind of CIDR a block has. */
function arbBlockCidr(): fc.Arbitrary<string> {
  return fc.tuple(arbPodAddress(), fc.constantFrom(26, 26, 26, 24, 32, 27)).map(([address, length]) =>
    `${numberToIpv4((ipv4ToNumber(address) & prefixMask(length)) >>> 0)}/${length}`);
}

export function arbDecapRoutesSpec(): fc.Arbitrary<DecapRoutesSpec> {
  const informational = fc.integer({ min: 0, max: 15 }).map((f) => f & (BURROW_ROUTE_FLAG.NAT_OUTGOING | BURROW_ROUTE_FLAG.SAME_SUBNET | BURROW_ROUTE_FLAG.POOL_DISABLED));
  const pool = fc.record({
    cidr: fc.oneof(weighted(6, fc.constant('10.244.0.0/21')), weighted(2, fc.constant('10.244.0.0/16')), weighted(1, fc.constant('10.244.4.0/22')), weighted(1, arbCidr())),
    flags: informational,
    pool: fc.integer({ min: 0, max: 3 }),
  });
  const owner = fc.oneof(
    weighted(6, fc.record({ kind: fc.constant('peer' as const), index: fc.nat() })),
    weighted(3, fc.record({ kind: fc.constant('local' as const) })),
    weighted(1, fc.record({ kind: fc.constant('address' as const), address: arbNodeAddress() })),
  );
  const block = fc.record({
    cidr: arbBlockCidr(),
    owner,
    mode: fc.constantFrom<TunnelMode>('ipip', 'vxlan', 'none'),
    flags: informational,
    pool: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(BURROW_POOL_NONE)),
  });
  return fc.record({
    pools: fc.oneof(weighted(8, fc.array(pool, { minLength: 1, maxLength: 2 })), weighted(1, fc.constant<DecapRoutesSpec['pools']>([]))),
    peerBlocks: fc.array(arbBlockCidr(), { minLength: 5, maxLength: 5 }),
    localBlock: fc.option(arbBlockCidr(), { freq: 8 }),
    blocks: fc.array(block, { minLength: 0, maxLength: 6 }),
    extra: fc.oneof(weighted(3, fc.constant<RouteEntry[]>([])), weighted(1, arbRouteTable({ maxLength: 3 }))),
  });
}

/**
 * The table of `spec` for a node with `config` and `peerList`: pools as the compiler writes them
 * (mode none, IN_POOL, remote 0.0.0.0), blocks (IN_POOL; ours also LOCAL with our address as the
 * remote, mode none), then the random entries. A later entry for the same prefix replaces an
 * earlier one, as in the map.
 */
export function resolveDecapRoutes(spec: DecapRoutesSpec, config: NodeConfig, peerList: [string, Peer][]): RouteEntry[] {
  const route = (mode: TunnelMode, remote: string, flags: number, pool: number) =>
    ({ mode, remote, vni: 0, vtepMac: '00:00:00:00:00:00', flags, pool });
  return [
    ...spec.pools.map((p) => ({ cidr: p.cidr, route: route('none', '0.0.0.0', p.flags | BURROW_ROUTE_FLAG.IN_POOL, p.pool) })),
    ...spec.peerBlocks.slice(0, peerList.length).map((cidr, i) => ({ cidr, route: route('ipip', peerList[i]![0], BURROW_ROUTE_FLAG.IN_POOL, 0) })),
    ...(spec.localBlock !== null ? [{ cidr: spec.localBlock, route: route('none', config.localIp, BURROW_ROUTE_FLAG.IN_POOL | BURROW_ROUTE_FLAG.LOCAL, 0) }] : []),
    ...spec.blocks.map((b) => {
      if (b.owner.kind === 'local') return { cidr: b.cidr, route: route('none', config.localIp, b.flags | BURROW_ROUTE_FLAG.IN_POOL | BURROW_ROUTE_FLAG.LOCAL, b.pool) };
      const remote = b.owner.kind === 'peer' ? peerList[b.owner.index % Math.max(1, peerList.length)]?.[0] ?? '10.0.9.9' : b.owner.address;
      return { cidr: b.cidr, route: route(b.mode, remote, b.flags | BURROW_ROUTE_FLAG.IN_POOL, b.pool) };
    }),
    ...spec.extra,
  ];
}

/** 1–5 peers, or none one time in ten. */
export function arbDecapPeerList(): fc.Arbitrary<[string, Peer][]> {
  return fc.oneof(weighted(9, arbPeerList({ minLength: 1, maxLength: 5 })), weighted(1, arbPeerList({ maxLength: 0 })));
}

export function arbDecapScenario(opts: DecapScenarioOptions = {}): fc.Arbitrary<DecapScenario> {
  return fc.record({
    config: arbNodeConfig(),
    peerList: arbDecapPeerList(),
    routesSpec: arbDecapRoutesSpec(),
    hook: opts.hook !== undefined ? fc.constant(opts.hook) : fc.constantFrom<Hook>('tc', 'xdp'),
    spec: arbDecapFrameSpec(),
    learned: fc.oneof(weighted(3, fc.constant<[number, number][]>([])), weighted(1, fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(552, 1280, 1400, 1500), fc.integer({ min: 552, max: 65535 }))), { maxLength: 3 }))),
  }).map(({ config, peerList, routesSpec, hook, spec, learned }) => {
    const peers = peerMap(peerList);
    const routes = resolveDecapRoutes(routesSpec, config, peerList);
    const frame = resolveDecapFrame(spec, config, peerList, routes);
    // The pmtu map before the frame: entries for some peers (P6 keeps a narrower one).
    const keys = [...peers.keys()];
    const pmtu = new Map<string, number>(keys.length === 0 ? [] : learned.map(([i, mtu]) => [keys[i % keys.length]!, mtu] as [string, number]));
    return { kind: spec.kind, frame, peerList, peers, routes, config, hook, options: { peers, config, routes, hook, ...(pmtu.size ? { pmtu } : {}) } };
  }).filter((s) => !opts.testRunnable || acceptedByTestRun(s.frame, s.hook));
}

/**
 * The frame of `spec` for a node with `config`, `peerList` and `routes` (its 'peer' sources pick
 * from the list, its inner addresses from the table).
 */
export function resolveDecapFrame(spec: DecapFrameSpec, config: NodeConfig, peerList: [string, Peer][], routes: readonly RouteEntry[]): Uint8Array {
  if (spec.kind === 'junk') return spec.frame;
  if (spec.kind === 'icmp') return resolveIcmpFrame(spec, config, peerList);
  if (spec.kind === 'plain') {
    const plan = spec.toLocal ? { ...spec.packet, ip: { ...spec.packet.ip, dst: config.localIp } } : spec.packet;
    return buildPacketFrame(plan, { vxlanPort: config.vxlanPort });
  }
  const { outer, vxlan } = spec;
  const peerEntry = outer.source.kind === 'peer' ? peerList[outer.source.index % Math.max(1, peerList.length)] : undefined;
  const src = peerEntry?.[0] ?? (outer.source.kind === 'address' ? outer.source.address : '10.0.9.9');
  const ip = {
    ...spec.inner.ip,
    src: resolvePick(spec.innerSrc, spec.inner.ip.src, src, routes),
    dst: resolvePick(spec.innerDst, spec.inner.ip.dst, src, routes),
  };
  const inner = buildPacketFrame({ ...spec.inner, ip }).subarray(ETH_HLEN);
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

function resolveIcmpFrame(spec: IcmpSpec, config: NodeConfig, peerList: [string, Peer][]): Uint8Array {
  const peer = spec.quoteDst.kind === 'peer' ? peerList[spec.quoteDst.index % Math.max(1, peerList.length)]?.[0] : undefined;
  const dst = spec.quoteDst.kind === 'address' ? spec.quoteDst.address : peer ?? '10.0.9.9';
  const src = spec.quoteSrc.kind === 'local' ? config.localIp : spec.quoteSrc.address;
  let quote: Uint8Array = buildTunnelQuote({
    mode: spec.quoteMode === 'vxlan' ? 'vxlan' : 'ipip', src, dst, totalLength: spec.sentLength, df: spec.df, mf: spec.frag.mf,
    fragOffset: spec.frag.fragOffset, dport: spec.toConfigPort ? config.vxlanPort : spec.otherPort, after: spec.after,
  });
  if (spec.quoteMode === 'other') {
    quote[9] = spec.otherProtocol;
    fixIpv4HeaderChecksum(quote, 0);
  }
  if (spec.quoteFirstByte !== undefined) quote[0] = spec.quoteFirstByte;
  if (spec.quoteCut !== undefined) quote = quote.subarray(0, spec.quoteCut);
  const mtu = spec.mtu.kind === 'value' ? spec.mtu.value : Math.max(0, spec.sentLength - spec.mtu.less);
  const frame = buildFragNeededFrame({
    src: spec.routerSrc, dst: spec.toLocal ? config.localIp : spec.dst, ttl: 64, mtu, icmpType: spec.icmpType, icmpCode: spec.icmpCode, quote,
    ...(spec.damage.kind === 'pad' ? { padding: spec.damage.bytes } : {}),
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
 * The node at the other end of an encapsulated packet `sent` (the frame before encapsulation): its
 * config (local address = the route's remote), a peers map holding exactly the sender, for the
 * mode and VNI the sender used, and routes saying the inner source is the sender's and the inner
 * destination one of ours (a pool address when it is the source too).
 */
export function receivingNode(sender: NodeConfig, entry: RouteEntry, sent: Uint8Array): { config: NodeConfig; peers: PeerMap; routes: RouteEntry[] } {
  const mode = entry.route.mode as PeerMode;
  const inner = parseIpv4Frame(sent);
  const route = (remote: string, flags: number) => ({ mode: 'none' as const, remote, vni: 0, vtepMac: '00:00:00:00:00:00', flags, pool: 0 });
  const routes = inner === undefined ? [] : [
    { cidr: `${inner.dst}/32`, route: route(entry.route.remote, BURROW_ROUTE_FLAG.IN_POOL | BURROW_ROUTE_FLAG.LOCAL) },
    { cidr: `${inner.src}/32`, route: route(sender.localIp, BURROW_ROUTE_FLAG.IN_POOL) },
  ];
  return {
    config: { ...sender, localIp: entry.route.remote },
    peers: peerMap([[sender.localIp, { modes: new Set([mode]), vni: effectiveVni(entry.route, sender) }]]),
    routes,
  };
}
