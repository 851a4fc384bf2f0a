// PackedTable (src/engine/packed-table.ts) against a Map of records: random sets, deletes and
// clears over keys that collide often and include packed route keys above 2^31 and 2^32 (where a
// careless hash or a 32-bit key store would merge them), so growth, rehashing, deleted cells and
// slot reuse are all exercised.
import test from 'ava';
import fc from 'fast-check';

import { PackedTable, packRouteKey } from '../../../src/engine/packed-table.js';

type Op = { op: 'set'; key: number; value: number; tag: number } | { op: 'delete'; key: number } | { op: 'clear' };

// Few addresses and prefixes, spread over the whole IPv4 space: keys repeat and cross 2^31 / 2^32.
const key = fc.tuple(fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xc0a80000, 0xffffffff, 0x0a000040), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 40 }))
  .map(([base, prefix, step]) => packRouteKey((base + step * 64) >>> 0, prefix));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 120, arbitrary: fc.record({ op: fc.constant('set' as const), key, value: fc.integer({ min: 0, max: 255 }), tag: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 60, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

test('PackedTable behaves as a Map of records (set, delete, clear, keys, tags, growth)', (t) => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 3000 }), fc.integer({ min: 1, max: 64 }), (ops, initial) => {
      const table = new PackedTable(3, initial);
      const ref = new Map<number, { value: number; tag: number }>();
      const rec = new Uint8Array(3);
      for (const o of ops) {
        if (o.op === 'set') {
          rec.set([o.value, o.value ^ 0xff, 7]);
          const before = ref.get(o.key);
          const changed = table.set(o.key, rec, 0, o.tag);
          if (changed !== !(before && before.value === o.value && before.tag === o.tag)) return false;
          ref.set(o.key, { value: o.value, tag: o.tag });
        } else if (o.op === 'delete') {
          if (table.delete(o.key) !== ref.delete(o.key)) return false;
        } else {
          table.clear();
          ref.clear();
        }
        if (table.size !== ref.size) return false;
      }
      for (const [k, v] of ref) {
        const got = table.get(k);
        if (!got || got[0] !== v.value || got[1] !== (v.value ^ 0xff) || table.tag(k) !== v.tag || !table.has(k)) return false;
      }
      const keys = table.keys();
      return keys.length === ref.size && new Set(keys).size === keys.length && keys.every((k) => ref.has(k));
    }),
    { numRuns: 300 },
  );
  t.is(new PackedTable(1).get(packRouteKey(0xffffffff, 32)), undefined);
});

test('PackedTable keeps 100k route keys apart and finds each, 64 of them per low 32 bits', (t) => {
  // Addresses 2^26 apart pack (× 64) to keys with the same low 32 bits: a table that hashed or
  // stored only those would fold 64 routes into one.
  const addrOf = (i: number) => (((i & 63) << 26) | ((i >>> 6) << 6)) >>> 0;
  const n = 64 * 1563;
  const table = new PackedTable(4, 16);
  const rec = new Uint8Array(4);
  const view = new DataView(rec.buffer);
  for (let i = 0; i < n; i++) {
    view.setUint32(0, i);
    table.set(packRouteKey(addrOf(i), 26), rec);
  }
  t.is(table.size, n);
  t.false(table.has(packRouteKey(addrOf(5), 25)));
  let wrong = 0;
  for (let i = 0; i < n; i++) {
    const got = table.get(packRouteKey(addrOf(i), 26));
    if (!got || new DataView(got.buffer, got.byteOffset, 4).getUint32(0) !== i) wrong++;
  }
  t.is(wrong, 0);
  for (let i = 0; i < n; i += 2) table.delete(packRouteKey(addrOf(i), 26));
  t.is(table.size, n / 2);
  t.is(new Set(table.keys()).size, n / 2);
  t.true(table.has(packRouteKey(addrOf(1), 26)));
  t.false(table.has(packRouteKey(addrOf(0), 26)));
});
