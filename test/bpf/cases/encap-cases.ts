// tc_encap and xdp_encap, a row per rule of docs/datapath.md "Encapsulation":
// the frame, the tables when they are not the world's (cases/world.ts), and what each program
// must return, count and output. Rows without an `xdp` (or `tc`) expectation do not apply there.
import {
  BURROW_CONFIG_FLAG, TCP_ACK, type Nexthop, TCP_SYN, buildIcmpEchoFrame, buildIpv4Frame, buildUdpFrame, peerMap, type NodeConfig, type StatName, type TcpFrameFields,
} from '../../../src/codec/index.js';
import type { EncapCase, Expected, LabDevice } from '../harness/table-cases.js';
import { tcEncapOutput, xdpEncapOutput, type TunnelParams } from './expected.js';
import { LAB, NODE, PAYLOAD, PEERS, VTEP_B, VTEP_C, podTcp, sizedTcp, tagged, withBytes } from './world.js';

const untouched = (verdict: 'pass' | 'drop', counter: StatName): Expected => ({ verdict, counter, output: 'input' });
const PASS = untouched('pass', 'PASS');
const bothPass = { tc: PASS, xdp: PASS };
const ENDPOINT = { tc: untouched('pass', 'PASS_TUNNEL_ENDPOINT'), xdp: untouched('pass', 'PASS_TUNNEL_ENDPOINT') };
const ALREADY = { tc: untouched('drop', 'DROP_ALREADY_ENCAP'), xdp: untouched('drop', 'DROP_ALREADY_ENCAP') };
const NO_ROUTE = untouched('drop', 'DROP_NO_ROUTE');
/** The agent has not configured an uplink yet. */
const NO_UPLINK: NodeConfig = { ...NODE, uplinkIfindex: 0 };
/** The tunnel source on a loopback: tc_encap asks the FIB for the uplink (step 8b). */
const FIB_NODE: NodeConfig = { ...NODE, flags: BURROW_CONFIG_FLAG.UPLINK_FIB };

interface Tunnel {
  readonly mode: 'ipip' | 'vxlan';
  readonly remote: string;
  /** Outer TTL the row expects. */
  readonly ttl: number;
  /** VXLAN: the VNI the row expects on the wire. */
  readonly vni?: number;
  readonly remoteVtep?: string;
  readonly config?: NodeConfig;
  /** xdp_encap: the lab device the FIB sends it out of, and the neighbour whose MAC it gets. */
  readonly via: 'ua' | 'ub';
  readonly nextHop?: string;
  readonly ingress?: LabDevice;
}

/** The outer headers a row expects, for an outer IPv4 ID. */
function paramsOf(t: Omit<Tunnel, 'via'>): (id: number) => TunnelParams {
  const config = t.config ?? NODE;
  return (id) => ({
    mode: t.mode, local: config.localIp, remote: t.remote, ttl: t.ttl, id, port: config.vxlanPort,
    localVtep: config.vtepMac, remoteVtep: t.remoteVtep ?? VTEP_B, ...(t.vni !== undefined ? { vni: t.vni } : {}),
  });
}

/** A row whose frame is encapsulated by both programs. */
function tunnelled(description: string, rule: string, frame: Uint8Array, t: Tunnel, extra: Partial<EncapCase> = {}): EncapCase {
  const df = ((frame[20] ?? 0) & 0x40) !== 0;
  const params = paramsOf(t);
  const fib = { dmac: LAB.neighbour(t.nextHop ?? t.remote), smac: LAB[t.via].smac };
  const counter: StatName = t.mode === 'ipip' ? 'ENCAP_IPIP' : 'ENCAP_VXLAN';
  const ingress = t.ingress ?? 'lo';
  return {
    description, rule, frame, ingress,
    ...(t.config ? { config: t.config } : {}),
    tc: { verdict: 'redirect', counter, output: df ? tcEncapOutput(frame, params(0)) : (id) => tcEncapOutput(frame, params(id)) },
    xdp: {
      verdict: ingress === t.via ? 'tx' : 'redirect',
      counter,
      output: df ? xdpEncapOutput(frame, params(0), fib) : (id) => xdpEncapOutput(frame, params(id), fib),
    },
    ...extra,
  };
}

/** MACs of the next hops agentd keeps in the rows below (tc step 8a, xdp step 8). */
const NH: Omit<Nexthop, 'ifindex' | 'mtu'> = { dmac: '02:4e:48:00:00:01', smac: '02:4e:48:00:00:02' };

/**
 * A row whose frame both programs encapsulate for a peer with a next hop `nh` in `nexthops`: its
 * MACs in front, redirected to its device (XDP_TX when that is lo, the ingress device of the
 * rows), neither the FIB nor the kernel's neighbour lookup asked.
 */
function viaNexthop(description: string, frame: Uint8Array, t: Omit<Tunnel, 'via'>, nh: Nexthop, extra: Partial<EncapCase> = {}): EncapCase {
  const df = ((frame[20] ?? 0) & 0x40) !== 0;
  const params = paramsOf(t);
  const counter: StatName = t.mode === 'ipip' ? 'ENCAP_IPIP' : 'ENCAP_VXLAN';
  const output = df ? xdpEncapOutput(frame, params(0), nh) : (id: number) => xdpEncapOutput(frame, params(id), nh);
  return {
    description, rule: 'tc step 8a, xdp step 8', frame, ...(t.config ? { config: t.config } : {}), nexthops: new Map([[t.remote, nh]]),
    tc: { verdict: 'redirect', counter, output },
    xdp: { verdict: nh.ifindex === 1 ? 'tx' : 'redirect', counter, output },
    ...extra,
  };
}

/** tc_encap encapsulates; xdp_encap leaves the frame to the stack with `xdpCounter`. */
function tcOnly(description: string, rule: string, frame: Uint8Array, t: Omit<Tunnel, 'via'>, xdpCounter: StatName, extra: Partial<EncapCase> = {}): EncapCase {
  const row = tunnelled(description, rule, frame, { ...t, via: 'ua' }, extra);
  return { ...row, xdp: untouched('pass', xdpCounter) };
}

const udp = (dst: string, sport: number, dport: number, extra: Record<string, unknown> = {}): Uint8Array =>
  buildUdpFrame({ src: '10.244.1.5', dst, sport, dport, df: true, payload: PAYLOAD, ...extra });

const V = (remote = '10.0.1.2'): Tunnel => ({ mode: 'vxlan', remote, ttl: 64, vni: 4096, via: 'ua' });
const I = (remote = '10.0.2.2'): Tunnel => ({ mode: 'ipip', remote, ttl: 64, via: 'ub' });
const OPTIONS_40 = new Uint8Array(40).fill(1);
/** Rows about XDP verdicts only: for tc_encap they would repeat other rows. */
const XDP_ONLY: Partial<EncapCase> = { tc: undefined };

const F = podTcp(); // 10.244.2.7: VXLAN to 10.0.1.2, VNI 0 in the route

// --- MSS clamping: the clamps the agent writes for an uplink MTU of 1500 ------------------
const MSS_NODE: NodeConfig = { ...NODE, mssIpip: 1440, mssVxlan: 1410 };
const mssOpt = (v: number): number[] => [2, 4, v >> 8, v & 0xff];
/** A SYN (or other flags) with these option bytes; its checksum computed over the whole segment. */
const syn = (dst: string, options: readonly number[], fields: Partial<TcpFrameFields> = {}): Uint8Array =>
  podTcp({ dst, tcpFlags: TCP_SYN, tcpOptions: Uint8Array.from(options), payload: new Uint8Array(0), ...fields });

/**
 * A row whose frame is tunnelled by both programs with `out` as the inner packet that leaves
 * (built independently, checksum computed in full: a clamped SYN's incremental update must land
 * on it) and `also` as the side counter.
 */
function mssRow(description: string, frame: Uint8Array, t: Tunnel, out: { frame?: Uint8Array; also?: StatName } = {}): EncapCase {
  const row = tunnelled(description, 'MSS clamping', out.frame ?? frame, { ...t, config: t.config ?? MSS_NODE });
  const also = out.also ? { also: [out.also] } : {};
  return { ...row, frame, tc: { ...(row.tc as Expected), ...also }, xdp: { ...(row.xdp as Expected), ...also } };
}
const CLAMPED = 'MSS_CLAMPED' as const;
const MALFORMED = 'MSS_MALFORMED' as const;
const TS = [8, 10, 1, 2, 3, 4, 0, 0, 0, 0];

export const ENCAP_CASES: EncapCase[] = [
  // --- steps 1–3: not an IPv4 frame we can judge -----------------------------------------
  { description: 'Ethernet header only (14 bytes, IPv4 type)', rule: 'step 3', frame: F.slice(0, 14), ...bothPass },
  { description: '19 bytes of IPv4 header', rule: 'step 3', frame: F.slice(0, 33), ...bothPass },
  { description: 'IPv4 EtherType, version 6', rule: 'step 3', frame: withBytes(F, { 14: 0x65 }), ...bothPass },
  { description: 'IPv4 EtherType, IHL 4', rule: 'step 3', frame: withBytes(F, { 14: 0x44 }), ...bothPass },
  { description: 'ARP EtherType passes untouched', rule: 'step 2', frame: withBytes(F, { 13: 0x06 }), ...bothPass },
  { description: 'IPv6 EtherType passes untouched', rule: 'step 2', frame: withBytes(F, { 12: 0x86, 13: 0xdd }), ...bothPass },
  { description: 'EtherType 0x0801 passes untouched', rule: 'step 2', frame: withBytes(F, { 13: 0x01 }), ...bothPass },
  { description: '802.1Q-tagged IPv4 to a tunnelled block passes untouched', rule: 'step 2', frame: tagged(F, 0x8100), ...bothPass },
  { description: '802.1ad-tagged IPv4 to a tunnelled block passes untouched', rule: 'step 2', frame: tagged(F, 0x88a8), ...bothPass },

  // --- step 4: routes -------------------------------------------------------------------
  { description: 'no route for the destination', rule: 'step 4', frame: podTcp({ dst: '192.168.1.1' }), ...bothPass },
  { description: 'route with mode NONE (longer than the 10/8 IPIP route)', rule: 'step 4', frame: podTcp({ dst: '10.244.4.5' }), ...bothPass },
  { description: 'route with a mode burrow.h does not define (3)', rule: 'step 4', frame: podTcp({ dst: '10.244.10.5' }), ...bothPass },
  tunnelled('a pod outside every /26 falls back to the 10/8 IPIP route', 'step 4 (longest prefix)', podTcp({ dst: '10.244.20.1' }), I()),

  // --- step 5: node addresses -----------------------------------------------------------
  { description: 'destination is the route\'s own remote', rule: 'step 5', frame: podTcp({ dst: '10.0.2.2' }), ...ENDPOINT },
  { description: 'destination is the local node address', rule: 'step 5', frame: podTcp({ dst: NODE.localIp }), ...ENDPOINT },
  { description: 'destination is a peer\'s tunnel endpoint under a tunnel route', rule: 'step 5', frame: podTcp({ dst: '10.0.1.11' }), peers: PEERS, ...ENDPOINT },
  { description: 'a peer\'s endpoint inside a VXLAN block is not tunnelled either', rule: 'step 5', frame: podTcp({ dst: '10.244.2.7' }), peers: peerMap([['10.244.2.7', { modes: 2, vni: 4096 }]]), ...ENDPOINT },
  { description: 'a SYN to a peer\'s endpoint: passed before any MSS clamp', rule: 'step 5', frame: syn('10.0.1.11', mssOpt(1460)), config: MSS_NODE, peers: PEERS, ...ENDPOINT },
  tunnelled('another node address under a tunnel route is tunnelled (not in peers)', 'step 5', podTcp({ dst: '10.0.1.11' }), I()),
  tunnelled('a peer elsewhere does not stop other destinations', 'step 5', podTcp({ dst: '10.0.1.13' }), I(), { peers: PEERS }),
  tunnelled('the remote of a different route is tunnelled', 'step 5', podTcp({ dst: '10.0.1.2' }), I()),

  // --- step 6: already tunnelled --------------------------------------------------------
  { description: 'inner protocol 4 (IPIP) is dropped', rule: 'step 6', frame: buildIpv4Frame({ src: '10.244.1.5', dst: '10.244.3.7', protocol: 4, df: true, payload: podTcp().slice(14) }), ...ALREADY },
  { description: 'inner protocol 4 is dropped even as a fragment', rule: 'step 6', frame: buildIpv4Frame({ src: '10.244.1.5', dst: '10.244.3.7', protocol: 4, fragOffset: 3, payload: PAYLOAD }), ...ALREADY },
  { description: 'UDP to the VXLAN port 4789 is dropped', rule: 'step 6', frame: udp('10.244.2.7', 33000, 4789), ...ALREADY },
  { description: 'UDP to 4789 behind 40 bytes of IP options is dropped', rule: 'step 6', frame: udp('10.244.3.7', 33000, 4789, { options: OPTIONS_40 }), ...ALREADY },
  { description: 'UDP to 4789 whose header ends the frame (8 bytes) is dropped', rule: 'step 6', frame: udp('10.244.3.7', 33000, 4789).slice(0, 42), ...ALREADY },
  tunnelled('UDP to 4789 with 7 header bytes in the frame is not a tunnel packet', 'step 6', udp('10.244.3.7', 33000, 4789).slice(0, 41), I()),
  tunnelled('UDP from port 4789 to 53 is not a tunnel packet', 'step 6', udp('10.244.2.7', 4789, 53), V()),
  tunnelled('UDP to 4789 as a non-first fragment is not a tunnel packet (no ports hashed)', 'step 6', udp('10.244.2.7', 33000, 4789, { fragOffset: 1, df: false }), V()),
  tunnelled('UDP to 4789 as a first fragment (MF) is not a tunnel packet', 'step 6', udp('10.244.2.7', 33000, 4789, { mf: true, df: false }), V()),
  (() => {
    const config = { ...NODE, vxlanPort: 8472 };
    return tunnelled('UDP to 4789 when the VXLAN port is 8472 is tunnelled', 'step 6', udp('10.244.2.7', 33000, 4789), { ...V(), config });
  })(),
  { description: 'UDP to 8472 when the VXLAN port is 8472 is dropped', rule: 'step 6', frame: udp('10.244.2.7', 33000, 8472), config: { ...NODE, vxlanPort: 8472 }, ...ALREADY },

  // --- step 7: no uplink (tc_encap only; xdp_encap's FIB chooses the egress) ------------
  { ...tunnelled('no uplink configured (ifindex 0): IPIP dropped', 'step 7', podTcp({ dst: '10.244.3.7' }), { ...I(), config: NO_UPLINK }), tc: NO_ROUTE },
  { ...tunnelled('no uplink configured (ifindex 0): VXLAN dropped', 'step 7', podTcp({ dst: '10.244.2.7' }), { ...V(), config: NO_UPLINK }), tc: NO_ROUTE },
  {
    description: 'no uplink and too big: step 7 comes before the MTU', rule: 'step 7', frame: sizedTcp('10.244.3.7', 1481), config: NO_UPLINK,
    tc: NO_ROUTE, xdp: untouched('pass', 'PASS_TOO_BIG'),
  },
  { description: 'no uplink, a tunnel packet: step 6 comes first', rule: 'step 7', frame: udp('10.244.2.7', 33000, 4789), config: NO_UPLINK, ...ALREADY },
  { description: 'no uplink, no route: step 4 comes first', rule: 'step 7', frame: podTcp({ dst: '192.168.1.1' }), config: NO_UPLINK, ...bothPass },

  // --- step 8 (xdp_encap: step 7): MTU ---------------------------------------------------
  tunnelled('IPIP exactly at the uplink MTU (1480 + 20 = 1500)', 'step 8 (xdp step 7)', sizedTcp('10.244.3.7', 1480), I()),
  {
    description: 'IPIP one byte over the uplink MTU', rule: 'step 8 (xdp step 7)', frame: sizedTcp('10.244.3.7', 1481),
    tc: untouched('drop', 'DROP_TOO_BIG'), xdp: untouched('pass', 'PASS_TOO_BIG'),
  },
  tunnelled('VXLAN exactly at the uplink MTU (1450 + 50 = 1500)', 'step 8 (xdp step 7)', sizedTcp('10.244.2.7', 1450), V()),
  {
    description: 'VXLAN one byte over the uplink MTU', rule: 'step 8 (xdp step 7)', frame: sizedTcp('10.244.2.7', 1451),
    tc: untouched('drop', 'DROP_TOO_BIG'), xdp: untouched('pass', 'PASS_TOO_BIG'),
  },
  {
    description: 'Ethernet padding counts: 1480 bytes of IPv4 plus 1 byte of padding is too big', rule: 'step 8 (xdp step 7)',
    frame: sizedTcp('10.244.3.7', 1480, { padding: 1 }), tc: untouched('drop', 'DROP_TOO_BIG'), xdp: untouched('pass', 'PASS_TOO_BIG'),
  },
  {
    description: 'a smaller configured MTU (1280): 1261 bytes of IPv4 over IPIP is too big', rule: 'step 8 (xdp step 7)',
    frame: sizedTcp('10.244.3.7', 1261), config: { ...NODE, uplinkMtu: 1280 },
    tc: untouched('drop', 'DROP_TOO_BIG'), xdp: untouched('pass', 'PASS_TOO_BIG'),
  },
  tunnelled('MTU 0 means no check: 3000 bytes over IPIP (the lab sends it out of the 9000-byte ub)', 'step 8 (xdp step 7)',
    sizedTcp('10.244.3.7', 3000), { ...I(), config: { ...NODE, uplinkMtu: 0 } }),
  tcOnly('MTU 0, 2000 bytes over VXLAN (xdp_encap: the 1500-byte ua needs fragmenting, left to the stack)', 'step 8, xdp step 8',
    sizedTcp('10.244.2.7', 2000), { ...V(), config: { ...NODE, uplinkMtu: 0 } }, 'PASS_FIB'),

  // --- outer IPv4 -----------------------------------------------------------------------
  tunnelled('TOS is copied whole: DSCP 46 and CE', 'Outer IPv4: TOS', podTcp({ dst: '10.244.3.7', dscp: 46, ecn: 3 }), I()),
  tunnelled('TOS is copied whole: DSCP 10, Not-ECT', 'Outer IPv4: TOS', podTcp({ dst: '10.244.2.7', dscp: 10, ecn: 0 }), V()),
  tunnelled('inner DF set: outer DF set, ID 0', 'Outer IPv4: DF and ID', podTcp({ dst: '10.244.3.7', df: true, id: 0x5555 }), I()),
  tunnelled('inner DF clear: outer DF still set, a random ID that is never 0', 'Outer IPv4: DF and ID', podTcp({ dst: '10.244.3.7', df: false, id: 0x5555 }), I()),
  tunnelled('VXLAN, inner DF clear: random outer ID', 'Outer IPv4: DF and ID', podTcp({ dst: '10.244.2.7', df: false }), V()),
  tunnelled('config TTL 0 → outer TTL 64', 'Outer IPv4: TTL', podTcp({ dst: '10.244.3.7' }), { ...I(), ttl: 64, config: { ...NODE, ttl: 0 } }),
  tunnelled('config TTL 5 → outer TTL 5', 'Outer IPv4: TTL', podTcp({ dst: '10.244.3.7' }), { ...I(), ttl: 5, config: { ...NODE, ttl: 5 } }),
  tunnelled('config TTL 255 → outer TTL 255 (VXLAN)', 'Outer IPv4: TTL', podTcp({ dst: '10.244.2.7' }), { ...V(), ttl: 255, config: { ...NODE, ttl: 255 } }),
  tunnelled('the inner TTL is not looked at by encap (TTL 0 is tunnelled as is)', 'Outer IPv4', podTcp({ dst: '10.244.3.7', ttl: 0 }), I()),
  tunnelled('inner IP options are carried unchanged', 'Output frame', podTcp({ dst: '10.244.3.7', options: Uint8Array.of(148, 4, 0, 0) }), I()),
  tunnelled('Ethernet padding after the inner packet is carried and counted in the lengths', 'Output frame', podTcp({ dst: '10.244.2.7', padding: 5 }), V()),

  // --- UDP + VXLAN ----------------------------------------------------------------------
  tunnelled('route VNI 0 → the default VNI 4096', 'VXLAN: VNI', podTcp({ dst: '10.244.2.9' }), { ...V(), vni: 4096 }),
  tunnelled('route VNI 0 → the configured default VNI 5000', 'VXLAN: VNI', podTcp({ dst: '10.244.2.9' }), { ...V(), vni: 5000, config: { ...NODE, defaultVni: 5000 } }),
  tunnelled('route VNI 77 and its VTEP MAC', 'VXLAN: VNI', podTcp({ dst: '10.244.5.7' }), { mode: 'vxlan', remote: '10.0.2.3', ttl: 64, vni: 77, remoteVtep: VTEP_C, via: 'ub' }),
  tunnelled('configured VXLAN port 8472 is the destination port', 'UDP + VXLAN', podTcp({ dst: '10.244.2.7' }), { ...V(), config: { ...NODE, vxlanPort: 8472 } }),
  tunnelled('source port from TCP ports', 'source port hash', podTcp({ dst: '10.244.2.7', sport: 1, dport: 65535 }), V()),
  tunnelled('source port of ICMP: no ports', 'source port hash', buildIcmpEchoFrame({ src: '10.244.1.5', dst: '10.244.2.7', df: true, identifier: 7, sequence: 9, payload: PAYLOAD }), V()),
  tunnelled('source port of SCTP: ports hashed', 'source port hash', buildIpv4Frame({ src: '10.244.1.5', dst: '10.244.2.7', protocol: 132, df: true, payload: Uint8Array.of(0x13, 0x88, 0x00, 0x50, 1, 2, 3, 4) }), V()),
  tunnelled('source port of GRE: no ports', 'source port hash', buildIpv4Frame({ src: '10.244.1.5', dst: '10.244.2.7', protocol: 47, df: true, payload: PAYLOAD }), V()),
  tunnelled('source port with inner IP options: ports read after IHL·4', 'source port hash', podTcp({ dst: '10.244.2.7', options: OPTIONS_40 }), V()),

  // --- truncated inner packets (encap does not check the inner lengths) -----------------
  tunnelled('cut after the IPv4 header (34 bytes), IPIP', 'truncation', podTcp({ dst: '10.244.3.7' }).slice(0, 34), I()),
  tunnelled('cut after the IPv4 header (34 bytes), VXLAN: no ports to hash', 'truncation', F.slice(0, 34), V()),
  tunnelled('cut after 3 port bytes: no ports hashed', 'truncation', F.slice(0, 37), V()),
  tunnelled('cut after the 4 port bytes: ports hashed', 'truncation', F.slice(0, 38), V()),
  tunnelled('cut inside the TCP header', 'truncation', F.slice(0, 45), V()),
  tunnelled('cut inside 40 bytes of IP options: UDP to 4789 cannot be seen', 'truncation', udp('10.244.3.7', 33000, 4789, { options: OPTIONS_40 }).slice(0, 60), I()),
  tunnelled('cut one byte short of the end', 'truncation', F.slice(0, F.length - 1), V()),

  // --- xdp_encap: FIB -------------------------------------------------------------------
  tunnelled('FIB egress is the ingress device: XDP_TX', 'xdp step 10', podTcp({ dst: '10.244.2.7' }), { ...V(), ingress: 'ua' }, XDP_ONLY),
  tunnelled('FIB egress differs from the ingress device: XDP_REDIRECT', 'xdp step 10', podTcp({ dst: '10.244.2.7' }), { ...V(), ingress: 'ub' }, XDP_ONLY),
  tunnelled('IPIP out of ub, arriving on ub: XDP_TX', 'xdp step 10', podTcp({ dst: '10.244.3.7' }), { ...I(), ingress: 'ub' }, XDP_ONLY),
  tunnelled('remote behind a gateway (xdp_encap: the gateway\'s MAC)', 'xdp step 8', podTcp({ dst: '10.244.9.7' }), { ...V('10.0.2.9'), nextHop: '10.0.1.1' }),
  tcOnly('remote without a neighbour entry (xdp_encap leaves it to the stack)', 'xdp step 8', podTcp({ dst: '10.244.6.7' }), I('10.0.1.9'), 'PASS_FIB'),
  tcOnly('remote without a route (xdp_encap leaves it to the stack)', 'xdp step 8', podTcp({ dst: '10.244.7.7' }), I('10.0.2.12'), 'PASS_FIB'),
  tunnelled('remote with a locked route MTU of 1300: 1280 + 20 fits', 'xdp step 8', sizedTcp('10.244.8.7', 1280), { ...I('10.0.1.4'), via: 'ua' }),
  tcOnly('remote with a locked route MTU of 1300: 1281 + 20 (xdp_encap: frag needed, left to the stack)', 'xdp step 8', sizedTcp('10.244.8.7', 1281), I('10.0.1.4'), 'PASS_FIB'),
  // --- MSS clamping (after the outer headers; side counters MSS_CLAMPED / MSS_MALFORMED) ----
  mssRow('SYN with MSS 1460 over IPIP: clamped to 1440', syn('10.244.3.7', mssOpt(1460)), I(), { frame: syn('10.244.3.7', mssOpt(1440)), also: CLAMPED }),
  mssRow('SYN-ACK with MSS 1460 over VXLAN: clamped to 1410', syn('10.244.2.7', mssOpt(1460), { tcpFlags: TCP_SYN | TCP_ACK }), V(), { frame: syn('10.244.2.7', mssOpt(1410), { tcpFlags: TCP_SYN | TCP_ACK }), also: CLAMPED }),
  mssRow('Linux SYN layout (MSS, SACK-permitted, timestamps, NOP, window scale): clamped', syn('10.244.3.7', [...mssOpt(65495), 4, 2, ...TS, 1, 3, 3, 7]), I(), { frame: syn('10.244.3.7', [...mssOpt(1440), 4, 2, ...TS, 1, 3, 3, 7]), also: CLAMPED }),
  mssRow('MSS at an odd offset (after one NOP): clamped, checksum right', syn('10.244.3.7', [1, ...mssOpt(1460), 0, 0, 0]), I(), { frame: syn('10.244.3.7', [1, ...mssOpt(1440), 0, 0, 0]), also: CLAMPED }),
  mssRow('MSS last, after timestamps and window scale, odd offset: clamped', syn('10.244.2.7', [1, 1, ...TS, 3, 3, 7, ...mssOpt(9000)]), V(), { frame: syn('10.244.2.7', [1, 1, ...TS, 3, 3, 7, ...mssOpt(1410)]), also: CLAMPED }),
  mssRow('SYN with a payload and a wrong TCP checksum: clamped, the error kept', syn('10.244.3.7', mssOpt(1460), { payload: PAYLOAD, l4Checksum: 0x1234 }), I(), { frame: syn('10.244.3.7', mssOpt(1440), { payload: PAYLOAD, l4Checksum: 0x1234 + 0x14 }), also: CLAMPED }),
  mssRow('MSS 1400, already below the clamp: untouched', syn('10.244.3.7', mssOpt(1400)), I()),
  mssRow('MSS equal to the clamp: untouched', syn('10.244.3.7', mssOpt(1440)), I()),
  mssRow('SYN without an MSS option: untouched', syn('10.244.3.7', [1, 1, 4, 2, ...TS]), I()),
  mssRow('SYN without options: untouched', syn('10.244.3.7', []), I()),
  mssRow('ACK (no SYN) with an MSS option: untouched', syn('10.244.3.7', mssOpt(1460), { tcpFlags: TCP_ACK }), I()),
  mssRow('MSS after EOL is not an option: untouched', syn('10.244.3.7', [0, ...mssOpt(1460), 0, 0, 0]), I()),
  mssRow('clamping off (mss 0): untouched', syn('10.244.3.7', mssOpt(1460)), { ...I(), config: NODE }),
  mssRow('clamping off for IPIP only: the VXLAN SYN is clamped', syn('10.244.2.7', mssOpt(1460)), { ...V(), config: { ...MSS_NODE, mssIpip: 0 } }, { frame: syn('10.244.2.7', mssOpt(1410)), also: CLAMPED }),
  mssRow('a SYN fragment (MF) is not clamped', syn('10.244.3.7', mssOpt(1460), { df: false, mf: true }), I()),
  mssRow('malformed: an option of length 0', syn('10.244.3.7', [...mssOpt(1460), 5, 0, 0, 0]), I(), { also: MALFORMED }),
  mssRow('malformed: an option of length 1', syn('10.244.3.7', [1, 3, 1, 0, ...mssOpt(1460)]), I(), { also: MALFORMED }),
  mssRow('malformed: an option running past the header', syn('10.244.3.7', [...mssOpt(1460), 8, 10, 0, 0]), I(), { also: MALFORMED }),
  mssRow('malformed: MSS of length 5', syn('10.244.3.7', [2, 5, 5, 0xb4, 0, 0, 0, 0]), I(), { also: MALFORMED }),
  mssRow('malformed: two MSS options', syn('10.244.3.7', [...mssOpt(1460), ...mssOpt(1300)]), I(), { also: MALFORMED }),
  mssRow('malformed: a kind without its length byte at the end', syn('10.244.3.7', [1, 1, 1, 8]), I(), { also: MALFORMED }),
  mssRow('malformed: data offset 4', withBytes(syn('10.244.3.7', mssOpt(1460)), { 46: 0x40 }), I(), { also: MALFORMED }),
  mssRow('malformed: data offset past the IP packet', withBytes(syn('10.244.3.7', mssOpt(1460)), { 46: 0xf0 }), I(), { also: MALFORMED }),
  mssRow('malformed: a SYN cut inside its options', syn('10.244.2.7', [...mssOpt(1460), 1, 1, 1, 1]).slice(0, 60), V(), { also: MALFORMED }),
  mssRow('a SYN cut inside its fixed header: not looked at', syn('10.244.3.7', mssOpt(1460)).slice(0, 50), I()),
  {
    ...mssRow('a SYN too big for the uplink: dropped, not clamped', syn('10.244.3.7', mssOpt(1460), { payload: new Uint8Array(1450) }), I()),
    tc: untouched('drop', 'DROP_TOO_BIG'), xdp: untouched('pass', 'PASS_TOO_BIG'),
  },
  {
    ...mssRow('a SYN xdp_encap leaves to the stack (no neighbour): clamped by tc_encap, untouched by xdp_encap', syn('10.244.6.7', mssOpt(1460)), I('10.0.1.9'), { frame: syn('10.244.6.7', mssOpt(1440)), also: CLAMPED }),
    xdp: untouched('pass', 'PASS_FIB'),
  },

  // --- xdp_encap step 7b: the path MTU learned for the remote (tc_encap does not read it: the
  // kernel route agentd installs has already told the sender or fragmented) --------------------
  tcOnly('IPIP over the path MTU 1400 learned for its remote: 1381 + 20', 'xdp step 7b', sizedTcp('10.244.3.7', 1381), I(), 'PASS_PMTU', { pmtu: new Map([['10.0.2.2', 1400]]) }),
  tunnelled('IPIP exactly at the learned path MTU (1380 + 20 = 1400)', 'xdp step 7b', sizedTcp('10.244.3.7', 1380), I(), { pmtu: new Map([['10.0.2.2', 1400]]) }),
  tcOnly('VXLAN over the path MTU 1280 learned for its remote: 1231 + 50', 'xdp step 7b', sizedTcp('10.244.2.7', 1231), V(), 'PASS_PMTU', { pmtu: new Map([['10.0.1.2', 1280]]) }),
  tunnelled('a path MTU learned for another remote changes nothing', 'xdp step 7b', sizedTcp('10.244.3.7', 1480), I(), { pmtu: new Map([['10.0.1.2', 1280]]) }),
  {
    description: 'too big for the uplink and the learned path: step 7 first', rule: 'xdp step 7b', frame: sizedTcp('10.244.3.7', 1481),
    pmtu: new Map([['10.0.2.2', 1400]]), tc: untouched('drop', 'DROP_TOO_BIG'), xdp: untouched('pass', 'PASS_TOO_BIG'),
  },

  // --- the FIB-chosen uplink (tc_encap step 8b, UPLINK_FIB; xdp_encap always asks the FIB) ----
  tunnelled('UPLINK_FIB: IPIP to a peer with a neighbour on ub: encapsulated, redirected to the FIB\'s uplink', 'step 8b',
    podTcp({ dst: '10.244.3.7' }), { ...I(), config: FIB_NODE }),
  tunnelled('UPLINK_FIB: VXLAN to a peer with a neighbour on ua', 'step 8b', podTcp({ dst: '10.244.2.7' }), { ...V(), config: FIB_NODE }),
  tunnelled('UPLINK_FIB: the peer reached via a gateway', 'step 8b', podTcp({ dst: '10.244.9.7' }),
    { mode: 'vxlan', remote: '10.0.2.9', ttl: 64, vni: 4096, via: 'ua', nextHop: '10.0.1.1', config: FIB_NODE }),
  tcOnly('UPLINK_FIB: no neighbour for the peer yet (NO_NEIGH): encapsulated, bpf_redirect_neigh resolves it', 'step 8b',
    podTcp({ dst: '10.244.6.7' }), { mode: 'ipip', remote: '10.0.1.9', ttl: 64, config: FIB_NODE }, 'PASS_FIB'),
  {
    description: 'UPLINK_FIB: no route to the peer: DROP_NO_ROUTE, untouched', rule: 'step 8b', frame: podTcp({ dst: '10.244.7.7' }),
    config: FIB_NODE, tc: NO_ROUTE, xdp: untouched('pass', 'PASS_FIB'),
  },
  {
    description: 'UPLINK_FIB: the route to the peer has a locked MTU of 1300: 1281 + 20 is too big (FRAG_NEEDED)', rule: 'step 8b',
    frame: sizedTcp('10.244.8.7', 1281), config: FIB_NODE, tc: untouched('drop', 'DROP_TOO_BIG'), xdp: untouched('pass', 'PASS_FIB'),
  },
  tunnelled('UPLINK_FIB: 1280 + 20 fits the locked 1300', 'step 8b', sizedTcp('10.244.8.7', 1280),
    { mode: 'ipip', remote: '10.0.1.4', ttl: 64, via: 'ua', config: FIB_NODE }),
  {
    description: 'UPLINK_FIB with no uplink configured: step 7 first', rule: 'step 7, 8b', frame: podTcp({ dst: '10.244.3.7' }),
    config: { ...FIB_NODE, uplinkIfindex: 0 }, tc: NO_ROUTE,
  },

  // --- the next hop agentd keeps for the peer (tc_encap step 8a, xdp_encap step 8) -----------
  viaNexthop('IPIP to a peer with a next hop: its MACs, redirected to its device', podTcp({ dst: '10.244.3.7' }), I(), { ...NH, ifindex: 9, mtu: 0 }),
  viaNexthop('VXLAN with a next hop on the ingress device: XDP_TX', F, V(), { ...NH, ifindex: 1, mtu: 1500 }),
  viaNexthop('UPLINK_FIB with a next hop: the FIB is not asked (it has no route to this peer)', podTcp({ dst: '10.244.7.7' }),
    { mode: 'ipip', remote: '10.0.2.12', ttl: 64, config: FIB_NODE }, { ...NH, ifindex: 9, mtu: 0 }),
  viaNexthop('the next hop\'s MTU 1400 holds 1380 + 20 exactly', sizedTcp('10.244.3.7', 1380), I(), { ...NH, ifindex: 9, mtu: 1400 }),
  {
    description: 'over the next hop\'s MTU 1400 (1381 + 20): tc_encap drops it as too big, xdp_encap leaves it to the stack',
    rule: 'tc step 8a, xdp step 8', frame: sizedTcp('10.244.3.7', 1381), nexthops: new Map([['10.0.2.2', { ...NH, ifindex: 9, mtu: 1400 }]]),
    tc: untouched('drop', 'DROP_TOO_BIG'), xdp: untouched('pass', 'PASS_TOO_BIG'),
  },
  tunnelled('a next hop for another peer changes nothing', 'tc step 8a, xdp step 8', podTcp({ dst: '10.244.3.7' }), I(),
    { nexthops: new Map([['10.0.1.2', { ...NH, ifindex: 9, mtu: 0 }]]) }),
  {
    description: 'a next hop does not stand in for a missing uplink: step 7 first', rule: 'step 7, 8a', frame: podTcp({ dst: '10.244.3.7' }),
    config: NO_UPLINK, nexthops: new Map([['10.0.2.2', { ...NH, ifindex: 9, mtu: 0 }]]), tc: NO_ROUTE,
  },
  ((): EncapCase => {
    const row = viaNexthop('a SYN to a peer with a next hop is clamped as any other (1460 → 1440)', syn('10.244.3.7', mssOpt(1440)),
      { ...I(), config: MSS_NODE }, { ...NH, ifindex: 9, mtu: 0 });
    return { ...row, frame: syn('10.244.3.7', mssOpt(1460)), tc: { ...row.tc!, also: [CLAMPED] }, xdp: { ...row.xdp!, also: [CLAMPED] } };
  })(),

  // --- MSS clamping and the learned path MTU together ---------------------------------------
  {
    ...mssRow('a SYN over the learned path MTU (644 + 20 > 552): xdp_encap leaves it to the stack unclamped (step 7b before the clamp); tc_encap clamps it to the path\'s 552 − 20 − 40',
      syn('10.244.3.7', mssOpt(1460), { payload: new Uint8Array(600) }), I(), { frame: syn('10.244.3.7', mssOpt(492), { payload: new Uint8Array(600) }), also: CLAMPED }),
    pmtu: new Map([['10.0.2.2', 552]]), xdp: untouched('pass', 'PASS_PMTU'),
  },
  {
    ...mssRow('IPIP SYN within a learned path MTU of 1400: clamped to the path\'s 1400 − 20 − 40 = 1340', syn('10.244.3.7', mssOpt(1460)), I(),
      { frame: syn('10.244.3.7', mssOpt(1340)), also: CLAMPED }),
    pmtu: new Map([['10.0.2.2', 1400]]),
  },
  {
    ...mssRow('VXLAN SYN within a learned path MTU of 1400: clamped to 1400 − 50 − 40 = 1310', syn('10.244.2.7', mssOpt(1460)), V(),
      { frame: syn('10.244.2.7', mssOpt(1310)), also: CLAMPED }),
    pmtu: new Map([['10.0.1.2', 1400]]),
  },
  {
    ...mssRow('a learned path MTU no narrower than the tunnel\'s (1500): the mode\'s 1440 stays', syn('10.244.3.7', mssOpt(1460)), I(),
      { frame: syn('10.244.3.7', mssOpt(1440)), also: CLAMPED }),
    pmtu: new Map([['10.0.2.2', 1500]]),
  },
  {
    ...mssRow('a path MTU learned for another peer changes nothing: 1440', syn('10.244.3.7', mssOpt(1460)), I(),
      { frame: syn('10.244.3.7', mssOpt(1440)), also: CLAMPED }),
    pmtu: new Map([['10.0.1.2', 1280]]),
  },
  {
    ...mssRow('a path entry below 552 is not believed: 1440', syn('10.244.3.7', mssOpt(1460)), I(),
      { frame: syn('10.244.3.7', mssOpt(1440)), also: CLAMPED }),
    pmtu: new Map([['10.0.2.2', 500]]),
  },
  {
    ...mssRow('MSS 1300 already below the path\'s 1340: untouched', syn('10.244.3.7', mssOpt(1300)), I()),
    pmtu: new Map([['10.0.2.2', 1400]]),
  },
  {
    ...mssRow('clamping off (mss 0) with a learned path MTU: untouched', syn('10.244.3.7', mssOpt(1460)), { ...I(), config: NODE }),
    pmtu: new Map([['10.0.2.2', 1400]]),
  },
];
