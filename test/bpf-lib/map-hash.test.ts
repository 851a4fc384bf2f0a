// HASH maps against the kernel: CRUD, update flags and their named errors, iteration, batches.
import { ErrKeyExist, ErrKeyNotExist, ErrMapFull, BpfMap, ipv4, burrowPeer } from '../../src/bpf/index.js';
import { privileged } from '../helpers/privileged.js';

// ava compares Maps and Sets in order; the kernel's order is its own.
function sorted<T>(rows: readonly (readonly [string, T])[]): [string, T][] {
  return rows.map(([k, v]): [string, T] => [k, v]).sort(([a], [b]) => a.localeCompare(b));
}

function peers(max = 8) {
  return BpfMap.create({ type: 'hash', key: ipv4, value: burrowPeer, maxEntries: max, name: 'test_peers' });
}

privileged('hash: set, get, overwrite, delete', (t) => {
  const m = peers();
  t.teardown(() => m.close());
  t.is(m.get('10.0.0.1'), undefined);
  m.set('10.0.0.1', { modes: 1, vni: 4096 });
  t.deepEqual(m.get('10.0.0.1'), { modes: 1, vni: 4096 });
  m.set('10.0.0.1', { modes: 3, vni: 7 });
  t.deepEqual(m.get('10.0.0.1'), { modes: 3, vni: 7 });
  t.true(m.delete('10.0.0.1'));
  t.false(m.delete('10.0.0.1'));
  t.is(m.get('10.0.0.1'), undefined);
  t.like(m.info, { typeName: 'hash', keySize: 4, valueSize: 8, maxEntries: 8, name: 'test_peers' });
  t.true(m.info.id > 0);
});

privileged('hash: NOEXIST on a present key is ErrKeyExist, EXIST on an absent one ErrKeyNotExist', (t) => {
  const m = peers();
  t.teardown(() => m.close());
  m.set('10.0.0.1', { modes: 1, vni: 1 }, 'noexist');
  const e1 = t.throws(() => m.set('10.0.0.1', { modes: 2, vni: 2 }, 'noexist'), { instanceOf: ErrKeyExist });
  t.is(e1.code, 'EEXIST');
  const e2 = t.throws(() => m.set('10.0.0.2', { modes: 2, vni: 2 }, 'exist'), { instanceOf: ErrKeyNotExist });
  t.is(e2.code, 'ENOENT');
  m.set('10.0.0.1', { modes: 2, vni: 2 }, 'exist');
  t.deepEqual(m.get('10.0.0.1'), { modes: 2, vni: 2 }, 'the refused updates changed nothing, the EXIST one did');
  t.is(m.get('10.0.0.2'), undefined);
});

privileged('hash: a new key in a full map is ErrMapFull; replacing a present one still works', (t) => {
  const m = peers(2);
  t.teardown(() => m.close());
  m.set('10.0.0.1', { modes: 1, vni: 1 });
  m.set('10.0.0.2', { modes: 1, vni: 2 });
  t.throws(() => m.set('10.0.0.3', { modes: 1, vni: 3 }), { instanceOf: ErrMapFull });
  t.notThrows(() => m.set('10.0.0.2', { modes: 2, vni: 2 }));
});

privileged('hash: keys() and entries() visit every entry exactly once', (t) => {
  const m = peers(64);
  t.teardown(() => m.close());
  const want = new Map(Array.from({ length: 40 }, (_, i) => [`10.1.${i}.1`, { modes: (i % 3) + 1, vni: 1000 + i }]));
  for (const [k, v] of want) m.set(k, v);
  const keys = [...m.keys()];
  t.is(keys.length, 40);
  t.deepEqual(keys.sort(), [...want.keys()].sort());
  t.deepEqual(sorted([...m.entries()]), sorted([...want]));
});

privileged('hash: batch update, lookup and delete use the kernel batch ops', (t) => {
  const m = peers(512);
  t.teardown(() => m.close());
  const entries = Array.from({ length: 300 }, (_, i) => [`10.2.${i >> 8}.${i & 255}`, { modes: 1, vni: i }] as const);
  t.is(m.setBatch(entries), 300);
  // A batch smaller than the map forces several cursor steps.
  const got = m.entriesBatch({ batchSize: 64 });
  t.is(got.length, 300);
  t.deepEqual(sorted(got), sorted(entries));
  t.is(m.deleteBatch(entries.slice(0, 100).map(([k]) => k)), 100);
  t.is([...m.keys()].length, 200);
  t.deepEqual(m.batchSupport, { update: true, lookup: true, delete: true });
  t.throws(() => m.setBatch([[entries[150]![0], { modes: 9, vni: 9 }]], 'noexist'), { instanceOf: ErrKeyExist });
});
