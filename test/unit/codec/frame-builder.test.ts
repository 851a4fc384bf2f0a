import test from 'ava';
import fc from 'fast-check';
import {
  buildIcmpEchoFrame, buildIpipFrame, buildIpv4Frame, buildTcpFrame, buildUdpFrame, buildVxlanFrame, checksumValid,
  ETH_HLEN, ipv4HeaderChecksumValid, parseEthernet, parseIpv4, parseTcp, parseUdp, parseVxlan, tcpChecksumValid,
  udpChecksumValid,
} from '../../../src/codec/index.js';
import { arbPacketPlan, buildPacketFrame } from '../../arbitraries/index.js';
import { fromHex, ipPart, toHex } from './fixtures.js';

// Each frame below was written to a pcap and checked with tshark (ip/tcp/udp check_checksum: Good).
const TSHARK_VERIFIED = {
  tcp: '02000000000202000000000108004500002d00004000400621d80af401050af402079c40005001020304000000005002faf0b790000068656c6c6f',
  udp: '0200000000020200000000010800450000221c4600004011dc6cc0a80001c0a800c714e90035000e243c627572726f77',
  icmp: '02000000000202000000000108004500002400004000400124c50a00010a0a00010b0800d9ba123400010001020304050607',
  udpWithOptions: '020000000002020000000001080046000021000000004011d1c50a0000010a0000029404000000010002000940d6ab',
};

test('builders produce the tshark-verified frames byte for byte', (t) => {
  const hello = new TextEncoder().encode('hello');
  t.is(toHex(buildTcpFrame({ src: '10.244.1.5', dst: '10.244.2.7', sport: 40000, dport: 80, seq: 0x01020304, ack: 0, tcpFlags: 0x02, window: 64240, ttl: 64, df: true, id: 0, payload: hello })), TSHARK_VERIFIED.tcp);
  t.is(toHex(buildUdpFrame({ src: '192.168.0.1', dst: '192.168.0.199', sport: 5353, dport: 53, ttl: 64, id: 0x1c46, payload: new TextEncoder().encode('burrow') })), TSHARK_VERIFIED.udp);
  t.is(toHex(buildIcmpEchoFrame({ src: '10.0.1.10', dst: '10.0.1.11', identifier: 0x1234, sequence: 1, ttl: 64, df: true, payload: fromHex('0001020304050607') })), TSHARK_VERIFIED.icmp);
  t.is(toHex(buildUdpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, options: Uint8Array.of(148, 4, 0, 0), payload: Uint8Array.of(0xab) })), TSHARK_VERIFIED.udpWithOptions);
});

test('padding goes after the IPv4 packet, outside its total length', (t) => {
  const frame = buildIpv4Frame({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 253, payload: Uint8Array.of(1, 2), padding: 24 });
  t.is(frame.length, 14 + 22 + 24);
  t.is(parseIpv4(frame, ETH_HLEN)?.totalLength, 22);
  t.deepEqual(frame.subarray(36), new Uint8Array(24));
});

test('IPIP frame: outer protocol 4, inner packet verbatim after the outer header', (t) => {
  const inner = ipPart(buildTcpFrame({ src: '10.244.1.5', dst: '10.244.2.7', sport: 1, dport: 2 }));
  const frame = buildIpipFrame({ src: '10.0.1.11', dst: '10.0.1.10', options: Uint8Array.of(1, 1, 1, 1), inner });
  const outer = parseIpv4(frame, ETH_HLEN);
  t.like(outer, { protocol: 4, headerLength: 24, totalLength: 24 + inner.length });
  t.deepEqual(frame.subarray(ETH_HLEN + 24), inner);
  t.true(ipv4HeaderChecksumValid(frame, ETH_HLEN));
});

test('VXLAN frame: UDP to 4789 with checksum 0, VXLAN, inner Ethernet, inner packet', (t) => {
  const inner = ipPart(buildTcpFrame({ src: '10.244.1.5', dst: '10.244.2.7', sport: 1, dport: 2 }));
  const frame = buildVxlanFrame({ src: '10.0.1.11', dst: '10.0.1.10', sport: 33333, vni: 77, innerEthDst: '66:00:00:00:00:0a', innerEthSrc: '66:00:00:00:00:0b', inner });
  const udp = ETH_HLEN + 20;
  t.like(parseUdp(frame, udp), { sport: 33333, dport: 4789, checksum: 0, length: 8 + 8 + 14 + inner.length });
  t.like(parseVxlan(frame, udp + 8), { vniValid: true, vni: 77 });
  t.like(parseEthernet(frame, udp + 16), { dst: '66:00:00:00:00:0a', src: '66:00:00:00:00:0b', etherType: 0x0800 });
  t.deepEqual(frame.subarray(udp + 30), inner);
  const computed = buildVxlanFrame({ src: '10.0.1.11', dst: '10.0.1.10', sport: 33333, vni: 77, udpChecksum: 'compute', inner });
  t.true(udpChecksumValid(computed.subarray(udp), '10.0.1.11', '10.0.1.10'));
  t.not(parseUdp(computed, udp)?.checksum, 0);
});

test('property: generated frames parse back to their plan, with valid checksums', (t) => {
  t.notThrows(() => fc.assert(fc.property(arbPacketPlan(), (plan) => {
    const frame = buildPacketFrame(plan);
    const ip = parseIpv4(frame, ETH_HLEN);
    if (ip === undefined) return false;
    const { src, dst, dscp, ecn, ttl, id, df, mf, fragOffset } = plan.ip;
    const fieldsMatch = ip.src === src && ip.dst === dst && ip.dscp === dscp && ip.ecn === ecn && ip.ttl === ttl &&
      ip.id === id && ip.df === df && ip.mf === mf && ip.fragOffset === fragOffset && ip.ihl === 5 + Math.ceil(plan.ip.options.length / 4);
    const l4Start = ETH_HLEN + ip.headerLength;
    const segment = frame.subarray(l4Start, ETH_HLEN + ip.totalLength);
    let l4Ok = true;
    if (plan.l4.kind === 'tcp') l4Ok = tcpChecksumValid(segment, src, dst) && parseTcp(segment)?.sport === plan.l4.sport;
    if (plan.l4.kind === 'udp') l4Ok = udpChecksumValid(segment, src, dst) && parseUdp(segment)?.dport === plan.l4.dport;
    if (plan.l4.kind === 'icmp') l4Ok = checksumValid(segment);
    return fieldsMatch && l4Ok && ipv4HeaderChecksumValid(frame, ETH_HLEN) &&
      frame.length === ETH_HLEN + ip.totalLength + plan.padding;
  }), { numRuns: 1000 }));
});
