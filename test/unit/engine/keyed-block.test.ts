// The etcd source hands IPAM affinity keys to the store as 'block' events (keyedBlockOf) instead
// of BlockAffinity documents: whatever key and value, the store must end up exactly as if the
// document had been upserted (documentOf + errorsAlone, the path for everything else) — same
// records, same diagnostics — and keys the fast path declines must be the ones that need it.
import test from 'ava';
import fc from 'fast-check';

import { errorsAlone } from '../../../src/engine/datastore.js';
import { documentOf, ETCD_SOURCE, etcdKeyOf, keyedBlockOf, storeKeyOf } from '../../../src/engine/etcd-source.js';
import type { SourceEvent } from '../../../src/engine/events.js';
import { ResourceStore } from '../../../src/engine/store.js';

const SOURCE = ETCD_SOURCE;
const POOL = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', blockSize: 26 } };
const NODE = (name: string) => ({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address: '192.168.0.1/24' } } });

/** The store after the pool, one node and the affinity, through the given event. */
function storeWith(affinity: SourceEvent | undefined): { blocks: unknown[]; diagnostics: string[] } {
  const s = new ResourceStore();
  const events: SourceEvent[] = [
    { type: 'upsert', source: SOURCE, key: '/calico/resources/v3/projectcalico.org/ippools/p', document: { loc: { file: '/p', document: 1, prefix: [] }, value: POOL } },
    { type: 'upsert', source: SOURCE, key: '/calico/resources/v3/projectcalico.org/nodes/n1', document: { loc: { file: '/n', document: 1, prefix: [] }, value: NODE('n1') } },
  ];
  if (affinity) events.push(affinity);
  s.apply(events);
  const blocks = [...s.blocksOf('n1'), ...s.blocksOf('n.2')].map((b) => ({ name: b.name, node: b.node, addr: b.addr, prefix: b.prefix, active: b.active, loc: b.loc, own: b.own.map((d) => d.message) }));
  return { blocks, diagnostics: [...s.book.all()].map((d) => `${d.file} ${d.path} ${d.rule} ${d.message}`) };
}

const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom('010', '256', '-1', ''));
const odd = fc.tuple(octet, octet, octet, octet, fc.oneof(fc.integer({ min: 0, max: 33 }).map(String), fc.constantFrom('026', 'x', ''))).map(
  ([a, b, c, d, p]) => `${a}.${b}.${c}.${d}${p === '' ? '' : `-${p}`}`,
);
/** Mostly well-formed networks (in the pool or not), some with host bits set. */
const network = fc.tuple(fc.oneof(fc.integer({ min: 0x0a000000, max: 0x0a00ffff }), fc.integer({ min: 0, max: 0xffffffff })), fc.integer({ min: 0, max: 32 }), fc.boolean()).map(
  ([addr, prefix, masked]) => {
    const a = masked ? (prefix === 0 ? 0 : (addr & (0xffffffff << (32 - prefix))) >>> 0) : addr;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}-${prefix}`;
  },
);
const cidrPart = fc.oneof({ arbitrary: network, weight: 4 }, { arbitrary: odd, weight: 1 });
const nodeName = fc.constantFrom('n1', 'n.2', 'N1', 'n_1', '-n1', 'n1-', 'host', 'virtual', 'n1/x', '');
const key = fc.tuple(fc.constantFrom('host/', 'virtual/', ''), nodeName, fc.constantFrom('4', '4', '4', '6'), cidrPart).map(
  ([type, n, v, c]) => `/calico/ipam/v2/${type}${n}/ipv${v}/block/${c}`,
);
const value = fc.oneof(
  fc.constantFrom('', '{"state":"confirmed","deleted":false}', '{"state":"confirmed"}', '{"state":"pending","deleted":false}', '{"state":"confirmed","deleted":true}',
    '{"state":"pendingDeletion"}', '{"state":"bogus"}', '{"deleted":"yes"}', '{', 'null', '7', '[]', '{"state":1}'),
  fc.record({ state: fc.constantFrom('confirmed', 'pending', 'pendingDeletion', 'x'), deleted: fc.constantFrom(true, false, 'true', 0) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
);

/** The document path, as the source takes it when keyedBlockOf declines. */
function viaDocument(k: string, v: string): SourceEvent | undefined {
  const { document } = documentOf(k, v);
  if (!document || errorsAlone(document).length > 0) return undefined;
  return { type: 'upsert', source: SOURCE, key: storeKeyOf(k), document };
}

test('a block event leaves the store as the affinity document would, for any key and value', (t) => {
  let fast = 0;
  fc.assert(
    fc.property(key, value, (k, v) => {
      const block = keyedBlockOf(k, v);
      const slow = storeWith(viaDocument(k, v));
      if (!block) return true;
      fast++;
      const quick = storeWith({ type: 'block', source: SOURCE, key: storeKeyOf(k), block });
      t.deepEqual(quick, slow, `${k} = ${v}`);
      return true;
    }),
    { numRuns: 3000 },
  );
  t.true(fast > 100, `the fast path was taken ${fast} times`);
});

test('the fast path takes the keys calico-node writes and declines the ones with something to report', (t) => {
  const b = keyedBlockOf('/calico/ipam/v2/host/node-b/ipv4/block/10.0.1.0-26', '{"state":"confirmed","deleted":false}');
  t.deepEqual(b && { ...b }, { named: true, node: 'node-b', addr: 0x0a000100, prefix: 26, active: true });
  t.false(keyedBlockOf('/calico/ipam/v2/virtual/node-b/ipv4/block/10.0.1.0-26', '')!.named, 'another layout: keyed by its etcd key');
  t.is(keyedBlockOf('/calico/ipam/v2/node-b/ipv4/block/10.0.1.0-26', '{"state":"pending"}')?.active, false, 'pending: held, not routed');
  t.is(keyedBlockOf('/calico/ipam/v2/host/node-b/ipv4/block/10.0.1.0-26', '{"deleted":true}')?.active, false);
  t.is(keyedBlockOf('/calico/ipam/v2/host/node-b/ipv4/block/10.0.1.1-26', ''), undefined, 'host bits set: the document path reports it');
  t.is(keyedBlockOf('/calico/ipam/v2/host/node-b/ipv4/block/10.0.1.0-26', '{'), undefined, 'not JSON: reported and skipped');
  t.is(keyedBlockOf('/calico/ipam/v2/host/node-b/ipv6/block/fd00--122', ''), undefined, 'IPv6: not ours');
  t.is(keyedBlockOf('/calico/resources/v3/projectcalico.org/nodes/node-b', '{}'), undefined);
});

test('the store key of an etcd key leads back to it, and no two keys share one', (t) => {
  const seen = new Map<string, string>();
  fc.assert(
    fc.property(key, (k) => {
      const sk = storeKeyOf(k);
      t.is(etcdKeyOf(sk), k, sk);
      const other = seen.get(sk);
      if (other !== undefined) t.is(other, k, `${other} and ${k} share ${sk}`);
      seen.set(sk, k);
      return true;
    }),
    { numRuns: 3000 },
  );
  t.is(storeKeyOf('/calico/ipam/v2/host/node-b/ipv4/block/10.0.1.0-26'), 'node-b-10-0-1-0-26', 'the usual layout: its name');
  t.is(storeKeyOf('/calico/ipam/v2/host/host/ipv4/block/10.0.1.0-26'), 'host-10-0-1-0-26');
  t.is(storeKeyOf('/calico/ipam/v2/host/ipv4/block/10.0.1.0-26'), '/calico/ipam/v2/host/ipv4/block/10.0.1.0-26', 'the old layout (node "host") keeps its key');
  t.is(storeKeyOf('/calico/ipam/v2/virtual/node-b/ipv4/block/10.0.1.0-26'), '/calico/ipam/v2/virtual/node-b/ipv4/block/10.0.1.0-26');
  t.true([...seen.keys()].some((sk) => !sk.startsWith('/')), 'some keys were keyed by name');
});

test('a relist\'s retain drops exactly the objects whose keys it did not read, and changes nothing when all are there', (t) => {
  const s = new ResourceStore();
  const base: SourceEvent[] = [
    { type: 'upsert', source: SOURCE, key: '/calico/resources/v3/projectcalico.org/ippools/p', document: { loc: { file: '/p', document: 1, prefix: [] }, value: POOL } },
    { type: 'upsert', source: SOURCE, key: '/calico/resources/v3/projectcalico.org/nodes/n1', document: { loc: { file: '/n', document: 1, prefix: [] }, value: NODE('n1') } },
  ];
  const keys = ['10.0.0.0-26', '10.0.0.64-26', '10.0.0.128-26'].map((c) => `/calico/ipam/v2/host/n1/ipv4/block/${c}`);
  s.apply([...base, ...keys.map((k): SourceEvent => ({ type: 'block', source: SOURCE, key: storeKeyOf(k), block: keyedBlockOf(k, '')! }))]);
  const blocks = () => [...s.blocksOf('n1')].map((b) => b.loc.file).sort();
  t.deepEqual(blocks(), [...keys].sort());
  const all = new Set([...base.map((e) => (e as { key: string }).key), ...keys.map(storeKeyOf)]);
  const none = s.apply([{ type: 'retain', source: SOURCE, keys: all }]);
  t.is(none.blockKeys.size, 0, 'every key read again: nothing changes');
  t.is(none.nodes.size, 0);
  all.delete(storeKeyOf(keys[1]!));
  const changes = s.apply([{ type: 'retain', source: SOURCE, keys: all }]);
  t.deepEqual(blocks(), [keys[0], keys[2]].sort(), 'the block not read again is gone');
  t.is(changes.blockKeys.size, 1);
  t.not(s.node('n1'), undefined, 'the node read again stays');
});

test('any sequence of puts, deletes and relists over the same keys leaves the store as the last values read afresh would', (t) => {
  // Blocks keyed by their name are held in the name index, not the source's parts (the store's
  // SourceState.named): a key that moves between the fast path and the document path, is deleted,
  // dropped by a relist, or put twice must still be found, replaced and counted once.
  const blockKey = fc.tuple(fc.constantFrom('host/', 'host/', 'virtual/'), fc.constantFrom('n1', 'n.2'), fc.constantFrom('10.0.0.0-26', '10.0.0.64-26', '10.0.0.64-27', '10.9.0.0-26'))
    .map(([type, n, c]) => `/calico/ipam/v2/${type}${n}/ipv4/block/${c}`);
  type Op = { op: 'put'; key: string; value: string } | { op: 'delete'; key: string } | { op: 'relist'; drop: string[] };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('put' as const), key: blockKey, value }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: blockKey }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('relist' as const), drop: fc.array(blockKey, { maxLength: 3 }) }) },
  );
  const base: SourceEvent[] = [
    { type: 'upsert', source: SOURCE, key: '/calico/resources/v3/projectcalico.org/ippools/p', document: { loc: { file: '/p', document: 1, prefix: [] }, value: POOL } },
    { type: 'upsert', source: SOURCE, key: '/calico/resources/v3/projectcalico.org/nodes/n1', document: { loc: { file: '/n', document: 1, prefix: [] }, value: NODE('n1') } },
  ];
  const eventOf = (k: string, v: string): SourceEvent | undefined => {
    const block = keyedBlockOf(k, v);
    return block ? { type: 'block', source: SOURCE, key: storeKeyOf(k), block } : viaDocument(k, v);
  };
  const view = (s: ResourceStore) => ({
    blocks: [...s.blocksOf('n1'), ...s.blocksOf('n.2')].map((b) => `${b.name} ${b.node} ${b.addr} ${b.prefix} ${b.active} ${b.loc.file}`).sort(),
    diagnostics: [...s.book.all()].map((d) => `${d.file} ${d.path} ${d.rule} ${d.message}`).sort(),
  });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const s = new ResourceStore();
      s.apply(base);
      const live = new Map<string, string>();
      for (const o of ops) {
        if (o.op === 'put') {
          const e = eventOf(o.key, o.value);
          if (!e) continue; // the source skips it and reports it alone
          live.set(o.key, o.value);
          s.apply([e]);
        } else if (o.op === 'delete') {
          live.delete(o.key);
          s.apply([{ type: 'delete', source: SOURCE, key: storeKeyOf(o.key) }]);
        } else {
          for (const k of o.drop) live.delete(k);
          const keys = new Set([...base.map((e) => (e as { key: string }).key), ...[...live.keys()].map(storeKeyOf)]);
          s.apply([{ type: 'retain', source: SOURCE, keys }]);
        }
      }
      const fresh = new ResourceStore();
      fresh.apply([...base, ...[...live].map(([k, v]) => eventOf(k, v)!)]);
      t.deepEqual(view(s), view(fresh));
      s.apply([{ type: 'remove', source: SOURCE }]);
      t.deepEqual(view(s), { blocks: [], diagnostics: [] }, 'the source removed: nothing left');
      return true;
    }),
    { numRuns: 400 },
  );
});
