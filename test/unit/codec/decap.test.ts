// xdp_decap and tc_decap, one case per step of docs/datapath.md "Decapsulation".
import test from 'ava';
import {
  BURROW_CONFIG_FLAG, BURROW_ROUTE_FLAG, buildFragNeededFrame, buildIpipFrame, buildIpv4Frame, buildTunnelQuote, buildTcpFrame, buildUdpFrame, buildVxlanFrame, decap, ETH_HLEN, fixIpv4HeaderChecksum,
  ipv4HeaderChecksumValid, peerMap, statIndex, writeU16, type DecapOptions, type IpipFrameFields, type StatName,
  type VxlanFrameFields,
} from '../../../src/codec/index.js';
import { ipPart, NODE_A, NODE_B_IP, NODE_C_IP, PEERS, podTcp, route } from './fixtures.js';

/** As the compiler writes them for node-a: the pool, our block, node-b's and node-c's blocks. */
const DECAP_ROUTES = [
  { cidr: '10.244.0.0/16', route: route('none', '0.0.0.0', { flags: BURROW_ROUTE_FLAG.IN_POOL }) },
  { cidr: '10.244.1.0/26', route: route('none', NODE_A.localIp, { flags: BURROW_ROUTE_FLAG.IN_POOL | BURROW_ROUTE_FLAG.LOCAL }) },
  { cidr: '10.244.2.0/26', route: route('vxlan', NODE_B_IP, { flags: BURROW_ROUTE_FLAG.IN_POOL }) },
  { cidr: '10.244.3.0/26', route: route('ipip', NODE_C_IP, { flags: BURROW_ROUTE_FLAG.IN_POOL }) },
];
const OPTIONS: DecapOptions = { peers: PEERS, config: NODE_A, routes: DECAP_ROUTES };
const POOL_CHECK = { config: { ...NODE_A, flags: BURROW_CONFIG_FLAG.DECAP_SRC_POOL } };
const UPLINK_MAC = NODE_A.uplinkMac;
const INNER = ipPart(podTcp({ src: '10.244.2.7', dst: '10.244.1.5' }));

function ipip(fields: Partial<IpipFrameFields> = {}): Uint8Array {
  return buildIpipFrame({ src: NODE_B_IP, dst: NODE_A.localIp, ethDst: UPLINK_MAC, ethSrc: '02:00:00:00:0b:01', inner: INNER, ...fields });
}

function vxlan(fields: Partial<VxlanFrameFields> = {}): Uint8Array {
  return buildVxlanFrame({
    src: NODE_B_IP, dst: NODE_A.localIp, ethDst: UPLINK_MAC, ethSrc: '02:00:00:00:0b:01', sport: 40001, vni: 4096,
    innerEthDst: NODE_A.vtepMac, innerEthSrc: '66:00:00:00:00:0b', inner: INNER, ...fields,
  });
}

/** Sets the outer total length (and fixes the outer checksum, which decap does not check anyway). */
function outerTotLen(frame: Uint8Array, totLen: number): Uint8Array {
  const out = frame.slice();
  writeU16(out, ETH_HLEN + 2, totLen);
  fixIpv4HeaderChecksum(out, ETH_HLEN);
  return out;
}

function withByte(frame: Uint8Array, offset: number, value: number): Uint8Array {
  const out = frame.slice();
  out[offset] = value;
  return out;
}

const innerWith = (fields: Parameters<typeof podTcp>[0]): Uint8Array => ipPart(podTcp({ src: '10.244.2.7', dst: '10.244.1.5', ...fields }));
const OPT20 = new Uint8Array(40).fill(1); // outer IHL 15
const VXLAN_AT = ETH_HLEN + 20 + 8; // VXLAN header of a frame without outer options

interface Case {
  readonly name: string;
  readonly frame: Uint8Array;
  readonly options?: Partial<DecapOptions>;
  readonly counter: StatName;
}

const CASES: Case[] = [
  { name: '1: 0 bytes', frame: new Uint8Array(0), counter: 'PASS' },
  { name: '1: 13 bytes', frame: ipip().subarray(0, 13), counter: 'PASS' },
  { name: '2: ARP', frame: withByte(ipip(), 13, 0x06), counter: 'PASS' },
  { name: '2: 802.1Q TPID in place of IPv4', frame: withByte(withByte(ipip(), 12, 0x81), 13, 0x00), counter: 'PASS' },
  { name: '3: 19 bytes of IPv4', frame: ipip().subarray(0, ETH_HLEN + 19), counter: 'PASS' },
  { name: '3: version 6', frame: withByte(ipip(), ETH_HLEN, 0x65), counter: 'PASS' },
  { name: '3: IHL 4', frame: withByte(ipip(), ETH_HLEN, 0x44), counter: 'PASS' },
  { name: '4: IPIP from a peer to another address', frame: ipip({ dst: '10.0.1.12' }), counter: 'PASS' },
  { name: '4: from an unknown source to another address', frame: ipip({ src: '203.0.113.1', dst: '10.0.1.12' }), counter: 'PASS' },
  { name: '5: TCP to us', frame: podTcp({ src: NODE_B_IP, dst: NODE_A.localIp }), counter: 'PASS' },
  { name: '5: GRE to us', frame: buildIpv4Frame({ src: NODE_B_IP, dst: NODE_A.localIp, protocol: 47, payload: INNER }), counter: 'PASS' },
  { name: '6: IPIP fragment (MF)', frame: ipip({ mf: true }), counter: 'PASS_FRAGMENT' },
  { name: '6: IPIP fragment (offset)', frame: ipip({ fragOffset: 185 }), counter: 'PASS_FRAGMENT' },
  { name: '6: fragment from an unknown source (6 before 9)', frame: ipip({ src: '203.0.113.1', mf: true }), counter: 'PASS_FRAGMENT' },
  { name: '6: any UDP fragment to us, not only VXLAN', frame: buildUdpFrame({ src: NODE_B_IP, dst: NODE_A.localIp, sport: 5, dport: 53, fragOffset: 1 }), counter: 'PASS_FRAGMENT' },
  { name: '7: IHL·4 > len − 14', frame: ipip({ options: OPT20 }).subarray(0, ETH_HLEN + 59), counter: 'DROP_MALFORMED' },
  { name: '7: tot_len < IHL·4', frame: outerTotLen(ipip({ options: OPT20 }), 59), counter: 'DROP_MALFORMED' },
  { name: '7: tot_len > len − 14 (truncated)', frame: ipip().subarray(0, ipip().length - 1), counter: 'DROP_MALFORMED' },
  { name: '7: VXLAN truncated', frame: vxlan().subarray(0, vxlan().length - 1), counter: 'DROP_MALFORMED' },
  { name: '7: any UDP to us with a bad length, before the port check', frame: buildUdpFrame({ src: NODE_B_IP, dst: NODE_A.localIp, sport: 5, dport: 53, totalLength: 1000 }), counter: 'DROP_MALFORMED' },
  { name: '7: outer checksum is not verified', frame: withByte(ipip(), ETH_HLEN + 10, 0), counter: 'DECAP_IPIP' },
  { name: '7: outer options (IHL 15) are skipped', frame: ipip({ options: OPT20 }), counter: 'DECAP_IPIP' },
  { name: '8: UDP header beyond tot_len', frame: outerTotLen(vxlan(), 27), counter: 'DROP_MALFORMED' },
  { name: '8: UDP header of 7 bytes, frame cut consistently', frame: outerTotLen(vxlan().subarray(0, ETH_HLEN + 27), 27), counter: 'DROP_MALFORMED' },
  { name: '8: UDP header ends exactly at tot_len, another port', frame: outerTotLen(vxlan({ dport: 53 }), 28), counter: 'PASS' },
  { name: '8: UDP header ends exactly at tot_len, VXLAN port, unknown source', frame: outerTotLen(vxlan({ src: '10.0.1.66' }), 28), counter: 'DROP_UNKNOWN_PEER' },
  { name: '8: another UDP port', frame: vxlan({ dport: 8472 }), counter: 'PASS' },
  { name: '8: another port from an unknown source (8 before 9)', frame: vxlan({ src: '203.0.113.1', dport: 53 }), counter: 'PASS' },
  { name: '8: the configured port 8472', frame: vxlan({ dport: 8472 }), options: { config: { ...NODE_A, vxlanPort: 8472 } }, counter: 'DECAP_VXLAN' },
  { name: '8: 4789 when 8472 is configured', frame: vxlan(), options: { config: { ...NODE_A, vxlanPort: 8472 } }, counter: 'PASS' },
  { name: '9: IPIP from an unknown source (spoofed peer)', frame: ipip({ src: '10.0.1.66' }), counter: 'DROP_UNKNOWN_PEER' },
  { name: '9: VXLAN from an unknown source', frame: vxlan({ src: '10.0.1.66' }), counter: 'DROP_UNKNOWN_PEER' },
  { name: '9: VXLAN from an IPIP-only peer', frame: vxlan({ src: NODE_C_IP }), counter: 'DROP_UNKNOWN_PEER' },
  { name: '9: a peer with no modes', frame: ipip(), options: { peers: peerMap([[NODE_B_IP, { modes: 0, vni: 4096 }]]) }, counter: 'DROP_UNKNOWN_PEER' },
  { name: '9: modes as map bits (VXLAN = 2)', frame: vxlan(), options: { peers: peerMap([[NODE_B_IP, { modes: 2, vni: 4096 }]]) }, counter: 'DECAP_VXLAN' },
  { name: '9: unknown source with a bad VXLAN header (9 before 10)', frame: vxlan({ src: '10.0.1.66', vxlanFlags: 0 }), counter: 'DROP_UNKNOWN_PEER' },
  { name: '10: tot_len ends inside the inner Ethernet header', frame: outerTotLen(vxlan(), 20 + 29), counter: 'DROP_MALFORMED' },
  { name: '10: tot_len ends exactly after the inner Ethernet header: VNI still checked', frame: outerTotLen(vxlan({ vni: 9 }), 20 + 30), counter: 'DROP_BAD_VNI' },
  { name: '10: VXLAN without the I flag', frame: vxlan({ vxlanFlags: 0x00 }), counter: 'DROP_MALFORMED' },
  { name: '10: VXLAN with every flag but I', frame: vxlan({ vxlanFlags: 0xf7 }), counter: 'DROP_MALFORMED' },
  { name: '10: reserved flag bits beside I are ignored', frame: vxlan({ vxlanFlags: 0xff }), counter: 'DECAP_VXLAN' },
  { name: '10: reserved bytes are ignored', frame: withByte(withByte(vxlan(), VXLAN_AT + 1, 0xff), VXLAN_AT + 7, 0xff), counter: 'DECAP_VXLAN' },
  { name: '10: wrong VNI', frame: vxlan({ vni: 4097 }), counter: 'DROP_BAD_VNI' },
  { name: '10: the peer\'s own VNI', frame: vxlan({ vni: 77 }), options: { peers: peerMap([[NODE_B_IP, { modes: new Set(['vxlan']), vni: 77 }]]) }, counter: 'DECAP_VXLAN' },
  { name: '10: no I flag and wrong VNI → the flag counts first', frame: vxlan({ vxlanFlags: 0, vni: 1 }), counter: 'DROP_MALFORMED' },
  { name: '10: inner EtherType IPv6', frame: vxlan({ innerEtherType: 0x86dd }), counter: 'DROP_MALFORMED' },
  { name: '10: wrong VNI and wrong inner EtherType → the VNI counts first', frame: vxlan({ vni: 1, innerEtherType: 0x0806 }), counter: 'DROP_BAD_VNI' },
  { name: '11: IPIP, inner header of 19 bytes within tot_len', frame: outerTotLen(ipip(), 20 + 19), counter: 'DROP_MALFORMED' },
  { name: '11: VXLAN, inner header of 19 bytes within tot_len', frame: outerTotLen(vxlan(), 50 + 19), counter: 'DROP_MALFORMED' },
  { name: '11: IPIP, inner header of exactly 20 bytes', frame: outerTotLen(ipip(), 20 + 20), counter: 'DECAP_IPIP' },
  { name: '11: inner version 6', frame: ipip({ inner: withByte(INNER, 0, 0x65) }), counter: 'DROP_MALFORMED' },
  { name: '11: inner IHL 4', frame: vxlan({ inner: withByte(INNER, 0, 0x44) }), counter: 'DROP_MALFORMED' },
  { name: '11: inner IHL 15 with a short inner packet is not checked', frame: ipip({ inner: withByte(INNER, 0, 0x4f) }), counter: 'DECAP_IPIP' },
  { name: '12: forged inner source from a peer', frame: ipip({ inner: innerWith({ src: '1.2.3.4' }) }), counter: 'DROP_SPOOFED' },
  { name: '12: inner source in another peer\'s block', frame: ipip({ inner: innerWith({ src: '10.244.3.9' }) }), counter: 'DROP_SPOOFED' },
  { name: '12: inner source in our own block', frame: vxlan({ inner: innerWith({ src: '10.244.1.9' }) }), counter: 'DROP_SPOOFED' },
  { name: '12: inner source in the pool, in no block', frame: ipip({ inner: innerWith({ src: '10.244.99.9' }) }), counter: 'DROP_SPOOFED' },
  { name: '12: inner source is the sending peer', frame: ipip({ inner: innerWith({ src: NODE_B_IP }) }), counter: 'DECAP_IPIP' },
  { name: '12: pool check: another peer\'s block', frame: ipip({ inner: innerWith({ src: '10.244.3.9' }) }), options: POOL_CHECK, counter: 'DECAP_IPIP' },
  { name: '12: pool check: in the pool, in no block', frame: ipip({ inner: innerWith({ src: '10.244.99.9' }) }), options: POOL_CHECK, counter: 'DECAP_IPIP' },
  { name: '12: pool check: our own block', frame: ipip({ inner: innerWith({ src: '10.244.1.9' }) }), options: POOL_CHECK, counter: 'DROP_SPOOFED' },
  { name: '12: pool check: outside the pools', frame: ipip({ inner: innerWith({ src: '8.8.4.4' }) }), options: POOL_CHECK, counter: 'DROP_SPOOFED' },
  { name: '12: inner destination outside the pools', frame: ipip({ inner: innerWith({ dst: '8.8.8.8' }) }), counter: 'DROP_OUTSIDE_POOL' },
  { name: '12: inner destination in the pool, in no block', frame: ipip({ inner: innerWith({ dst: '10.244.99.9' }) }), counter: 'DECAP_IPIP' },
  { name: '12: no routes: the source first', frame: ipip(), options: { routes: [] }, counter: 'DROP_SPOOFED' },
  { name: '12: forged source and TTL 0 → the source counts first', frame: ipip({ inner: innerWith({ src: '1.2.3.4', ttl: 0 }) }), counter: 'DROP_SPOOFED' },
  { name: '13: inner TTL 0', frame: ipip({ inner: innerWith({ ttl: 0 }) }), counter: 'DROP_TTL' },
  { name: '13: inner TTL 0 over VXLAN', frame: vxlan({ inner: innerWith({ ttl: 0 }) }), counter: 'DROP_TTL' },
  { name: '13: inner TTL 1 is delivered, not decremented', frame: ipip({ inner: innerWith({ ttl: 1 }) }), counter: 'DECAP_IPIP' },
  { name: '13: TTL 0 and CE on Not-ECT → TTL counts first', frame: ipip({ ecn: 3, inner: innerWith({ ttl: 0, ecn: 0 }) }), counter: 'DROP_TTL' },
  { name: '14: outer CE on inner Not-ECT', frame: ipip({ ecn: 3, inner: innerWith({ ecn: 0 }) }), counter: 'DROP_ECN' },
  { name: '15: IPIP', frame: ipip(), counter: 'DECAP_IPIP' },
  { name: '15: VXLAN', frame: vxlan(), counter: 'DECAP_VXLAN' },
];

for (const c of CASES) {
  test(`decap step ${c.name} → ${c.counter}`, (t) => {
    const xdp = decap(c.frame, { ...OPTIONS, ...c.options });
    const tc = decap(c.frame, { ...OPTIONS, ...c.options, hook: 'tc' });
    const verdict = c.counter.startsWith('DROP_') ? 'drop' : 'pass';
    t.is(xdp.counter, c.counter);
    t.is(xdp.counterIndex, statIndex(c.counter));
    t.is(xdp.verdict, verdict);
    t.is(xdp.retval, verdict === 'drop' ? 1 : 2, 'XDP_DROP / XDP_PASS');
    t.is(tc.counter, c.counter);
    t.is(tc.retval, verdict === 'drop' ? 2 : 0, 'TC_ACT_SHOT / TC_ACT_OK');
    if (!c.counter.startsWith('DECAP_')) t.deepEqual(xdp.output, Uint8Array.from(c.frame), 'untouched');
    else t.true(xdp.output.length < c.frame.length);
  });
}

const NAME = ['Not-ECT', 'ECT(1)', 'ECT(0)', 'CE'];
// RFC 6040 Figure 4, indexed [outer][inner] by codepoint value; -1 = drop.
const ECN_RESULT = [
  [0, 1, 2, 3], // outer Not-ECT
  [0, 1, 1, 3], // outer ECT(1)
  [0, 1, 2, 3], // outer ECT(0)
  [-1, 3, 3, 3], // outer CE
];

for (let outer = 0; outer < 4; outer++) {
  for (let inner = 0; inner < 4; inner++) {
    const expected = ECN_RESULT[outer]![inner]!;
    test(`decap step 14: outer ${NAME[outer]} + inner ${NAME[inner]} → ${expected < 0 ? 'DROP_ECN' : NAME[expected]}, DSCP kept, checksum fixed`, (t) => {
      const innerPacket = innerWith({ dscp: 46, ecn: inner });
      for (const frame of [ipip({ dscp: 10, ecn: outer, inner: innerPacket }), vxlan({ dscp: 10, ecn: outer, inner: innerPacket })]) {
        const r = decap(frame, OPTIONS);
        if (expected < 0) {
          t.is(r.counter, 'DROP_ECN');
          t.is(r.retval, 1);
          continue;
        }
        t.regex(r.counter, /^DECAP_/);
        t.is(r.output[ETH_HLEN + 1], (46 << 2) | expected);
        t.true(ipv4HeaderChecksumValid(r.output, ETH_HLEN), 'inner checksum still valid');
        const changed = expected !== inner;
        t.is(r.output[ETH_HLEN + 10] === innerPacket[10] && r.output[ETH_HLEN + 11] === innerPacket[11], !changed, 'checksum changes exactly when the TOS does');
        const rest = (b: Uint8Array) => [...b.subarray(0, 1), ...b.subarray(2, 10), ...b.subarray(12)];
        t.deepEqual(rest(r.output.subarray(ETH_HLEN)), rest(innerPacket), 'only TOS and checksum may change');
      }
    });
  }
}

test('decap step 14: a wrong inner checksum is updated incrementally, not repaired', (t) => {
  const broken = withByte(innerWith({ ecn: 2 }), 10, 0x00);
  const r = decap(ipip({ ecn: 3, inner: broken }), OPTIONS);
  t.is(r.counter, 'DECAP_IPIP');
  t.is(r.output[ETH_HLEN + 1]! & 3, 3);
  t.false(ipv4HeaderChecksumValid(r.output, ETH_HLEN));
});

test('decap step 15 IPIP: outer Ethernet + the inner packet, outer options gone, padding kept', (t) => {
  const frame = ipip({ options: Uint8Array.of(148, 4, 0, 0), padding: 7 });
  const r = decap(frame, OPTIONS);
  t.is(r.mode, 'ipip');
  t.deepEqual(r.output.subarray(0, ETH_HLEN), frame.subarray(0, ETH_HLEN));
  t.deepEqual(r.output.subarray(ETH_HLEN), Uint8Array.from([...INNER, 0, 0, 0, 0, 0, 0, 0]));
});

test('decap step 15 VXLAN: the inner Ethernet header is dropped, the outer one kept', (t) => {
  const frame = vxlan({ padding: 3 });
  const r = decap(frame, OPTIONS);
  t.is(r.mode, 'vxlan');
  t.is(r.peer, PEERS.get(NODE_B_IP));
  t.deepEqual(r.output, Uint8Array.from([...frame.subarray(0, ETH_HLEN), ...INNER, 0, 0, 0]));
});

test('decap step 15: bytes between the inner packet\'s end and tot_len are kept as they are', (t) => {
  const inner = ipPart(buildTcpFrame({ src: '10.244.2.7', dst: '10.244.1.5', sport: 1, dport: 2, padding: 5 }));
  const r = decap(ipip({ inner }), OPTIONS);
  t.deepEqual(r.output.subarray(ETH_HLEN), inner);
});

test('decap: the output is a copy; the input is never modified', (t) => {
  const frame = ipip({ ecn: 3, inner: innerWith({ ecn: 2 }) });
  const before = frame.slice();
  const r = decap(frame, OPTIONS);
  t.deepEqual(frame, before);
  t.is(r.counter, 'DECAP_IPIP');
  const junk = new Uint8Array(3);
  const passed = decap(junk, OPTIONS).output;
  passed[0] = 1;
  t.is(junk[0], 0, 'a pass output does not share the input\'s bytes');
});

// --- Path MTU (P1–P6): ICMP frag-needed about our outer packets -----------------------------
const quoteTo = (fields: Partial<Parameters<typeof buildTunnelQuote>[0]> = {}) =>
  buildTunnelQuote({ mode: 'ipip', src: NODE_A.localIp, dst: NODE_C_IP, totalLength: 1500, ...fields });
const fragNeeded = (mtu: number, quote = quoteTo()) => buildFragNeededFrame({ src: '10.0.1.1', dst: NODE_A.localIp, mtu, quote });

test('P6: a frag-needed quoting our IPIP packet to a peer is learned and passed on; a wider one leaves a narrower entry', (t) => {
  const r = decap(fragNeeded(1400), OPTIONS);
  t.is(r.counter, 'PMTU_LEARNED');
  t.is(r.verdict, 'pass');
  t.deepEqual(r.pmtuWrite, { peer: NODE_C_IP, mtu: 1400 });
  t.deepEqual(Buffer.from(r.output), Buffer.from(fragNeeded(1400)), 'the ICMP goes on untouched');
  t.deepEqual(decap(fragNeeded(1400, quoteTo({ mode: 'vxlan', dst: NODE_B_IP })), OPTIONS).pmtuWrite, { peer: NODE_B_IP, mtu: 1400 });
  t.is(decap(fragNeeded(1400), { ...OPTIONS, pmtu: new Map([[NODE_C_IP, 1280]]) }).pmtuWrite, undefined);
  t.deepEqual(decap(fragNeeded(1280), { ...OPTIONS, pmtu: new Map([[NODE_C_IP, 1400]]) }).pmtuWrite, { peer: NODE_C_IP, mtu: 1280 });
});

test('P2–P5: truncated quotes are malformed; forged ones and MTUs below 552 are counted and learn nothing', (t) => {
  const cases: Array<[Uint8Array, StatName]> = [
    [fragNeeded(1400, quoteTo({ after: 7 })), 'DROP_MALFORMED'],
    [fragNeeded(1400, quoteTo().subarray(0, 19)), 'DROP_MALFORMED'],
    [fragNeeded(1400, quoteTo({ src: '10.0.1.99' })), 'DROP_PMTU_FORGED'],
    [fragNeeded(1400, quoteTo({ dst: '10.0.9.9' })), 'DROP_PMTU_FORGED'],
    [fragNeeded(1400, quoteTo({ df: false })), 'DROP_PMTU_FORGED'],
    [fragNeeded(1500), 'DROP_PMTU_FORGED'],
    [fragNeeded(551), 'DROP_PMTU_TOO_SMALL'],
    [fragNeeded(1400, quoteTo({ mode: 'vxlan', dport: 53 })), 'PASS'],
  ];
  for (const [frame, counter] of cases) {
    const r = decap(frame, OPTIONS);
    t.is(r.counter, counter);
    t.is(r.pmtuWrite, undefined);
  }
});
