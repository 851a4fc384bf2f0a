// tc_decap and xdp_decap, a row per rule of docs/datapath.md "Decapsulation":
// the frame, the tables when they are not the world's (cases/world.ts: NODE, PEERS, DECAP_ROUTES),
// and what both programs must return, count and output. Expected outputs come from
// cases/expected.ts, not from the codec.
import {
  BURROW_CONFIG_FLAG, BURROW_ROUTE_FLAG, buildFragNeededFrame, buildIpv4Frame, buildTunnelQuote, buildUdpFrame, fixIpv4HeaderChecksum,
  macToBytes, writeU16, type StatName, type TunnelQuoteFields,
} from '../../../src/codec/index.js';
import { tunnelRoute as route } from '../../helpers/codec-node.js';
import type { DecapCase, Expected } from '../harness/table-cases.js';
import { decapOutput, withInnerEcn } from './expected.js';
import {
  DECAP_ROUTES, NODE, NODE_B, NODE_C, NODE_D, PAYLOAD, POOL_CIDR, STRANGER, innerPacket, ipipToUs, podTcp, tagged, vxlanToUs, withBytes,
} from './world.js';

const keep = (verdict: 'pass' | 'drop', counter: StatName): Expected => ({ verdict, counter, output: 'input' });
const PASS = keep('pass', 'PASS');
const MALFORMED = keep('drop', 'DROP_MALFORMED');
const UNKNOWN_PEER = keep('drop', 'DROP_UNKNOWN_PEER');
const SPOOFED = keep('drop', 'DROP_SPOOFED');
const OUTSIDE_POOL = keep('drop', 'DROP_OUTSIDE_POOL');
/** node-a with decap's pool source check (agentd --decap-source-check pool). */
const POOL_CHECK = { ...NODE, flags: BURROW_CONFIG_FLAG.DECAP_SRC_POOL };

/** node-a with tc_decap's GRO hop (agentd on a link that segments): burrow0's peer and burrow0's MAC. */
const GRO_HOP = { ...NODE, groIfindex: 7, tunnelMac: '02:b0:00:00:00:07' };
/** The frame with its Ethernet destination replaced. */
const withDestination = (frame: Uint8Array, mac: string): Uint8Array => {
  const out = frame.slice();
  out.set(macToBytes(mac), 0);
  return out;
};

const OUTER_IPIP_INNER = 14 + 20; // inner IPv4 header of an IPIP frame without outer options
const OUTER_VXLAN_INNER = 14 + 20 + 30;

/** Decapsulated: the outer Ethernet header and the inner packet from `innerAt`. */
const decapped = (frame: Uint8Array, mode: 'ipip' | 'vxlan', innerAt = mode === 'ipip' ? OUTER_IPIP_INNER : OUTER_VXLAN_INNER): Expected => ({
  verdict: 'pass', counter: mode === 'ipip' ? 'DECAP_IPIP' : 'DECAP_VXLAN', output: decapOutput(frame, innerAt),
});

/** Sets the outer total length (and fixes the outer checksum). */
function outerTotLen(frame: Uint8Array, totLen: number): Uint8Array {
  const out = frame.slice();
  writeU16(out, 16, totLen);
  fixIpv4HeaderChecksum(out, 14);
  return out;
}

/** The frame cut to `length` bytes; 'consistent' also makes the outer total length agree. */
function cut(frame: Uint8Array, length: number, mode: 'cut' | 'consistent'): Uint8Array {
  const out = frame.slice(0, length);
  return mode === 'consistent' && length >= 34 ? outerTotLen(out, length - 14) : out;
}

const IPIP = ipipToUs();

// --- Path MTU (P1–P6): ICMP frag-needed from a router about our outer packets -------------
const ROUTER = '10.0.1.1';
/** A frag-needed to us naming `mtu`, quoting our 1500-byte outer packet to node-c (IPIP) unless `quote` says otherwise. */
function fragNeeded(mtu: number, quote: Partial<TunnelQuoteFields> = {}, edit?: (q: Uint8Array) => Uint8Array, icmp: { icmpType?: number; icmpCode?: number } = {}): Uint8Array {
  let q = buildTunnelQuote({ mode: 'ipip', src: NODE.localIp, dst: NODE_C, totalLength: 1500, ...quote });
  if (edit) q = edit(q);
  return buildFragNeededFrame({ src: ROUTER, dst: NODE.localIp, ttl: 64, mtu, quote: q, ...icmp });
}
const LEARNED = keep('pass', 'PMTU_LEARNED');
const FORGED = keep('drop', 'DROP_PMTU_FORGED');
const learned = (peer: string, mtu: number) => new Map([[peer, mtu]]);
const withQuoteByte = (at: number, value: number) => (q: Uint8Array) => {
  const out = q.slice();
  out[at] = value;
  return out;
};
const PMTU_CASES = [
  { description: 'frag-needed 1400 about our IPIP packet to node-c: learned, passed on', rule: 'P6', frame: fragNeeded(1400), expect: LEARNED, pmtuAfter: learned(NODE_C, 1400) },
  { description: 'frag-needed 1280 about our VXLAN packet to node-d: learned', rule: 'P6', frame: fragNeeded(1280, { mode: 'vxlan', dst: NODE_D }), expect: LEARNED, pmtuAfter: learned(NODE_D, 1280) },
  { description: 'a quote of 64 bytes after the header (more than 8) is fine', rule: 'P2', frame: fragNeeded(1400, { after: 64 }), expect: LEARNED, pmtuAfter: learned(NODE_C, 1400) },
  { description: 'MTU 552 exactly (min_pmtu) is learned', rule: 'P5', frame: fragNeeded(552), expect: LEARNED, pmtuAfter: learned(NODE_C, 552) },
  { description: 'a narrower MTU replaces a wider one', rule: 'P6', frame: fragNeeded(1280), pmtuBefore: learned(NODE_C, 1400), expect: LEARNED, pmtuAfter: learned(NODE_C, 1280) },
  { description: 'a wider MTU leaves a narrower entry alone', rule: 'P6', frame: fragNeeded(1400), pmtuBefore: learned(NODE_C, 1280), expect: LEARNED, pmtuAfter: learned(NODE_C, 1280) },
  { description: 'learning about node-c leaves node-b\'s entry alone', rule: 'P6', frame: fragNeeded(1400), pmtuBefore: learned(NODE_B, 1300), expect: LEARNED, pmtuAfter: new Map([[NODE_B, 1300], [NODE_C, 1400]]) },
  { description: 'forged: quoted source not us', rule: 'P4', frame: fragNeeded(1400, { src: STRANGER }), expect: FORGED },
  { description: 'forged: quoted destination not a peer', rule: 'P4', frame: fragNeeded(1400, { dst: STRANGER }), expect: FORGED },
  { description: 'forged: quoted packet without DF (ours always have it)', rule: 'P4', frame: fragNeeded(1400, { df: false }), expect: FORGED },
  { description: 'forged: quoted packet a fragment (MF)', rule: 'P4', frame: fragNeeded(1400, { mf: true }), expect: FORGED },
  { description: 'forged: quoted packet a fragment (offset)', rule: 'P4', frame: fragNeeded(1400, { fragOffset: 3 }), expect: FORGED },
  { description: 'forged: the MTU named is not smaller than the packet quoted', rule: 'P4', frame: fragNeeded(1500), expect: FORGED },
  { description: 'forged: VXLAN quote about a non-peer', rule: 'P4', frame: fragNeeded(1280, { mode: 'vxlan', dst: STRANGER }), expect: FORGED },
  { description: 'MTU 551 (< 552): not believed', rule: 'P5', frame: fragNeeded(551), expect: keep('drop', 'DROP_PMTU_TOO_SMALL') },
  { description: 'MTU 0 (a pre-RFC 1191 router): not believed', rule: 'P5', frame: fragNeeded(0), expect: keep('drop', 'DROP_PMTU_TOO_SMALL') },
  { description: 'forged and too small: forged first', rule: 'P4/P5', frame: fragNeeded(68, { src: STRANGER }), expect: FORGED },
  { description: 'quote of 27 bytes (header + 7): malformed', rule: 'P2', frame: fragNeeded(1400, { after: 7 }), expect: MALFORMED },
  { description: 'quote of 19 bytes (not a whole header): malformed', rule: 'P2', frame: fragNeeded(1400, {}, (q) => q.slice(0, 19)), expect: MALFORMED },
  { description: 'no quote at all: malformed', rule: 'P2', frame: fragNeeded(1400, {}, (q) => q.slice(0, 0)), expect: MALFORMED },
  { description: 'quoted IHL 4: malformed', rule: 'P2', frame: fragNeeded(1400, {}, withQuoteByte(0, 0x44)), expect: MALFORMED },
  { description: 'quoted version 6: malformed', rule: 'P2', frame: fragNeeded(1400, {}, withQuoteByte(0, 0x65)), expect: MALFORMED },
  { description: 'quoted IHL 15 but 28 bytes quoted: malformed', rule: 'P2', frame: fragNeeded(1400, {}, withQuoteByte(0, 0x4f)), expect: MALFORMED },
  { description: 'quoted IHL 6 with 8 bytes quoted after 20: malformed (the 8 must follow the options)', rule: 'P2', frame: fragNeeded(1400, {}, withQuoteByte(0, 0x46)), expect: MALFORMED },
  { description: 'quoted IHL 6 with 12 bytes after 20: learned', rule: 'P2', frame: fragNeeded(1400, { after: 12 }, withQuoteByte(0, 0x46)), expect: LEARNED, pmtuAfter: learned(NODE_C, 1400) },
  { description: 'frag-needed about a TCP packet of ours: the stack\'s', rule: 'P3', frame: fragNeeded(1400, {}, withQuoteByte(9, 6)), expect: PASS },
  { description: 'frag-needed about UDP to another port: the stack\'s', rule: 'P3', frame: fragNeeded(1400, { mode: 'vxlan', dport: 53 }), expect: PASS },
  { description: 'ICMP port unreachable (3/3) quoting our packet: not frag-needed', rule: 'P1', frame: fragNeeded(1400, {}, undefined, { icmpCode: 3 }), expect: PASS },
  { description: 'ICMP time exceeded (11/0): not frag-needed', rule: 'P1', frame: fragNeeded(1400, {}, undefined, { icmpType: 11, icmpCode: 0 }), expect: PASS },
  { description: 'ICMP with a 4-byte header: not ours to judge', rule: 'P1', frame: buildIpv4Frame({ src: ROUTER, dst: NODE.localIp, protocol: 1, payload: new Uint8Array([3, 4, 0, 0]) }), expect: PASS },
  { description: 'frag-needed addressed to someone else: not ours', rule: 'step 4', frame: buildFragNeededFrame({ src: ROUTER, dst: STRANGER, mtu: 1400, quote: buildTunnelQuote({ mode: 'ipip', src: NODE.localIp, dst: NODE_C, totalLength: 1500 }) }), expect: PASS },
  { description: 'frag-needed whose outer total length cuts the quote: malformed quote', rule: 'P2', frame: outerTotLen(fragNeeded(1400), 20 + 8 + 20 + 4), expect: MALFORMED },
  { description: 'frag-needed frame cut short of its total length: malformed outer', rule: 'step 7', frame: fragNeeded(1400).slice(0, 14 + 20 + 8 + 20), expect: MALFORMED },
  { description: 'frag-needed as an outer fragment: left to the stack', rule: 'step 6', frame: buildIpv4Frame({ src: ROUTER, dst: NODE.localIp, protocol: 1, mf: true, payload: new Uint8Array(36) }), expect: keep('pass', 'PASS_FRAGMENT') },
];
const VXLAN = vxlanToUs();
const ECN_NAMES = ['Not-ECT', 'ECT(1)', 'ECT(0)', 'CE'];

/**
 * RFC 6040's decapsulation table, written out: [outer, inner] → the inner ECN after decap, or
 * 'drop'. Rows: outer; columns: inner (Not-ECT, ECT(1), ECT(0), CE).
 */
const RFC6040: (number | 'drop')[][] = [
  /* outer Not-ECT */ [0, 1, 2, 3],
  /* outer ECT(1)  */ [0, 1, 1, 3],
  /* outer ECT(0)  */ [0, 1, 2, 3],
  /* outer CE      */ ['drop', 3, 3, 3],
];

function ecnCells(mode: 'ipip' | 'vxlan'): DecapCase[] {
  const rows: DecapCase[] = [];
  RFC6040.forEach((row, outer) => row.forEach((after, inner) => {
    const innerBytes = innerPacket({ ecn: inner });
    const frame = mode === 'ipip' ? ipipToUs({ ecn: outer, inner: innerBytes }) : vxlanToUs({ ecn: outer, inner: innerBytes });
    const at = mode === 'ipip' ? OUTER_IPIP_INNER : OUTER_VXLAN_INNER;
    rows.push({
      description: `${mode}: outer ${ECN_NAMES[outer]}, inner ${ECN_NAMES[inner]} → ${after === 'drop' ? 'drop' : `inner ${ECN_NAMES[after]}`}`,
      rule: 'step 14 (RFC 6040)',
      frame,
      expect: after === 'drop'
        ? keep('drop', 'DROP_ECN')
        : { ...decapped(frame, mode), output: decapOutput(withInnerEcn(frame, at, after), at) },
    });
  }));
  return rows;
}

/**
 * Every header boundary of the IPIP frame (outer IPv4 at 14, inner IPv4 at 34, TCP at 54, payload
 * at 74, end 86) and of the VXLAN frame (outer 14, UDP 34, VXLAN 42, inner Ethernet 50, inner IPv4
 * 64, TCP 84, payload 104, end 116), one byte either side, cut plainly (total length still says
 * the whole packet) or consistently (total length = what is left): [length, cut, consistent].
 */
const IPIP_CUTS: [number, StatName, StatName][] = [
  [14, 'PASS', 'PASS'], [15, 'PASS', 'PASS'], [33, 'PASS', 'PASS'],
  [34, 'DROP_MALFORMED', 'DROP_MALFORMED'], [35, 'DROP_MALFORMED', 'DROP_MALFORMED'],
  [53, 'DROP_MALFORMED', 'DROP_MALFORMED'], [54, 'DROP_MALFORMED', 'DECAP_IPIP'], [55, 'DROP_MALFORMED', 'DECAP_IPIP'],
  [73, 'DROP_MALFORMED', 'DECAP_IPIP'], [74, 'DROP_MALFORMED', 'DECAP_IPIP'], [75, 'DROP_MALFORMED', 'DECAP_IPIP'],
  [85, 'DROP_MALFORMED', 'DECAP_IPIP'],
];
const VXLAN_CUTS: [number, StatName, StatName][] = [
  [14, 'PASS', 'PASS'], [33, 'PASS', 'PASS'],
  [34, 'DROP_MALFORMED', 'DROP_MALFORMED'], [35, 'DROP_MALFORMED', 'DROP_MALFORMED'], [41, 'DROP_MALFORMED', 'DROP_MALFORMED'],
  [42, 'DROP_MALFORMED', 'DROP_MALFORMED'], [43, 'DROP_MALFORMED', 'DROP_MALFORMED'], [49, 'DROP_MALFORMED', 'DROP_MALFORMED'],
  [50, 'DROP_MALFORMED', 'DROP_MALFORMED'], [51, 'DROP_MALFORMED', 'DROP_MALFORMED'], [63, 'DROP_MALFORMED', 'DROP_MALFORMED'],
  [64, 'DROP_MALFORMED', 'DROP_MALFORMED'], [65, 'DROP_MALFORMED', 'DROP_MALFORMED'], [83, 'DROP_MALFORMED', 'DROP_MALFORMED'],
  [84, 'DROP_MALFORMED', 'DECAP_VXLAN'], [85, 'DROP_MALFORMED', 'DECAP_VXLAN'], [103, 'DROP_MALFORMED', 'DECAP_VXLAN'],
  [104, 'DROP_MALFORMED', 'DECAP_VXLAN'], [105, 'DROP_MALFORMED', 'DECAP_VXLAN'], [115, 'DROP_MALFORMED', 'DECAP_VXLAN'],
];

function truncations(mode: 'ipip' | 'vxlan'): DecapCase[] {
  const whole = mode === 'ipip' ? IPIP : VXLAN;
  const rows = mode === 'ipip' ? IPIP_CUTS : VXLAN_CUTS;
  return rows.flatMap(([length, plain, consistent]) => (['cut', 'consistent'] as const).map((how) => {
    const frame = cut(whole, length, how);
    const counter = how === 'cut' ? plain : consistent;
    const expect: Expected = counter === 'DECAP_IPIP' || counter === 'DECAP_VXLAN'
      ? decapped(frame, mode)
      : keep(counter === 'PASS' ? 'pass' : 'drop', counter);
    return { description: `${mode} cut to ${length} of ${whole.length} bytes (${how === 'cut' ? 'total length unchanged' : 'total length agrees'})`, rule: 'step 7/8/10/11 (truncation)', frame, expect };
  }));
}

const vxlanFlags = (flags: number, edits: Record<number, number> = {}): Uint8Array =>
  withBytes(vxlanToUs({ vxlanFlags: flags }), edits);

export const DECAP_CASES: DecapCase[] = [
  // --- the two tunnels, from a peer ------------------------------------------------------
  { description: 'IPIP from a peer is decapsulated', rule: 'step 15', frame: IPIP, expect: decapped(IPIP, 'ipip') },
  { description: 'VXLAN from a peer is decapsulated', rule: 'step 15', frame: VXLAN, expect: decapped(VXLAN, 'vxlan') },

  // --- step 16: VXLAN through the tunnel device's GRO (tc_decap only) ----------------------
  {
    description: 'VXLAN with a GRO hop: tc_decap redirects to it with the tunnel MAC, xdp_decap passes',
    rule: 'step 16', frame: VXLAN, config: GRO_HOP, expect: decapped(VXLAN, 'vxlan'),
    tc: { ...decapped(VXLAN, 'vxlan'), verdict: 'redirect', output: withDestination(decapOutput(VXLAN, OUTER_VXLAN_INNER), GRO_HOP.tunnelMac!), redirectIfindex: GRO_HOP.groIfindex! },
  },
  { description: 'IPIP with a GRO hop: passed up the uplink (GRO merged it already)', rule: 'step 16', frame: IPIP, config: GRO_HOP, expect: decapped(IPIP, 'ipip') },
  (() => {
    const frame = vxlanToUs({ inner: buildUdpFrame({ src: '10.244.2.7', dst: '10.244.1.5', sport: 53, dport: 40000, payload: PAYLOAD }).slice(14) });
    return { description: 'VXLAN carrying UDP with a GRO hop: passed up the uplink (no GRO merges forwarded UDP)', rule: 'step 16', frame, config: GRO_HOP, expect: decapped(frame, 'vxlan') };
  })(),
  { description: 'VXLAN outside the pools with a GRO hop: dropped, not redirected', rule: 'step 16', frame: vxlanToUs({ inner: innerPacket({ dst: '192.0.2.1' }) }), config: GRO_HOP, expect: OUTSIDE_POOL },
  (() => {
    const frame = vxlanToUs({ ecn: 3, inner: innerPacket({ ecn: 2 }) });
    const at = OUTER_VXLAN_INNER;
    const out = decapOutput(withInnerEcn(frame, at, 3), at);
    return {
      description: 'VXLAN with a GRO hop and CE outside: the inner ECN becomes CE, then redirected', rule: 'step 16', frame, config: GRO_HOP,
      expect: { ...decapped(frame, 'vxlan'), output: out },
      tc: { ...decapped(frame, 'vxlan'), verdict: 'redirect' as const, output: withDestination(out, GRO_HOP.tunnelMac!), redirectIfindex: GRO_HOP.groIfindex! },
    };
  })(),
  (() => {
    const inner = buildIpv4Frame({ src: '10.244.2.20', dst: '10.244.1.30', protocol: 4, payload: innerPacket() }).slice(14);
    const frame = ipipToUs({ inner });
    return { description: 'IPIP in IPIP is decapsulated once', rule: 'step 15', frame, expect: decapped(frame, 'ipip') };
  })(),
  (() => {
    const frame = ipipToUs({ inner: innerPacket({ options: Uint8Array.of(148, 4, 0, 0) }) });
    return { description: 'inner IP options are carried unchanged', rule: 'step 15', frame, expect: decapped(frame, 'ipip') };
  })(),

  // --- steps 1–5: not ours --------------------------------------------------------------
  { description: 'Ethernet header only (14 bytes, IPv4 type)', rule: 'step 1–3', frame: IPIP.slice(0, 14), expect: PASS },
  { description: 'IPv4 EtherType, version 6', rule: 'step 3', frame: withBytes(IPIP, { 14: 0x65 }), expect: PASS },
  { description: 'IPv4 EtherType, IHL 4', rule: 'step 3', frame: withBytes(IPIP, { 14: 0x44 }), expect: PASS },
  { description: 'ARP EtherType on an IPIP frame passes untouched', rule: 'step 2', frame: withBytes(IPIP, { 13: 0x06 }), expect: PASS },
  { description: 'IPv6 EtherType on an IPIP frame passes untouched', rule: 'step 2', frame: withBytes(IPIP, { 12: 0x86, 13: 0xdd }), expect: PASS },
  { description: '802.1Q-tagged IPIP passes untouched', rule: 'step 2', frame: tagged(IPIP, 0x8100), expect: PASS },
  { description: '802.1ad-tagged VXLAN passes untouched', rule: 'step 2', frame: tagged(VXLAN, 0x88a8), expect: PASS },
  { description: 'IPIP from a peer to another address', rule: 'step 4', frame: ipipToUs({ dst: '10.0.1.99' }), expect: PASS },
  { description: 'VXLAN from a stranger to another address', rule: 'step 4', frame: vxlanToUs({ src: STRANGER, dst: '10.0.1.99' }), expect: PASS },
  { description: 'TCP to us', rule: 'step 5', frame: podTcp({ src: NODE_B, dst: NODE.localIp }), expect: PASS },
  { description: 'GRE to us from a peer', rule: 'step 5', frame: buildIpv4Frame({ src: NODE_B, dst: NODE.localIp, protocol: 47, payload: innerPacket() }), expect: PASS },

  // --- step 6: outer fragments ----------------------------------------------------------
  { description: 'IPIP outer fragment (MF)', rule: 'step 6', frame: ipipToUs({ mf: true }), expect: keep('pass', 'PASS_FRAGMENT') },
  { description: 'IPIP outer fragment (offset 185)', rule: 'step 6', frame: ipipToUs({ fragOffset: 185 }), expect: keep('pass', 'PASS_FRAGMENT') },
  { description: 'VXLAN outer fragment (MF)', rule: 'step 6', frame: vxlanToUs({ mf: true }), expect: keep('pass', 'PASS_FRAGMENT') },
  { description: 'an outer fragment from a stranger still passes (6 before 9)', rule: 'step 6', frame: ipipToUs({ src: STRANGER, fragOffset: 1 }), expect: keep('pass', 'PASS_FRAGMENT') },
  { description: 'a UDP fragment to us on another port is a fragment too', rule: 'step 6', frame: buildUdpFrame({ src: NODE_B, dst: NODE.localIp, sport: 5, dport: 53, mf: true }), expect: keep('pass', 'PASS_FRAGMENT') },
  { description: 'outer DF is not a fragment', rule: 'step 6', frame: ipipToUs({ df: true }), expect: decapped(ipipToUs({ df: true }), 'ipip') },

  // --- step 7: outer lengths and options ------------------------------------------------
  (() => {
    const frame = ipipToUs({ options: Uint8Array.of(1, 1, 1, 0) });
    return { description: 'outer IP options (IHL 6) are skipped', rule: 'step 7', frame, expect: decapped(frame, 'ipip', 14 + 24) };
  })(),
  (() => {
    const frame = ipipToUs({ options: new Uint8Array(40).fill(1) });
    return { description: 'outer IP options (IHL 15) are skipped', rule: 'step 7', frame, expect: decapped(frame, 'ipip', 14 + 60) };
  })(),
  (() => {
    const frame = vxlanToUs({ options: Uint8Array.of(148, 4, 0, 0, 1, 1, 1, 0) });
    return { description: 'VXLAN behind outer IP options (IHL 7)', rule: 'step 7', frame, expect: decapped(frame, 'vxlan', 14 + 28 + 30) };
  })(),
  { description: 'outer IHL·4 beyond the frame', rule: 'step 7', frame: ipipToUs({ options: new Uint8Array(40) }).slice(0, 14 + 59), expect: MALFORMED },
  { description: 'outer total length < IHL·4', rule: 'step 7', frame: outerTotLen(ipipToUs({ options: new Uint8Array(40) }), 59), expect: MALFORMED },
  { description: 'outer total length > the frame', rule: 'step 7', frame: outerTotLen(IPIP, IPIP.length - 13), expect: MALFORMED },
  { description: 'a UDP datagram to us with a bad total length is malformed before the port check', rule: 'step 7', frame: outerTotLen(buildUdpFrame({ src: NODE_B, dst: NODE.localIp, sport: 5, dport: 53 }), 1000), expect: MALFORMED },
  (() => {
    const frame = ipipToUs({ padding: 10 });
    return { description: 'Ethernet padding past the total length is kept, not parsed', rule: 'step 7', frame, expect: decapped(frame, 'ipip') };
  })(),
  (() => {
    const frame = withBytes(IPIP, { 24: 0, 25: 0 });
    return { description: 'the outer header checksum is not verified', rule: 'step 7', frame, expect: decapped(frame, 'ipip') };
  })(),

  // --- step 8: VXLAN port ---------------------------------------------------------------
  { description: 'UDP header beyond the total length (27)', rule: 'step 8', frame: outerTotLen(VXLAN, 27), expect: MALFORMED },
  { description: 'UDP header ends at the total length, another port', rule: 'step 8', frame: outerTotLen(vxlanToUs({ dport: 53 }), 28), expect: PASS },
  { description: 'UDP header ends at the total length, VXLAN port, from a peer', rule: 'step 10', frame: outerTotLen(VXLAN, 28), expect: MALFORMED },
  { description: 'UDP header ends at the total length, VXLAN port, from a stranger', rule: 'step 9', frame: outerTotLen(vxlanToUs({ src: STRANGER }), 28), expect: UNKNOWN_PEER },
  { description: 'VXLAN to port 8472 while 4789 is configured', rule: 'step 8', frame: vxlanToUs({ dport: 8472 }), expect: PASS },
  { description: 'another port from a stranger passes (8 before 9)', rule: 'step 8', frame: vxlanToUs({ src: STRANGER, dport: 53 }), expect: PASS },
  (() => {
    const frame = vxlanToUs({ dport: 8472 });
    return { description: 'VXLAN to the configured port 8472', rule: 'step 8', frame, config: { ...NODE, vxlanPort: 8472 }, expect: decapped(frame, 'vxlan') };
  })(),
  { description: 'VXLAN to 4789 while 8472 is configured', rule: 'step 8', frame: VXLAN, config: { ...NODE, vxlanPort: 8472 }, expect: PASS },

  // --- step 9: peers (an open decapsulator bypasses firewalls) --------------------------
  { description: 'spoofed peer: IPIP from a stranger', rule: 'step 9', frame: ipipToUs({ src: STRANGER }), expect: UNKNOWN_PEER },
  { description: 'spoofed peer: VXLAN from a stranger', rule: 'step 9', frame: vxlanToUs({ src: STRANGER }), expect: UNKNOWN_PEER },
  { description: 'VXLAN from a peer allowed IPIP only', rule: 'step 9', frame: vxlanToUs({ src: NODE_C }), expect: UNKNOWN_PEER },
  { description: 'IPIP from a peer allowed VXLAN only', rule: 'step 9', frame: ipipToUs({ src: NODE_D }), expect: UNKNOWN_PEER },
  (() => {
    const frame = ipipToUs({ src: NODE_C, inner: innerPacket({ src: '10.244.3.7' }) });
    return { description: 'IPIP from a peer allowed IPIP', rule: 'step 9', frame, expect: decapped(frame, 'ipip') };
  })(),
  { description: 'no peers at all', rule: 'step 9', frame: IPIP, peers: new Map(), expect: UNKNOWN_PEER },
  { description: 'a peer with no modes', rule: 'step 9', frame: IPIP, peers: new Map([[NODE_B, { modes: 0, vni: 4096 }]]), expect: UNKNOWN_PEER },
  { description: 'spoofed peer with a truncated VXLAN header: the peer check comes first', rule: 'step 9', frame: outerTotLen(vxlanToUs({ src: STRANGER }).slice(0, 50), 36), expect: UNKNOWN_PEER },

  // --- step 10: VXLAN header ------------------------------------------------------------
  { description: 'wrong VNI (77 from a peer with 4096)', rule: 'step 10', frame: vxlanToUs({ vni: 77 }), expect: keep('drop', 'DROP_BAD_VNI') },
  { description: 'wrong VNI (4096 from a peer with 77)', rule: 'step 10', frame: vxlanToUs({ src: NODE_D, vni: 4096 }), expect: keep('drop', 'DROP_BAD_VNI') },
  (() => {
    const frame = vxlanToUs({ src: NODE_D, vni: 77, inner: innerPacket({ src: '10.244.5.7' }) });
    return { description: 'VNI 77 from the peer with 77', rule: 'step 10', frame, expect: decapped(frame, 'vxlan') };
  })(),
  { description: 'VXLAN without the I bit', rule: 'step 10', frame: vxlanFlags(0x00), expect: MALFORMED },
  { description: 'VXLAN without the I bit and a wrong VNI: the I bit is checked first', rule: 'step 10', frame: vxlanToUs({ vxlanFlags: 0x00, vni: 77 }), expect: MALFORMED },
  { description: 'VXLAN flags 0xf7 (every bit but I)', rule: 'step 10', frame: vxlanFlags(0xf7), expect: MALFORMED },
  (() => {
    const frame = vxlanFlags(0xff);
    return { description: 'VXLAN flags 0xff: other flag bits are ignored', rule: 'step 10', frame, expect: decapped(frame, 'vxlan') };
  })(),
  (() => {
    const frame = vxlanFlags(0x08, { 43: 0xaa, 44: 0xbb, 45: 0xcc, 49: 0xdd });
    return { description: 'VXLAN reserved bytes set are ignored', rule: 'step 10', frame, expect: decapped(frame, 'vxlan') };
  })(),
  { description: 'inner EtherType ARP', rule: 'step 10', frame: vxlanToUs({ innerEtherType: 0x0806 }), expect: MALFORMED },
  { description: 'inner EtherType IPv6', rule: 'step 10', frame: vxlanToUs({ innerEtherType: 0x86dd }), expect: MALFORMED },
  { description: 'inner 802.1Q tag', rule: 'step 10', frame: vxlanToUs({ innerEtherType: 0x8100 }), expect: MALFORMED },
  (() => {
    const frame = vxlanToUs({ innerEthDst: '01:02:03:04:05:06', innerEthSrc: 'ff:ff:ff:ff:ff:ff' });
    return { description: 'the inner Ethernet addresses do not matter (they are dropped)', rule: 'step 15', frame, expect: decapped(frame, 'vxlan') };
  })(),

  // --- step 11: inner IPv4 --------------------------------------------------------------
  { description: 'inner version 6', rule: 'step 11', frame: withBytes(IPIP, { 34: 0x65 }), expect: MALFORMED },
  { description: 'inner IHL 4', rule: 'step 11', frame: withBytes(IPIP, { 34: 0x44 }), expect: MALFORMED },
  { description: 'VXLAN inner version 0', rule: 'step 11', frame: withBytes(VXLAN, { 64: 0x05 }), expect: MALFORMED },
  (() => {
    const frame = withBytes(IPIP, { 34: 0x4f });
    return { description: 'inner IHL 15 beyond the inner packet is not checked (only the fixed 20 bytes)', rule: 'step 11', frame, expect: decapped(frame, 'ipip') };
  })(),

  // --- step 12: the inner addresses (tunnel traffic only from nodes, only into pools) ----
  { description: 'forged inner source from a peer (1.2.3.4 → our pod)', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: '1.2.3.4' }) }), expect: SPOOFED },
  { description: 'VXLAN: forged inner source from a peer', rule: 'step 12', frame: vxlanToUs({ inner: innerPacket({ src: '1.2.3.4' }) }), expect: SPOOFED },
  { description: 'inner source in another peer\'s block (node-c\'s, sent by node-b)', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: '10.244.3.7' }) }), expect: SPOOFED },
  { description: 'inner source in our own block', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: '10.244.1.9' }) }), expect: SPOOFED },
  { description: 'inner source in the pool but in no block', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: '10.244.200.1' }) }), expect: SPOOFED },
  { description: 'inner source: another peer\'s own address', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: NODE_C }) }), expect: SPOOFED },
  { description: 'inner source: a /32 of node-c inside node-b\'s block (the longest prefix decides)', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: '10.244.2.50' }) }), expect: SPOOFED },
  (() => {
    const frame = ipipToUs({ inner: innerPacket({ src: NODE_B }) });
    return { description: 'inner source: the sending peer itself (its host traffic)', rule: 'step 12', frame, expect: decapped(frame, 'ipip') };
  })(),
  (() => {
    const frame = ipipToUs({ inner: innerPacket({ src: NODE_B }) });
    return { description: 'inner source: the sending peer itself, with no routes at all, is still its own', rule: 'step 12', frame, routes: [{ cidr: '10.244.1.0/26', route: route('none', NODE.localIp, { flags: BURROW_ROUTE_FLAG.LOCAL }) }], expect: decapped(frame, 'ipip') };
  })(),
  (() => {
    const frame = ipipToUs({ inner: innerPacket({ src: '10.244.4.5' }) });
    return { description: 'inner source in a block of the peer that is not tunnelled to (mode none): the owner decides', rule: 'step 12', frame, expect: decapped(frame, 'ipip') };
  })(),
  { description: 'no routes at all: the source is nobody\'s', rule: 'step 12', frame: IPIP, routes: [], expect: SPOOFED },
  { description: 'forged inner source and inner TTL 0: the source first', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: '1.2.3.4', ttl: 0 }) }), expect: SPOOFED },
  { description: 'forged inner source and a wrong VNI: the VNI first', rule: 'step 10', frame: vxlanToUs({ vni: 77, inner: innerPacket({ src: '1.2.3.4' }) }), expect: keep('drop', 'DROP_BAD_VNI') },
  { description: 'inner destination outside every pool (a relay to 8.8.8.8)', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ dst: '8.8.8.8' }) }), expect: OUTSIDE_POOL },
  { description: 'VXLAN: inner destination outside every pool', rule: 'step 12', frame: vxlanToUs({ inner: innerPacket({ dst: '8.8.8.8' }) }), expect: OUTSIDE_POOL },
  { description: 'inner destination: our own node address (not in a pool)', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ dst: NODE.localIp }) }), expect: OUTSIDE_POOL },
  { description: 'inner destination covered by a route without IN_POOL', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ dst: '172.31.0.9' }) }), expect: OUTSIDE_POOL },
  { description: 'inner destination outside pools and CE on Not-ECT: the destination first', rule: 'step 12', frame: ipipToUs({ ecn: 3, inner: innerPacket({ dst: '8.8.8.8', ecn: 0 }) }), expect: OUTSIDE_POOL },
  { description: 'the peer itself to outside the pools', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: NODE_B, dst: '8.8.4.4' }) }), expect: OUTSIDE_POOL },
  (() => {
    const frame = ipipToUs({ inner: innerPacket({ dst: '10.244.200.1' }) });
    return { description: 'inner destination in the pool, in no block', rule: 'step 12', frame, expect: decapped(frame, 'ipip') };
  })(),
  (() => {
    const frame = ipipToUs({ inner: innerPacket({ dst: '10.244.3.7' }) });
    return { description: 'inner destination in another node\'s block (inside the pools)', rule: 'step 12', frame, expect: decapped(frame, 'ipip') };
  })(),
  (() => {
    const frame = ipipToUs();
    const routes = [
      { cidr: '10.244.1.0/26', route: route('none', NODE.localIp, { flags: BURROW_ROUTE_FLAG.LOCAL }) },
      { cidr: '10.244.2.0/26', route: route('ipip', NODE_B) },
    ];
    return { description: 'inner destination in a LOCAL entry without IN_POOL, source in a block without IN_POOL', rule: 'step 12', frame, routes, expect: decapped(frame, 'ipip') };
  })(),
  // with the pool source check (BURROW_CFG_DECAP_SRC_POOL)
  (() => {
    const frame = ipipToUs({ inner: innerPacket({ src: '10.244.3.7' }) });
    return { description: 'pool check: inner source in another peer\'s block', rule: 'step 12', frame, config: POOL_CHECK, expect: decapped(frame, 'ipip') };
  })(),
  (() => {
    const frame = vxlanToUs({ inner: innerPacket({ src: '10.244.200.1' }) });
    return { description: 'pool check: VXLAN, inner source in the pool but in no block', rule: 'step 12', frame, config: POOL_CHECK, expect: decapped(frame, 'vxlan') };
  })(),
  (() => {
    const frame = ipipToUs({ inner: innerPacket({ src: NODE_B }) });
    return { description: 'pool check: the sending peer itself', rule: 'step 12', frame, config: POOL_CHECK, expect: decapped(frame, 'ipip') };
  })(),
  { description: 'pool check: inner source in our own block', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: '10.244.1.9' }) }), config: POOL_CHECK, expect: SPOOFED },
  { description: 'pool check: inner source outside every pool', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: '8.8.4.4' }) }), config: POOL_CHECK, expect: SPOOFED },
  { description: 'pool check: inner source covered by a route without IN_POOL', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: '172.31.0.9' }) }), config: POOL_CHECK, expect: SPOOFED },
  { description: 'pool check: inner source another peer\'s address (outside the pools)', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: NODE_C }) }), config: POOL_CHECK, expect: SPOOFED },
  { description: 'pool check: inner destination outside every pool', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: '10.244.3.7', dst: '8.8.8.8' }) }), config: POOL_CHECK, expect: OUTSIDE_POOL },
  { description: 'every config flag bit but the pool check: still strict', rule: 'step 12', frame: ipipToUs({ inner: innerPacket({ src: '10.244.3.7' }) }), config: { ...NODE, flags: 0xfffffffe }, expect: SPOOFED },
  (() => {
    const frame = ipipToUs({ inner: innerPacket({ src: '10.244.200.1' }) });
    return { description: 'the pool entry alone makes the destination a pool address', rule: 'step 12', frame, config: POOL_CHECK, routes: [{ cidr: POOL_CIDR, route: route('none', '0.0.0.0', { flags: BURROW_ROUTE_FLAG.IN_POOL }) }], expect: decapped(frame, 'ipip') };
  })(),

  // --- step 13: inner TTL ---------------------------------------------------------------
  { description: 'inner TTL 0 (RFC 2003 3.1)', rule: 'step 13', frame: ipipToUs({ inner: innerPacket({ ttl: 0 }) }), expect: keep('drop', 'DROP_TTL') },
  { description: 'VXLAN inner TTL 0', rule: 'step 13', frame: vxlanToUs({ inner: innerPacket({ ttl: 0 }) }), expect: keep('drop', 'DROP_TTL') },
  { description: 'inner TTL 0 and CE on Not-ECT: TTL first', rule: 'step 13', frame: ipipToUs({ ecn: 3, inner: innerPacket({ ttl: 0, ecn: 0 }) }), expect: keep('drop', 'DROP_TTL') },
  (() => {
    const frame = ipipToUs({ inner: innerPacket({ ttl: 1 }) });
    return { description: 'inner TTL 1 is decapsulated, not decremented', rule: 'step 13', frame, expect: decapped(frame, 'ipip') };
  })(),

  // --- step 14: ECN (RFC 6040) ----------------------------------------------------------
  ...ecnCells('ipip'),
  ...ecnCells('vxlan'),
  (() => {
    const inner = innerPacket({ ecn: 2, checksum: 0x1234 });
    const frame = ipipToUs({ ecn: 3, inner });
    return {
      description: 'CE on ECT(0) with a wrong inner checksum: it stays exactly as wrong (RFC 1624)', rule: 'step 14', frame,
      expect: { ...decapped(frame, 'ipip'), output: decapOutput(withInnerEcn(frame, OUTER_IPIP_INNER, 3), OUTER_IPIP_INNER) },
    };
  })(),
  (() => {
    const frame = ipipToUs({ ecn: 3, dscp: 46, inner: innerPacket({ ecn: 1, dscp: 10 }) });
    return {
      description: 'outer DSCP is not copied inward, only CE', rule: 'step 14', frame,
      expect: { ...decapped(frame, 'ipip'), output: decapOutput(withInnerEcn(frame, OUTER_IPIP_INNER, 3), OUTER_IPIP_INNER) },
    };
  })(),

  // --- truncation at every header boundary ----------------------------------------------
  ...truncations('ipip'),
  ...truncations('vxlan'),
  { description: 'VXLAN frame with a UDP payload of zero bytes (just the 8-byte header)', rule: 'step 10', frame: buildUdpFrame({ src: NODE_B, dst: NODE.localIp, sport: 5, dport: 4789 }), expect: MALFORMED },
  { description: 'IPIP with nothing inside', rule: 'step 11', frame: buildIpv4Frame({ src: NODE_B, dst: NODE.localIp, protocol: 4 }), expect: MALFORMED },
  { description: 'a plain UDP datagram to 4789 from a peer (payload is not VXLAN)', rule: 'step 10', frame: buildUdpFrame({ src: NODE_B, dst: NODE.localIp, sport: 5, dport: 4789, payload: new Uint8Array(40) }), expect: MALFORMED },
  { description: 'UDP to 4789 with a text payload from a peer', rule: 'step 10', frame: buildUdpFrame({ src: NODE_B, dst: NODE.localIp, sport: 5, dport: 4789, payload: PAYLOAD }), expect: MALFORMED },
  ...PMTU_CASES,
];
