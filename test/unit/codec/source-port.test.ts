import test from 'ava';
import fc from 'fast-check';
import {
  buildIpv4Frame, buildTcpFrame, buildUdpFrame, ETH_HLEN, flowHash, flowMix, fmix32, sourcePortOfHash, vxlanSourcePort,
} from '../../../src/codec/index.js';
import { arbIpv4Frame } from '../../arbitraries/index.js';

// An independent, deliberately plain implementation in BigInt (no Math.imul, no >>> 0), from the
// pseudo-code in docs/datapath.md.
const M32 = (1n << 32n) - 1n;
function fmixBig(v: bigint): bigint {
  let x = v & M32;
  x ^= x >> 16n; x = (x * 0x85ebca6bn) & M32;
  x ^= x >> 13n; x = (x * 0xc2b2ae35n) & M32;
  x ^= x >> 16n;
  return x;
}
function addressBig(a: string): bigint {
  return a.split('.').reduce((acc, part) => acc * 256n + BigInt(part), 0n);
}
function portBig(src: string, dst: string, protocol: number, ports: number): { mixed: bigint; hash: bigint; port: number } {
  const mixed = (0x165667b1n + addressBig(src) * 0x9e3779b1n + addressBig(dst) * 0x85ebca77n +
    BigInt(ports) * 0xc2b2ae3dn + BigInt(protocol) * 0x27d4eb2fn) & M32;
  const hash = fmixBig(mixed);
  return { mixed, hash, port: Number(32768n + ((hash * 28232n) >> 32n)) };
}

// Fixed vectors for the C side (computed apart from both implementations: the weighted sum before
// the finalizer, the hash after it, then the port).
const VECTORS: { name: string; src: string; dst: string; protocol: number; ports: number; mixed: number; hash: number; port: number }[] = [
  { name: 'TCP 10.244.1.5:40000 → 10.244.2.7:80', src: '10.244.1.5', dst: '10.244.2.7', protocol: 6, ports: 0x9c400050, mixed: 0xee20e691, hash: 0x261f6262, port: 36972 },
  { name: 'the same TCP flow as a fragment (ports 0)', src: '10.244.1.5', dst: '10.244.2.7', protocol: 6, ports: 0, mixed: 0x5b0a7381, hash: 0x6ce79fa3, port: 44778 },
  { name: 'UDP 10.0.0.1:1 → 10.0.0.2:2', src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, ports: 0x00010002, mixed: 0x292b70e9, hash: 0x7f605bd2, port: 46815 },
  { name: 'ICMP 10.244.1.5 → 10.244.2.7', src: '10.244.1.5', dst: '10.244.2.7', protocol: 1, ports: 0, mixed: 0x93e1db96, hash: 0x9fad1b61, port: 50377 },
  { name: 'all zero', src: '0.0.0.0', dst: '0.0.0.0', protocol: 0, ports: 0, mixed: 0x165667b1, hash: 0xbcf51837, port: 53606 },
  { name: 'all ones, SCTP', src: '255.255.255.255', dst: '255.255.255.255', protocol: 132, ports: 0xffffffff, mixed: 0xb949b988, hash: 0xe604bcef, port: 58134 },
];

for (const v of VECTORS) {
  test(`hash vector: ${v.name} → ${v.port}`, (t) => {
    const big = portBig(v.src, v.dst, v.protocol, v.ports);
    t.deepEqual([Number(big.mixed), Number(big.hash)], [v.mixed, v.hash], 'the independent implementation agrees with the fixed vector');
    t.is(big.port, v.port);
    t.is(flowMix({ src: v.src, dst: v.dst, protocol: v.protocol, ports: v.ports }), v.mixed);
    t.is(flowHash({ src: v.src, dst: v.dst, protocol: v.protocol, ports: v.ports }), v.hash);
    t.is(sourcePortOfHash(v.hash), v.port);
  });
}

test('fmix32: MurmurHash3 finalizer known values', (t) => {
  t.is(fmix32(0), 0);
  t.is(fmix32(0x9e3779b9 ^ 0x0af40105), 0x7399bbb8);
  t.is(fmix32(0x165667b1), 0xbcf51837);
});

test('vxlanSourcePort reads the flow from a frame (ports at 14 + IHL·4)', (t) => {
  const tcp = buildTcpFrame({ src: '10.244.1.5', dst: '10.244.2.7', sport: 40000, dport: 80 });
  t.is(vxlanSourcePort(tcp), 36972);
  t.is(vxlanSourcePort(tcp.subarray(ETH_HLEN), 0), 36972, 'a bare IPv4 packet at offset 0');
  const withOptions = buildTcpFrame({ src: '10.244.1.5', dst: '10.244.2.7', sport: 40000, dport: 80, options: Uint8Array.of(1, 1, 1, 1, 148, 4, 0, 0) });
  t.is(vxlanSourcePort(withOptions), 36972, 'options skipped via IHL');
  t.is(vxlanSourcePort(buildUdpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 })), 46815);
});

test('vxlanSourcePort: ports ignored for fragments (MF or offset), other protocols, and when cut off', (t) => {
  const base = { src: '10.244.1.5', dst: '10.244.2.7', sport: 40000, dport: 80 };
  t.is(vxlanSourcePort(buildTcpFrame({ ...base, mf: true })), 44778);
  t.is(vxlanSourcePort(buildTcpFrame({ ...base, fragOffset: 1 })), 44778);
  t.is(vxlanSourcePort(buildTcpFrame(base).subarray(0, ETH_HLEN + 20 + 3)), 44778, '3 port bytes present: not enough');
  t.is(vxlanSourcePort(buildTcpFrame(base).subarray(0, ETH_HLEN + 20 + 4)), 36972, '4 port bytes present: enough');
  t.is(vxlanSourcePort(buildIpv4Frame({ src: base.src, dst: base.dst, protocol: 1, payload: Uint8Array.of(0x9c, 0x40, 0, 0x50) })), 50377);
  t.throws(() => vxlanSourcePort(new Uint8Array(33)), { instanceOf: RangeError });
});

test('property: the port is in 32768–60999 and agrees with the BigInt implementation', (t) => {
  t.notThrows(() => fc.assert(fc.property(arbIpv4Frame(), (frame) => {
    const port = vxlanSourcePort(frame);
    const ihl = frame[ETH_HLEN]! & 0xf;
    const protocol = frame[ETH_HLEN + 9]!;
    const fragment = ((frame[ETH_HLEN + 6]! << 8) | frame[ETH_HLEN + 7]!) & 0x3fff;
    const l4 = ETH_HLEN + ihl * 4;
    const ports = [6, 17, 132].includes(protocol) && fragment === 0 && l4 + 4 <= frame.length
      ? ((frame[l4]! << 24) | (frame[l4 + 1]! << 16) | (frame[l4 + 2]! << 8) | frame[l4 + 3]!) >>> 0 : 0;
    const src = Array.from(frame.subarray(ETH_HLEN + 12, ETH_HLEN + 16)).join('.');
    const dst = Array.from(frame.subarray(ETH_HLEN + 16, ETH_HLEN + 20)).join('.');
    return port >= 32768 && port <= 60999 && port === portBig(src, dst, protocol, ports).port;
  }), { numRuns: 2000 }));
});

test('property: sourcePortOfHash maps every 32-bit value into 32768–60999', (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (h) => {
    const p = sourcePortOfHash(h);
    return p >= 32768 && p <= 60999 && p === 32768 + Number((BigInt(h) * 28232n) >> 32n);
  }));
  t.is(sourcePortOfHash(0), 32768);
  t.is(sourcePortOfHash(0xffffffff), 60999, 'the top of the range is reached');
});
