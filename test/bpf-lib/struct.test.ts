// Struct codecs: byte order, addresses, computed layout, refused implicit padding, and the burrow.h
// declarations' sizes and offsets (pure: no kernel needed).
import test from 'ava';
import fc from 'fast-check';

import {
  ErrInvalid,
  array, be16, be32, burrowConfig, burrowPeer, burrowRoute, burrowRouteKey, burrowStatValue, bytes, decode,
  encode, ipv4, mac, pad, struct, u16, u32, u64, u8,
} from '../../src/bpf/index.js';

test('integers are host order (little-endian here), be16/be32 network order', (t) => {
  t.deepEqual([...encode(u16, 0x1234)], [0x34, 0x12]);
  t.deepEqual([...encode(u32, 0x01020304)], [4, 3, 2, 1]);
  t.deepEqual([...encode(be16, 4789)], [0x12, 0xb5]);
  t.deepEqual([...encode(be32, 0x01020304)], [1, 2, 3, 4]);
  t.deepEqual([...encode(u64, 0x0102030405060708n)], [8, 7, 6, 5, 4, 3, 2, 1]);
  t.is(decode(be16, Buffer.from([0x12, 0xb5])), 4789);
  t.throws(() => encode(u8, 256), { instanceOf: ErrInvalid });
  t.throws(() => encode(u32, -1), { instanceOf: ErrInvalid });
  t.throws(() => encode(u32, 1.5), { instanceOf: ErrInvalid });
});

test('ipv4 is stored as on the wire; mac as six bytes; bad text is refused', (t) => {
  t.deepEqual([...encode(ipv4, '10.0.1.200')], [10, 0, 1, 200]);
  t.is(decode(ipv4, Buffer.from([192, 168, 0, 1])), '192.168.0.1');
  t.deepEqual([...encode(mac, '66:0A:bc:00:01:ff')], [0x66, 0x0a, 0xbc, 0x00, 0x01, 0xff]);
  t.is(decode(mac, Buffer.from([0x66, 0x0a, 0xbc, 0, 1, 0xff])), '66:0a:bc:00:01:ff');
  for (const bad of ['10.0.0', '256.0.0.1', '1.2.3.4.5', 'a.b.c.d', '']) t.throws(() => encode(ipv4, bad), { instanceOf: ErrInvalid });
  t.throws(() => encode(mac, '66:0a:bc:00:01'), { instanceOf: ErrInvalid });
});

test('struct offsets follow the field list; padding is written as zeros and not decoded', (t) => {
  const s = struct('demo', { a: u8, _pad: pad(1), b: u16, c: u32, d: array(u16, 2), e: bytes(4) });
  t.is(s.size, 16);
  t.deepEqual(s.fields.map((f) => [f.name, f.offset]), [['a', 0], ['_pad', 1], ['b', 2], ['c', 4], ['d', 8], ['e', 12]]);
  const buf = Buffer.alloc(16, 0xff);
  s.write({ a: 1, b: 2, c: 3, d: [4, 5], e: Buffer.from([6, 7, 8, 9]) }, buf, 0);
  t.deepEqual([...buf], [1, 0, 2, 0, 3, 0, 0, 0, 4, 0, 5, 0, 6, 7, 8, 9]);
  t.deepEqual(s.decode(buf), { a: 1, b: 2, c: 3, d: [4, 5], e: Buffer.from([6, 7, 8, 9]) });
});

test('a declaration that C would pad is refused, naming the field and the fix', (t) => {
  const inner = t.throws(() => struct('bad', { a: u8, b: u32 }));
  t.regex(inner.message, /struct bad: field 'b' .* offset 1.* pad\(3\)/);
  const tail = t.throws(() => struct('bad_tail', { a: u32, b: u8 }));
  t.regex(tail.message, /struct bad_tail: 5 bytes .* alignment 4.* pad\(3\)/);
  t.notThrows(() => struct('packed', { a: u8, b: u32 }, { packed: true }));
});

test('encode errors name the struct and the field', (t) => {
  const e = t.throws(() => burrowRoute.encode({ mode: 1, flags: 0, pool: 0, remote: '1.2.3', vni: 1, vtep_mac: '00:00:00:00:00:00' }));
  t.regex(e.message, /^burrow_route\.remote: /);
  const missing = t.throws(() => burrowPeer.encode({ modes: 1 } as never));
  t.is(missing.message, 'burrow_peer.vni: missing');
});

// The same numbers as `pahole` on burrow.h / the BTF of a compiled object.
const layouts = [
  { codec: burrowRouteKey, size: 8, offsets: { prefixlen: 0, addr: 4 } },
  { codec: burrowRoute, size: 20, offsets: { mode: 0, flags: 1, pool: 2, remote: 4, vni: 8, vtep_mac: 12, _pad: 18 } },
  { codec: burrowPeer, size: 8, offsets: { modes: 0, _pad: 1, vni: 4 } },
  {
    codec: burrowConfig,
    size: 52,
    offsets: {
      local_ip: 0, uplink_ifindex: 4, uplink_mac: 8, vtep_mac: 14, vxlan_port: 20, ttl: 22, _pad0: 23, default_vni: 24, uplink_mtu: 28, _pad1: 30, flags: 32, mss_ipip: 36, mss_vxlan: 38,
      gro_ifindex: 40, tunnel_mac: 44, _pad2: 50,
    },
  },
  { codec: burrowStatValue, size: 16, offsets: { packets: 0, bytes: 8 } },
];
for (const { codec, size, offsets } of layouts) {
  test(`struct ${codec.cName} is ${size} bytes with burrow.h's offsets`, (t) => {
    t.is(codec.size, size);
    t.deepEqual(Object.fromEntries(codec.fields.map((f) => [f.name, f.offset])), offsets);
  });
}

test('burrow_route round-trips any valid value (property)', (t) => {
  const octet = fc.integer({ min: 0, max: 255 });
  const route = fc.record({
    mode: fc.integer({ min: 0, max: 255 }),
    flags: fc.integer({ min: 0, max: 255 }),
    pool: fc.integer({ min: 0, max: 0xffff }),
    remote: fc.tuple(octet, octet, octet, octet).map((o) => o.join('.')),
    vni: fc.integer({ min: 0, max: 0xffffffff }),
    vtep_mac: fc.array(octet, { minLength: 6, maxLength: 6 }).map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':')),
  });
  fc.assert(
    fc.property(route, (r) => {
      const bytes = burrowRoute.encode(r);
      t.is(bytes.length, 20);
      t.is(bytes.readUInt16LE(18), 0); // the explicit padding stays zero
      t.deepEqual(burrowRoute.decode(bytes), r);
    }),
  );
});
