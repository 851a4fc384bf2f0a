// tc_encap and xdp_encap, one case per step of docs/datapath.md "Encapsulation".
import test from 'ava';
import {
  buildIpv4Frame, buildUdpFrame, encap, ETH_HLEN, ipv4HeaderChecksumValid, parseEthernet, parseIpv4, parseUdp,
  parseVxlan, statIndex, vxlanSourcePort, type EncapOptions, type FibResult, type NodeConfig, type StatName, type Verdict,
} from '../../../src/codec/index.js';
import { NODE_A, NODE_B_IP, NODE_C_IP, podTcp, ROUTES, toHex } from './fixtures.js';

const FIB_OUT: FibResult = { result: 'success', ifindex: 2, smac: '02:00:00:00:0a:01', dmac: '02:00:00:00:0b:01' };
const TC: EncapOptions = { routes: ROUTES, config: NODE_A, hook: 'tc', ipId: 0x4d2 };
const XDP: EncapOptions = { routes: ROUTES, config: NODE_A, hook: 'xdp', ipId: 0x4d2, ingressIfindex: 1, fib: () => FIB_OUT };
/** The agent has not configured an uplink yet. */
const NO_UPLINK: NodeConfig = { ...NODE_A, uplinkIfindex: 0 };

/** A frame whose IPv4 packet (after Ethernet) is exactly `ipLength` bytes. */
function sized(dst: string, ipLength: number, extra: { padding?: number } = {}): Uint8Array {
  return podTcp({ dst, payload: new Uint8Array(ipLength - 40), ...extra });
}

const tagged = (tpid: number): Uint8Array => {
  const plain = podTcp();
  const out = new Uint8Array(plain.length + 4);
  out.set(plain.subarray(0, 12));
  out.set([tpid >> 8, tpid & 0xff, 0x00, 0x64], 12);
  out.set(plain.subarray(12), 16);
  return out;
};
const withByte = (frame: Uint8Array, offset: number, value: number): Uint8Array => {
  const out = frame.slice();
  out[offset] = value;
  return out;
};

interface Case {
  readonly name: string;
  readonly frame: Uint8Array;
  readonly options?: Partial<EncapOptions>;
  readonly counter: StatName;
  readonly verdict: Verdict;
  readonly retval: number;
}

const TC_CASES: Case[] = [
  { name: '1: 0 bytes', frame: new Uint8Array(0), counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '1: 13 bytes', frame: podTcp().subarray(0, 13), counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '2: ARP', frame: withByte(podTcp(), 13, 0x06), counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '2: IPv6 EtherType', frame: withByte(withByte(podTcp(), 12, 0x86), 13, 0xdd), counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '2: 802.1Q-tagged IPv4 to a tunnelled block', frame: tagged(0x8100), counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '2: 802.1ad-tagged IPv4 to a tunnelled block', frame: tagged(0x88a8), counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '3: 19 bytes of IPv4', frame: podTcp().subarray(0, ETH_HLEN + 19), counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '3: version 6', frame: withByte(podTcp(), ETH_HLEN, 0x65), counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '3: IHL 4', frame: withByte(podTcp(), ETH_HLEN, 0x44), counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '4: no route', frame: podTcp({ dst: '192.168.1.1' }), counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '4: route with mode none', frame: podTcp({ dst: '10.244.4.5' }), counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '4: route with a mode burrow.h does not define', frame: podTcp({ dst: '10.244.5.5' }), options: { routes: [...ROUTES, { cidr: '10.244.5.0/24', route: { ...ROUTES[0]!.route, mode: 'gre' as never } }] }, counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '5: destination is the route\'s remote', frame: podTcp({ dst: NODE_C_IP }), counter: 'PASS_TUNNEL_ENDPOINT', verdict: 'pass', retval: 0 },
  { name: '5: destination is the local node', frame: podTcp({ dst: NODE_A.localIp }), counter: 'PASS_TUNNEL_ENDPOINT', verdict: 'pass', retval: 0 },
  { name: '5: another node address under a tunnel route is tunnelled', frame: podTcp({ dst: NODE_B_IP }), counter: 'ENCAP_IPIP', verdict: 'redirect', retval: 7 },
  { name: '6: inner protocol 4', frame: buildIpv4Frame({ src: '10.244.1.5', dst: '10.244.2.7', protocol: 4, payload: new Uint8Array(20) }), counter: 'DROP_ALREADY_ENCAP', verdict: 'drop', retval: 2 },
  { name: '6: inner protocol 4 even as a fragment', frame: buildIpv4Frame({ src: '10.244.1.5', dst: '10.244.2.7', protocol: 4, fragOffset: 3 }), counter: 'DROP_ALREADY_ENCAP', verdict: 'drop', retval: 2 },
  { name: '6: UDP to the VXLAN port', frame: buildUdpFrame({ src: '10.244.1.5', dst: '10.244.2.7', sport: 1, dport: 4789 }), counter: 'DROP_ALREADY_ENCAP', verdict: 'drop', retval: 2 },
  { name: '6: UDP to the VXLAN port behind IP options', frame: buildUdpFrame({ src: '10.244.1.5', dst: '10.244.2.7', sport: 1, dport: 4789, options: new Uint8Array(40) }), counter: 'DROP_ALREADY_ENCAP', verdict: 'drop', retval: 2 },
  { name: '6: UDP to the configured port 8472', frame: buildUdpFrame({ src: '10.244.1.5', dst: '10.244.2.7', sport: 1, dport: 8472 }), options: { config: { ...NODE_A, vxlanPort: 8472 } }, counter: 'DROP_ALREADY_ENCAP', verdict: 'drop', retval: 2 },
  { name: '6: UDP to 4789 when the port is 8472 is tunnelled', frame: buildUdpFrame({ src: '10.244.1.5', dst: '10.244.2.7', sport: 1, dport: 4789 }), options: { config: { ...NODE_A, vxlanPort: 8472 } }, counter: 'ENCAP_VXLAN', verdict: 'redirect', retval: 7 },
  { name: '6: UDP fragment (MF) to the VXLAN port is tunnelled', frame: buildUdpFrame({ src: '10.244.1.5', dst: '10.244.2.7', sport: 1, dport: 4789, mf: true }), counter: 'ENCAP_VXLAN', verdict: 'redirect', retval: 7 },
  { name: '6: UDP fragment (offset) to the VXLAN port is tunnelled', frame: buildUdpFrame({ src: '10.244.1.5', dst: '10.244.2.7', sport: 1, dport: 4789, fragOffset: 1 }), counter: 'ENCAP_VXLAN', verdict: 'redirect', retval: 7 },
  { name: '6: UDP header cut to 7 bytes is tunnelled', frame: buildUdpFrame({ src: '10.244.1.5', dst: '10.244.2.7', sport: 1, dport: 4789 }).subarray(0, ETH_HLEN + 20 + 7), counter: 'ENCAP_VXLAN', verdict: 'redirect', retval: 7 },
  { name: '7: no uplink (ifindex 0), IPIP', frame: sized('10.244.3.9', 100), options: { config: NO_UPLINK }, counter: 'DROP_NO_ROUTE', verdict: 'drop', retval: 2 },
  { name: '7: no uplink (ifindex 0), VXLAN', frame: podTcp(), options: { config: NO_UPLINK }, counter: 'DROP_NO_ROUTE', verdict: 'drop', retval: 2 },
  { name: '7: no uplink, and too big (step 8 comes after)', frame: sized('10.244.3.9', 1481), options: { config: NO_UPLINK }, counter: 'DROP_NO_ROUTE', verdict: 'drop', retval: 2 },
  { name: '7: no uplink, GSO too', frame: sized('10.244.2.9', 2900), options: { config: NO_UPLINK, gso: true }, counter: 'DROP_NO_ROUTE', verdict: 'drop', retval: 2 },
  { name: '7: no uplink, but a tunnel packet (step 6 comes first)', frame: buildIpv4Frame({ src: '10.244.1.5', dst: '10.244.2.7', protocol: 4 }), options: { config: NO_UPLINK }, counter: 'DROP_ALREADY_ENCAP', verdict: 'drop', retval: 2 },
  { name: '7: no uplink, but no route (step 4 comes first)', frame: podTcp({ dst: '192.168.1.1' }), options: { config: NO_UPLINK }, counter: 'PASS', verdict: 'pass', retval: 0 },
  { name: '8: IPIP, 1480-byte packet fits MTU 1500', frame: sized('10.244.3.9', 1480), counter: 'ENCAP_IPIP', verdict: 'redirect', retval: 7 },
  { name: '8: IPIP, 1481-byte packet does not', frame: sized('10.244.3.9', 1481), counter: 'DROP_TOO_BIG', verdict: 'drop', retval: 2 },
  { name: '8: VXLAN, 1450-byte packet fits MTU 1500', frame: sized('10.244.2.9', 1450), counter: 'ENCAP_VXLAN', verdict: 'redirect', retval: 7 },
  { name: '8: VXLAN, 1451-byte packet does not', frame: sized('10.244.2.9', 1451), counter: 'DROP_TOO_BIG', verdict: 'drop', retval: 2 },
  { name: '8: Ethernet padding counts (len − 14)', frame: sized('10.244.2.9', 1440, { padding: 11 }), counter: 'DROP_TOO_BIG', verdict: 'drop', retval: 2 },
  { name: '8: MTU 1280 applies', frame: sized('10.244.3.9', 1261), options: { config: { ...NODE_A, uplinkMtu: 1280 } }, counter: 'DROP_TOO_BIG', verdict: 'drop', retval: 2 },
  { name: '8: MTU 0 disables the check', frame: sized('10.244.2.9', 2900), options: { config: { ...NODE_A, uplinkMtu: 0 } }, counter: 'ENCAP_VXLAN', verdict: 'redirect', retval: 7 },
  { name: '8: GSO skips the check', frame: sized('10.244.2.9', 2900), options: { gso: true }, counter: 'ENCAP_VXLAN', verdict: 'redirect', retval: 7 },
  { name: '9: adjust_room fails past the skb maximum', frame: sized('10.244.2.9', 1000), options: { skbMaxLen: 1014 + 49 }, counter: 'DROP_ENCAP_FAILED', verdict: 'drop', retval: 2 },
  { name: '9: adjust_room succeeds at exactly the skb maximum', frame: sized('10.244.2.9', 1000), options: { skbMaxLen: 1014 + 50 }, counter: 'ENCAP_VXLAN', verdict: 'redirect', retval: 7 },
];

const XDP_CASES: Case[] = [
  { name: '1–3: VLAN-tagged', frame: tagged(0x8100), counter: 'PASS', verdict: 'pass', retval: 2 },
  { name: '4: no route', frame: podTcp({ dst: '192.168.1.1' }), counter: 'PASS', verdict: 'pass', retval: 2 },
  { name: '5: local node', frame: podTcp({ dst: NODE_A.localIp }), counter: 'PASS_TUNNEL_ENDPOINT', verdict: 'pass', retval: 2 },
  { name: '6: already IPIP', frame: buildIpv4Frame({ src: '10.244.1.5', dst: '10.244.2.7', protocol: 4 }), counter: 'DROP_ALREADY_ENCAP', verdict: 'drop', retval: 1 },
  { name: '7: too big → the stack (it sends ICMP)', frame: sized('10.244.2.9', 1451), counter: 'PASS_TOO_BIG', verdict: 'pass', retval: 2 },
  { name: '7: too big even when the frame would be GSO in TC', frame: sized('10.244.3.9', 1481), options: { gso: true }, counter: 'PASS_TOO_BIG', verdict: 'pass', retval: 2 },
  { name: '8: FIB fails → the stack', frame: podTcp(), options: { fib: () => ({ result: 'fail' }) }, counter: 'PASS_FIB', verdict: 'pass', retval: 2 },
  { name: '9: adjust_head fails without headroom', frame: podTcp(), options: { xdpHeadroom: 40 + 49 }, counter: 'DROP_ENCAP_FAILED', verdict: 'drop', retval: 1 },
  { name: '9: adjust_head succeeds with just enough headroom', frame: podTcp(), options: { xdpHeadroom: 40 + 50 }, counter: 'ENCAP_VXLAN', verdict: 'redirect', retval: 4 },
  { name: '10: egress ≠ ingress → XDP_REDIRECT', frame: podTcp(), counter: 'ENCAP_VXLAN', verdict: 'redirect', retval: 4 },
  { name: '10: uplink ifindex 0 is not looked at (the FIB chooses the egress)', frame: podTcp(), options: { config: NO_UPLINK }, counter: 'ENCAP_VXLAN', verdict: 'redirect', retval: 4 },
  { name: '10: egress = ingress → XDP_TX', frame: podTcp({ dst: '10.244.3.1' }), options: { ingressIfindex: 2 }, counter: 'ENCAP_IPIP', verdict: 'tx', retval: 3 },
];

for (const [hook, cases, base] of [['tc', TC_CASES, TC], ['xdp', XDP_CASES, XDP]] as const) {
  for (const c of cases) {
    test(`${hook}_encap step ${c.name} → ${c.counter}`, (t) => {
      const result = encap(c.frame, { ...base, ...c.options });
      t.is(result.counter, c.counter);
      t.is(result.counterIndex, statIndex(c.counter));
      t.is(result.verdict, c.verdict);
      t.is(result.retval, c.retval);
      if (c.counter.startsWith('ENCAP_')) {
        t.is(result.output.length, c.frame.length + (c.counter === 'ENCAP_IPIP' ? 20 : 50));
      } else {
        t.deepEqual(result.output, Uint8Array.from(c.frame), 'frames not encapsulated leave untouched');
        t.not(result.output, c.frame, 'a copy, not the input');
      }
    });
  }
}

// Both verified with tshark: outer header checksum correct, VXLAN VNI 4096, inner TCP checksum correct.
const TSHARK_VXLAN = '020000000002020000000001080045b9005f04d2400040111eef0a00010a0a00010b906c12b5004b0000080000000010000066000000000b66000000000a080045b9002d000000004006611f0af401050af402079c40005001020304000000005002faf0b790000068656c6c6f';
const TSHARK_IPIP = '020000000002020000000001080045b9004104d2400040041f1a0a00010a0a00010b45b9002d000000004006611f0af401050af402079c40005001020304000000005002faf0b790000068656c6c6f';
const TSHARK_INNER = podTcp({ seq: 0x01020304, tcpFlags: 0x02, window: 64240, df: false, tos: 0xb9, ecn: 1, payload: new TextEncoder().encode('hello') });

test('tc_encap VXLAN output byte for byte (tshark-verified)', (t) => {
  const r = encap(TSHARK_INNER, { ...TC, routes: [{ cidr: '10.244.2.0/26', route: { ...ROUTES[0]!.route } }] });
  t.is(toHex(r.output), TSHARK_VXLAN);
  t.true(r.outerIdRandom);
  t.is(r.redirectIfindex, NODE_A.uplinkIfindex);
  t.is(r.mode, 'vxlan');
  t.is(r.route?.cidr, '10.244.2.0/26');
});

test('tc_encap IPIP output byte for byte (tshark-verified)', (t) => {
  const r = encap(TSHARK_INNER, { ...TC, routes: [{ cidr: '10.244.2.0/26', route: { ...ROUTES[0]!.route, mode: 'ipip' } }] });
  t.is(toHex(r.output), TSHARK_IPIP);
});

test('outer IPv4: version/IHL, TOS copied whole, lengths, DF copied, MF/offset 0, TTL, protocol, addresses, checksum', (t) => {
  for (const [dst, protocol, overhead, remote] of [['10.244.2.1', 17, 50, NODE_B_IP], ['10.244.3.1', 4, 20, NODE_C_IP]] as const) {
    const frame = podTcp({ dst, tos: 0xfe, df: true, mf: true, fragOffset: 100, options: Uint8Array.of(148, 4, 0, 0), padding: 6 });
    const out = encap(frame, { ...TC, config: { ...NODE_A, ttl: 7 } });
    t.like(parseIpv4(out.output, ETH_HLEN), {
      version: 4, ihl: 5, tos: 0xfe, totalLength: frame.length - ETH_HLEN + overhead, id: 0, df: true, mf: false, fragOffset: 0,
      ttl: 7, protocol, src: NODE_A.localIp, dst: remote,
    });
    t.true(ipv4HeaderChecksumValid(out.output, ETH_HLEN));
    t.false(out.outerIdRandom, 'DF set: ID 0, nothing to substitute');
  }
});

test('outer ID: 0 with DF; the given ID without DF (default 1); 0 or out of range refused', (t) => {
  t.is(parseIpv4(encap(podTcp({ df: true }), { ...TC, ipId: 999 }).output, ETH_HLEN)?.id, 0);
  const noDf = podTcp({ df: false });
  t.is(parseIpv4(encap(noDf, { ...TC, ipId: 999 }).output, ETH_HLEN)?.id, 999);
  t.is(parseIpv4(encap(noDf, { routes: ROUTES, config: NODE_A, hook: 'tc' }).output, ETH_HLEN)?.id, 1);
  t.true(encap(noDf, TC).outerIdRandom);
  for (const bad of [0, 0x10000, 1.5]) t.throws(() => encap(noDf, { ...TC, ipId: bad }), { instanceOf: RangeError });
  t.notThrows(() => encap(podTcp({ df: true }), { ...TC, ipId: 0 }), 'ignored when DF is set');
  // The outer header carries DF either way (docs/datapath.md, "Path MTU"): routers never fragment it.
  t.true(parseIpv4(encap(noDf, TC).output, ETH_HLEN)?.df);
});

test('outer TTL: config 0 → 64, otherwise the config value', (t) => {
  t.is(parseIpv4(encap(podTcp({ ttl: 3 }), TC).output, ETH_HLEN)?.ttl, 64);
  t.is(parseIpv4(encap(podTcp({ ttl: 3 }), { ...TC, config: { ...NODE_A, ttl: 255 } }).output, ETH_HLEN)?.ttl, 255);
});

test('VXLAN: source port hash, configured port, length, checksum 0, I flag, VNI from route or default, VTEP MACs', (t) => {
  const frame = podTcp({ dst: '10.244.2.9' });
  const udp = ETH_HLEN + 20;
  const byDefault = encap(frame, TC).output;
  t.deepEqual(parseUdp(byDefault, udp), { sport: vxlanSourcePort(frame), dport: 4789, length: frame.length - ETH_HLEN + 30, checksum: 0 });
  t.deepEqual(parseVxlan(byDefault, udp + 8), { flags: 0x08, vniValid: true, vni: 4096, reserved1: 0, reserved2: 0 });
  t.like(parseEthernet(byDefault, udp + 16), { dst: '66:00:00:00:00:0b', src: NODE_A.vtepMac, etherType: 0x0800 });
  const routes = [{ cidr: '10.244.2.0/24', route: { ...ROUTES[0]!.route, vni: 77, vtepMac: '66:aa:bb:cc:dd:ee' } }];
  const custom = encap(frame, { ...TC, routes, config: { ...NODE_A, vxlanPort: 8472, defaultVni: 5 } }).output;
  t.is(parseUdp(custom, udp)?.dport, 8472);
  t.is(parseVxlan(custom, udp + 8)?.vni, 77);
  t.is(parseEthernet(custom, udp + 16)?.dst, '66:aa:bb:cc:dd:ee');
  const fallback = encap(frame, { ...TC, config: { ...NODE_A, defaultVni: 5 } }).output;
  t.is(parseVxlan(fallback, udp + 8)?.vni, 5, 'route vni 0 → config.defaultVni');
});

test('tc: the input\'s Ethernet header stays in front; the inner bytes, options and padding included, are unchanged', (t) => {
  for (const dst of ['10.244.2.9', '10.244.3.9']) {
    const input = podTcp({ dst, options: Uint8Array.of(7, 7, 4, 0, 0, 0, 0), padding: 9, ethSrc: '0a:0b:0c:0d:0e:0f' });
    const out = encap(input, TC).output;
    const overhead = out.length - input.length;
    t.is(overhead, dst === '10.244.2.9' ? 50 : 20);
    t.deepEqual(out.subarray(0, ETH_HLEN), input.subarray(0, ETH_HLEN));
    t.deepEqual(out.subarray(ETH_HLEN + overhead), input.subarray(ETH_HLEN));
  }
});

test('xdp: Ethernet from the FIB, then the same bytes tc writes; the FIB is asked the right question', (t) => {
  const frame = podTcp({ df: false });
  const asked: unknown[] = [];
  const xdp = encap(frame, { ...XDP, ingressIfindex: 5, fib: (remote, query) => { asked.push([remote, query]); return FIB_OUT; } });
  const tc = encap(frame, TC);
  t.deepEqual(parseEthernet(xdp.output), { dst: FIB_OUT.dmac, src: FIB_OUT.smac, etherType: 0x0800, vlanTagged: false, isIpv4: true });
  t.deepEqual(xdp.output.subarray(ETH_HLEN), tc.output.subarray(ETH_HLEN));
  const query = { src: NODE_A.localIp, dst: NODE_B_IP, ifindex: 5, totLen: frame.length - ETH_HLEN + 50 };
  t.deepEqual(asked, [[NODE_B_IP, query]]);
  t.deepEqual(xdp.fibQuery, query);
  t.is(xdp.redirectIfindex, 2);
  t.true(xdp.outerIdRandom);
});

test('xdp: the FIB is not consulted before the MTU check, nor for frames that pass', (t) => {
  let calls = 0;
  const fib = (): FibResult => { calls++; return FIB_OUT; };
  encap(sized('10.244.2.9', 1451), { ...XDP, fib });
  encap(podTcp({ dst: '192.168.1.1' }), { ...XDP, fib });
  t.is(calls, 0);
});

test('xdp without a FIB model is a usage error', (t) => {
  t.throws(() => encap(podTcp(), { routes: ROUTES, config: NODE_A, hook: 'xdp' }), { instanceOf: TypeError });
});

test('a route table written with a /0 entry tunnels everything not more specific', (t) => {
  const routes = [{ cidr: '0.0.0.0/0', route: { ...ROUTES[1]!.route } }];
  t.is(encap(podTcp({ dst: '203.0.113.9' }), { ...TC, routes }).counter, 'ENCAP_IPIP');
});
