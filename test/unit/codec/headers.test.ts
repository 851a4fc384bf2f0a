import test from 'ava';
import {
  buildEthernet, buildIcmpEcho, buildIpv4Header, buildTcpSegment, buildUdpSegment, buildVxlan, cidrContains,
  ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP, ipv4ToNumber, macToBytes, numberToIpv4, parseCidr, parseEthernet,
  parseIcmpEcho, parseIpv4, parseTcp, parseUdp, parseVxlan, readMac, tcpChecksumValid, udpChecksumValid,
} from '../../../src/codec/index.js';
import { fromHex, toHex } from './fixtures.js';

test('addresses: dotted strings round-trip through numbers; bad ones throw', (t) => {
  t.is(ipv4ToNumber('10.244.2.7'), 0x0af40207);
  t.is(ipv4ToNumber('255.255.255.255'), 0xffffffff);
  t.is(numberToIpv4(0xc0a800c7), '192.168.0.199');
  for (const bad of ['10.0.0', '10.0.0.256', '10.0.0.01', '10.0.0.-1', 'a.b.c.d', '']) {
    t.throws(() => ipv4ToNumber(bad), { instanceOf: TypeError }, bad);
  }
});

test('MACs: "aa:bb:.." ↔ bytes, lower case out; bad ones throw', (t) => {
  t.deepEqual(macToBytes('66:00:AB:cd:0e:ff'), Uint8Array.of(0x66, 0, 0xab, 0xcd, 0x0e, 0xff));
  t.is(readMac(Uint8Array.of(0x66, 0, 0xab, 0xcd, 0x0e, 0xff)), '66:00:ab:cd:0e:ff');
  t.throws(() => macToBytes('66:00:ab:cd:0e'), { instanceOf: TypeError });
  t.throws(() => macToBytes('66-00-ab-cd-0e-ff'), { instanceOf: TypeError });
});

test('CIDRs: host bits cleared, /0 contains everything, /32 one address', (t) => {
  t.deepEqual(parseCidr('10.244.2.7/26'), { network: ipv4ToNumber('10.244.2.0'), prefixLength: 26 });
  t.true(cidrContains(parseCidr('0.0.0.0/0'), 0xffffffff));
  t.true(cidrContains(parseCidr('10.0.1.10/32'), ipv4ToNumber('10.0.1.10')));
  t.false(cidrContains(parseCidr('10.0.1.10/32'), ipv4ToNumber('10.0.1.11')));
  t.false(cidrContains(parseCidr('10.244.2.0/26'), ipv4ToNumber('10.244.2.64')));
  t.throws(() => parseCidr('10.0.0.0/33'));
  t.throws(() => parseCidr('10.0.0.0'));
});

test('Ethernet: IPv4 recognised; 802.1Q and 802.1ad tags are "not IPv4"', (t) => {
  const ipv4 = buildEthernet({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01' });
  t.is(toHex(ipv4), 'ffffffffffff0200000000010800');
  t.like(parseEthernet(ipv4), { dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', etherType: 0x0800, isIpv4: true, vlanTagged: false });
  for (const tpid of [ETH_P_8021Q, ETH_P_8021AD]) {
    t.like(parseEthernet(buildEthernet({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', etherType: tpid })), { isIpv4: false, vlanTagged: true });
  }
  t.like(parseEthernet(buildEthernet({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', etherType: ETH_P_ARP })), { isIpv4: false, vlanTagged: false });
  t.is(parseEthernet(new Uint8Array(13)), undefined);
});

test('IPv4: build → parse round trip with options, fragment fields, DSCP/ECN', (t) => {
  const options = Uint8Array.of(148, 4, 0, 0, 1, 1, 1); // router alert + 3 NOPs, padded to 8
  const header = buildIpv4Header({
    src: '10.0.1.10', dst: '10.0.2.10', protocol: 4, dscp: 46, ecn: 1, ttl: 1, id: 0xbeef, mf: true, fragOffset: 8191, options,
  }, 100);
  t.is(header.length, 28);
  const ip = parseIpv4(header);
  t.like(ip, {
    version: 4, ihl: 7, headerLength: 28, tos: 0xb9, dscp: 46, ecn: 1, totalLength: 128, id: 0xbeef, df: false, mf: true,
    fragOffset: 8191, ttl: 1, protocol: 4, src: '10.0.1.10', dst: '10.0.2.10', isFragment: true,
  });
  t.deepEqual(ip?.options, Uint8Array.of(148, 4, 0, 0, 1, 1, 1, 0));
  t.is(parseIpv4(header.subarray(0, 19)), undefined);
});

test('IPv4: overrides write bad version/IHL/total length/checksum as asked', (t) => {
  const header = buildIpv4Header({ src: '1.2.3.4', dst: '5.6.7.8', protocol: 6, version: 6, ihl: 3, totalLength: 7, checksum: 0x1234 }, 0);
  t.like(parseIpv4(header), { version: 6, ihl: 3, totalLength: 7, checksum: 0x1234 });
  t.throws(() => buildIpv4Header({ src: '1.2.3.4', dst: '5.6.7.8', protocol: 6, options: new Uint8Array(41) }, 0), { instanceOf: RangeError });
});

test('UDP: header fields, pseudo-header checksum, 0 → 0xffff, zero mode', (t) => {
  // Checksum 0x243c verified with tshark (udp.check_checksum) for 192.168.0.1:5353 → 192.168.0.199:53 "burrow".
  const seg = buildUdpSegment({ sport: 5353, dport: 53 }, new TextEncoder().encode('burrow'), '192.168.0.1', '192.168.0.199');
  t.is(toHex(seg), '14e90035000e243c627572726f77');
  t.deepEqual(parseUdp(seg), { sport: 5353, dport: 53, length: 14, checksum: 0x243c });
  t.true(udpChecksumValid(seg, '192.168.0.1', '192.168.0.199'));
  t.false(udpChecksumValid(seg, '192.168.0.2', '192.168.0.199'));
  const zero = buildUdpSegment({ sport: 1, dport: 2, checksum: 'zero' }, new Uint8Array(3), '1.1.1.1', '2.2.2.2');
  t.is(parseUdp(zero)?.checksum, 0);
  t.true(udpChecksumValid(zero, '9.9.9.9', '2.2.2.2'));
});

test('TCP: pseudo-header checksum matches tshark-verified value', (t) => {
  const seg = buildTcpSegment({ sport: 40000, dport: 80, seq: 0x01020304, flags: 0x02, window: 64240 }, new TextEncoder().encode('hello'), '10.244.1.5', '10.244.2.7');
  t.is(toHex(seg), '9c40005001020304000000005002faf0b790000068656c6c6f');
  t.like(parseTcp(seg), { sport: 40000, dport: 80, seq: 0x01020304, dataOffset: 5, flags: 2, window: 64240, checksum: 0xb790 });
  t.true(tcpChecksumValid(seg, '10.244.1.5', '10.244.2.7'));
  t.false(tcpChecksumValid(seg, '10.244.1.5', '10.244.2.8'));
});

test('ICMP echo: checksum matches tshark-verified value', (t) => {
  const msg = buildIcmpEcho({ identifier: 0x1234, sequence: 1 }, fromHex('0001020304050607'));
  t.is(toHex(msg), '0800d9ba123400010001020304050607');
  t.deepEqual(parseIcmpEcho(msg), { type: 8, code: 0, checksum: 0xd9ba, identifier: 0x1234, sequence: 1 });
});

test('VXLAN: I flag, 24-bit VNI, reserved bytes zero; VNI written as its low 24 bits', (t) => {
  t.is(toHex(buildVxlan({ vni: 4096 })), '0800000000100000');
  t.is(toHex(buildVxlan({ vni: 0x1abcdef })), '08000000abcdef00');
  t.deepEqual(parseVxlan(fromHex('0800000000100000')), { flags: 8, vniValid: true, vni: 4096, reserved1: 0, reserved2: 0 });
  t.like(parseVxlan(fromHex('f7ffffff123456ff')), { vniValid: false, vni: 0x123456, reserved1: 0xffffff, reserved2: 0xff });
  t.is(parseVxlan(new Uint8Array(7)), undefined);
});
