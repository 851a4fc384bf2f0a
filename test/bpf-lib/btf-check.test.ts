// The layout check against BTF descriptions, on hand-made BTF (the kernel-backed half is in
// collection.test.ts): a codec with a field in the wrong place is refused with a message naming
// the struct, the field and both offsets.
import test from 'ava';

import {
  burrowRoute, burrowStatEnum, checkEnum, checkLayouts, checkStruct, LayoutMismatchError, pad, struct, u16, u32, u8,
  ipv4, mac, type BtfStruct,
} from '../../src/bpf/index.js';

const routeBtf: BtfStruct = {
  name: 'burrow_route',
  size: 20,
  members: [
    { name: 'mode', offset: 0, size: 1 },
    { name: 'flags', offset: 1, size: 1 },
    { name: 'pool', offset: 2, size: 2 },
    { name: 'remote', offset: 4, size: 4 },
    { name: 'vni', offset: 8, size: 4 },
    { name: 'vtep_mac', offset: 12, size: 6 },
    { name: '_pad', offset: 18, size: 2 },
  ],
};

test('the real burrow_route codec passes against its BTF', (t) => {
  t.notThrows(() => checkStruct(burrowRoute, routeBtf));
});

test('a field declared in the wrong place is reported with struct, field, BTF and codec offsets', (t) => {
  const swapped = struct('burrow_route', {
    mode: u8, flags: u8, pool: u16, vni: u32, remote: ipv4, vtep_mac: mac, _pad: pad(2),
  });
  const e = t.throws(() => checkStruct(swapped, routeBtf, 'x.bpf.o'), { instanceOf: LayoutMismatchError });
  t.is(e.typeName, 'struct burrow_route');
  t.is(e.field, 'remote');
  t.is(e.expected, 4);
  t.is(e.actual, 8);
  t.regex(e.message, /struct burrow_route in x\.bpf\.o does not match/);
  t.regex(e.message, /field 'remote': BTF offset 4, codec offset 8/);
  t.regex(e.message, /field 'vni': BTF offset 8, codec offset 4/);
});

test('missing fields, extra fields, size and overlapping padding are all reported', (t) => {
  const short = struct('burrow_route', { mode: u8, flags: u8, pool: u16, remote: ipv4, vni: u32, extra: u32 });
  const e = t.throws(() => checkStruct(short, routeBtf), { instanceOf: LayoutMismatchError });
  const kinds = e.problems.map((p) => `${p.what}:${p.field}`).sort();
  t.deepEqual(kinds, ['missing-in-btf:extra', 'missing-in-codec:_pad', 'missing-in-codec:vtep_mac', 'size:']);
  const overlap = struct('burrow_route', { mode: u8, flags: u8, hole: pad(2), remote: ipv4, vni: u32, vtep_mac: mac, _pad: pad(2) });
  const o = t.throws(() => checkStruct(overlap, routeBtf), { instanceOf: LayoutMismatchError });
  t.true(o.problems.some((p) => p.what === 'overlap' && p.field === 'hole' && p.expected === "'pool'"));
});

test('enum tables are compared both ways, by value', (t) => {
  const values = Object.entries(burrowStatEnum.values).map(([n, v]) => ({ name: `BURROW_STAT_${n.toUpperCase()}`, value: v }));
  const btf = { name: 'burrow_stat', size: 4, values: [...values, { name: 'BURROW_STAT__MAX', value: values.length }] };
  t.notThrows(() => checkEnum(burrowStatEnum, btf));
  // A counter inserted in C before drop_ecn shifts every later index: the TS list must follow.
  const shifted = btf.values.map((v) => (v.value >= 11 && v.name !== 'BURROW_STAT__MAX' ? { ...v, value: v.value + 1 } : v));
  shifted.push({ name: 'BURROW_STAT_DROP_NEW', value: 11 });
  const e = t.throws(() => checkEnum(burrowStatEnum, { ...btf, values: shifted }), { instanceOf: LayoutMismatchError });
  t.true(e.problems.some((p) => p.field === 'BURROW_STAT_DROP_NEW' && p.what === 'missing-in-codec'));
  t.true(e.problems.some((p) => p.field === 'BURROW_STAT_DROP_ECN' && p.expected === 12 && p.actual === 11));
});

test('checkLayouts checks only what the BTF has and reports every mismatch at once', (t) => {
  const src = { btfStruct: (n: string) => (n === 'burrow_route' ? routeBtf : null), btfEnum: () => null };
  t.deepEqual(checkLayouts(src, { structs: [burrowRoute] }, 'o').structs, ['burrow_route']);
  const wrong = struct('burrow_route', { mode: u8, flags: u8, pool: u16, remote: ipv4, vni: u32, vtep_mac: mac, _pad: pad(2), more: u32 });
  t.throws(() => checkLayouts(src, { structs: [wrong] }, 'o'), { message: /field 'more'/ });
});
