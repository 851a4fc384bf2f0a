// The etcdv3 datastore source against a real etcd (test/support/etcd.ts): Calico's key layout
// read into the incremental engine; a block affinity written → a route, deleted → gone; an object
// that fails its own rules is reported and skipped while the rest is followed (its last good
// version stays); etcd stopped and started again → the source relists and follows on.
import test, { type ExecutionContext } from 'ava';
import type { Etcd3 } from 'etcd3';

import { Engine } from '../../src/engine/engine.js';
import { documentOf, EtcdSource, rangeAll, readPrefixes } from '../../src/engine/etcd-source.js';
import { routeKeyText } from '../../src/engine/packed-table.js';
import { agentctl } from '../helpers/agentctl.js';
import { AFFINITY_CONFIRMED, affinityKey, TestEtcd } from '../support/etcd.js';
import { until } from '../helpers/wait.js';

const V3 = '/calico/resources/v3/projectcalico.org';
const json = (v: unknown) => JSON.stringify(v);
const pool = (name: string, cidr: string, spec: object = {}) => json({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name, uid: 'u', creationTimestamp: '2026-11-29T00:00:00Z' }, spec: { cidr, ipipMode: 'Always', ...spec } });
const node = (name: string, address: string) => json({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address: address } } });


/** A real etcd holding the default pool (192.168.0.0/16) and node-a, node-b; a client to it. */
async function etcdWithTwoNodes(t: ExecutionContext): Promise<{ etcd: TestEtcd; kv: Etcd3 }> {
  const etcd = await TestEtcd.create();
  t.teardown(() => etcd.destroy());
  const kv = etcd.client();
  t.teardown(() => kv.close());
  await kv.put(`${V3}/ippools/default-ipv4-ippool`).value(pool('default-ipv4-ippool', '192.168.0.0/16'));
  await kv.put(`${V3}/nodes/node-a`).value(node('node-a', '10.0.1.10/24'));
  await kv.put(`${V3}/nodes/node-b`).value(node('node-b', '10.0.1.11/24'));
  return { etcd, kv };
}

test('Calico etcd keys map to the documents calico-node reads (v3 resources, old and new affinity layouts)', (t) => {
  t.deepEqual(documentOf('/calico/ipam/v2/host/node-b/ipv4/block/192.168.1.0-26', '{"state":"confirmed","deleted":false}').document?.value, {
    apiVersion: 'projectcalico.org/v3', kind: 'BlockAffinity', metadata: { name: 'node-b-192-168-1-0-26' },
    spec: { node: 'node-b', cidr: '192.168.1.0/26', state: 'confirmed', deleted: 'false' },
  });
  t.deepEqual((documentOf('/calico/ipam/v2/virtual/node-b/ipv4/block/192.168.1.0-26', '{"state":"pending","deleted":true}').document?.value as { spec: object }).spec,
    { node: 'node-b', cidr: '192.168.1.0/26', state: 'pending', deleted: 'true', type: 'virtual' });
  t.is(documentOf('/calico/ipam/v2/host/node-b/ipv6/block/fd00--122', '{}').document, undefined, 'IPv6 blocks are not tunnelled');
  t.is(documentOf(`${V3}/workloadendpoints/x`, '{}').document, undefined, 'kinds burrow does not read');
  t.regex(documentOf(`${V3}/ippools/p`, '{').error ?? '', /invalid JSON/);
  t.deepEqual(documentOf(`${V3}/ippools/p`, pool('p', '10.0.0.0/16')).document?.loc, { file: `${V3}/ippools/p`, document: 1, prefix: [] });
});

test.serial('a real etcd: list, watch, add and delete affinities, skip an invalid object, survive an outage', async (t) => {
  const { etcd, kv } = await etcdWithTwoNodes(t);
  await kv.put(`${V3}/felixconfigurations/default`).value(json({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { vxlanVNI: 4097 } }));
  await kv.put('/calico/ipam/v2/host/node-a/ipv4/block/192.168.0.0-26').value('{"state":"confirmed","deleted":false}');
  await kv.put('/calico/ipam/v2/host/node-b/ipv4/block/192.168.1.0-26').value('{"state":"confirmed","deleted":false}');
  await kv.put('/calico/ipam/v2/assignment/ipv4/block/192.168.1.0-26').value('{"cidr":"192.168.1.0/26"}'); // not an affinity: ignored

  const engine = new Engine({ localNode: 'node-a' });
  const skipped: string[] = [];
  const accepted: string[] = [];
  const connection: boolean[] = [];
  const source = new EtcdSource({
    endpoints: [etcd.endpoint],
    sink: (events) => engine.apply(events),
    onSkipped: (key) => skipped.push(key),
    onAccepted: (key) => accepted.push(key),
    onConnection: (up) => connection.push(up),
    backoff: { min: 100, max: 1000 },
  });
  t.teardown(() => source.close());
  await source.start();
  const routes = () => [...engine.derived.routes.keys()].map(routeKeyText).sort();
  t.true(engine.valid, JSON.stringify(engine.errors()));
  t.deepEqual(routes(), ['192.168.0.0/16', '192.168.0.0/26', '192.168.1.0/26'], 'the pool, node-a\'s own block (for decap) and node-b\'s block');
  t.is(engine.store.felixSettings.vxlanVNI, 4097);

  // A new block in IPAM (the 3.30 layout) becomes a route; deleting it withdraws the route.
  await kv.put('/calico/ipam/v2/host/node-b/ipv4/block/192.168.1.64-26').value('{"state":"confirmed","deleted":false}');
  await until('the new block', () => routes().includes('192.168.1.64/26'));
  await kv.delete().key('/calico/ipam/v2/host/node-b/ipv4/block/192.168.1.64-26');
  await until('the block withdrawn', () => !routes().includes('192.168.1.64/26'));

  // A node that appears with its block.
  await kv.put(`${V3}/nodes/node-c`).value(node('node-c', '10.0.2.10/24'));
  await kv.put('/calico/ipam/v2/host/node-c/ipv4/block/192.168.2.0-26').value('{"state":"confirmed","deleted":false}');
  await until('node-c\'s block', () => routes().includes('192.168.2.0/26'));

  // node-b turns invalid (not JSON; then a wrong field): skipped and reported, its last good version stays.
  await kv.put(`${V3}/nodes/node-b`).value('{not json');
  await kv.put(`${V3}/nodes/node-b`).value(json({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-b' }, spec: { bgp: { ipv4Address: 'nonsense' } } }));
  await until('both reported', () => skipped.filter((k) => k.endsWith('/nodes/node-b')).length >= 2);
  t.true(engine.valid);
  t.true(routes().includes('192.168.1.0/26'), 'node-b\'s routes are untouched');
  await kv.put('/calico/ipam/v2/host/node-c/ipv4/block/192.168.2.64-26').value('{"state":"confirmed","deleted":false}');
  await until('the rest is still followed', () => routes().includes('192.168.2.64/26'));
  // Fixed: accepted again (no longer skipped), and its new version counts.
  const acceptedBefore = accepted.length;
  await kv.put(`${V3}/nodes/node-b`).value(node('node-b', '10.0.1.12/24'));
  await until('node-b accepted again', () => accepted.slice(acceptedBefore).includes(`${V3}/nodes/node-b`));
  await until('its new address', () => engine.store.node('node-b')?.address === '10.0.1.12');

  // Outage: etcd stops; the engine keeps its state; etcd is back → relist → changes made meanwhile... none
  // can be made while it is down, so one is made right after it is back and must arrive.
  const relists = source.relists;
  await etcd.stop();
  await until('the source notices', () => connection.includes(false), 30_000);
  t.true(routes().includes('192.168.2.0/26'), 'nothing withdrawn while etcd is away');
  await etcd.start();
  await until('a relist after the outage', () => source.relists > relists, 30_000);
  await kv.delete().key('/calico/ipam/v2/host/node-c/ipv4/block/192.168.2.0-26');
  await until('changes after the outage arrive', () => !routes().includes('192.168.2.0/26'), 30_000);
  t.true(routes().includes('192.168.2.64/26'));
});

test.serial('the first read is taken in page by page; a first read that fails part way takes back what it handed in', async (t) => {
  const { etcd, kv } = await etcdWithTwoNodes(t);
  const blocks = Array.from({ length: 12 }, (_, i) => `192.168.${i + 1}.0/26`);
  for (const cidr of blocks) await kv.put(affinityKey('node-b', cidr)).value(AFFINITY_CONFIRMED);
  const routes = (engine: Engine) => [...engine.derived.routes.keys()].map(routeKeyText).sort();
  const want = ['192.168.0.0/16', ...blocks].sort();

  // A whole read: one sink call per page of 4 keys, every block in the end.
  const engine = new Engine({ localNode: 'node-a' });
  const batches: string[][] = [];
  const whole = new EtcdSource({ endpoints: [etcd.endpoint], pageSize: 4, sink: (events) => { batches.push(events.map((e) => e.type)); engine.apply(events); } });
  t.teardown(() => whole.close());
  await whole.start();
  t.deepEqual(routes(engine), want);
  t.true(batches.length >= 4, `the 12 affinities came in pages of 4 (sink calls: ${JSON.stringify(batches)})`);
  t.true(batches.every((b) => b.length <= 4 && b.length > 0), JSON.stringify(batches));
  whole.close();

  // etcd dies while the first page of affinities is taken in (the next page was asked for before
  // it; the one after fails): the read fails, and what it handed in is taken back.
  const partial = new Engine({ localNode: 'node-a' });
  const seen: string[][] = [];
  let killed = false;
  const failing = new EtcdSource({
    endpoints: [etcd.endpoint], pageSize: 4, backoff: { min: 100, max: 200 },
    sink: (events) => {
      seen.push(events.map((e) => e.type));
      partial.apply(events);
      if (!killed && events.some((e) => e.type === 'block')) {
        killed = true;
        etcd.killNow();
      }
    },
  });
  t.teardown(() => failing.close());
  await t.throwsAsync(failing.start());
  failing.close();
  t.true(killed);
  t.true(seen.length >= 2, `some pages were handed in before the failure: ${JSON.stringify(seen)}`);
  t.deepEqual(seen.at(-1), ['remove'], 'the last thing handed in takes the source away');
  t.deepEqual(routes(partial), [], 'nothing of the failed read stays in the engine');

  // etcd back: a new read takes everything in.
  await etcd.start();
  const again = new EtcdSource({ endpoints: [etcd.endpoint], pageSize: 4, sink: (events) => partial.apply(events) });
  t.teardown(() => again.close());
  await again.start();
  t.deepEqual(routes(partial), want);
});

test.serial('agentctl validate and compile read the live etcd datastore (--datastore etcdv3) with the one-shot rules', async (t) => {
  const etcd = await TestEtcd.create();
  t.teardown(() => etcd.destroy());
  etcd.ops([
    { put: `${V3}/ippools/default-ipv4-ippool`, value: pool('default-ipv4-ippool', '192.168.0.0/16') },
    { put: `${V3}/nodes/node-a`, value: node('node-a', '10.0.1.10/24') },
    { put: `${V3}/nodes/node-b`, value: node('node-b', '10.0.2.11/24') },
    { put: '/calico/ipam/v2/host/node-b/ipv4/block/192.168.1.0-26', value: '{"state":"confirmed","deleted":false}' },
  ]);
  const ds = ['--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint];
  const valid = await agentctl(['validate', ...ds]);
  t.is(valid.code, 0, valid.stderr);
  t.regex(valid.stdout, /valid: 1 pool\(s\), 2 node\(s\), 1 block\(s\)/);
  const compiled = JSON.parse((await agentctl(['compile', ...ds, '--node', 'node-a', '-o', 'json'])).stdout) as { routes: { cidr: string; kind: string; mode: string; remote: string }[] };
  t.deepEqual(compiled.routes.filter((r) => r.kind === 'block').map((r) => [r.cidr, r.mode, r.remote]), [['192.168.1.0/26', 'ipip', '10.0.2.11']]);
  etcd.ops([{ put: `${V3}/ippools/overlapping`, value: pool('overlapping', '192.168.0.0/24') }]);
  const invalid = await agentctl(['validate', ...ds]);
  t.is(invalid.code, 1);
  t.regex(invalid.stderr, /\/calico\/resources\/v3\/projectcalico\.org\/ippools\/overlapping: document 1 \(IPPool overlapping\): spec\.cidr: IPPool\(overlapping\) CIDR overlaps/);
  const usage = await agentctl(['validate', '--datastore', 'etcdv3']);
  t.is(usage.code, 2, 'no endpoints: a usage error');
});

test.serial('rangeAll reads any number of keys page by page, all at the first page\'s revision', async (t) => {
  const etcd = await TestEtcd.create();
  t.teardown(() => etcd.destroy());
  const kv = etcd.client();
  t.teardown(() => kv.close());
  for (let i = 0; i < 10; i++) await kv.put(`/p/k${i}`).value(String(i));
  await kv.put('/q/outside').value('x');
  const read = async (revision?: string) => {
    const pages: string[][] = [];
    const rev = await rangeAll(kv, Buffer.from('/p/'), Buffer.from('/p0'), revision, (kvs) => pages.push(kvs.map((k) => k.key.toString())), 3);
    return { pages, keys: pages.flat(), revision: rev };
  };
  const first = await read();
  t.deepEqual(first.keys, Array.from({ length: 10 }, (_, i) => `/p/k${i}`), 'every key once, in order');
  t.deepEqual(first.pages.map((p) => p.length), [3, 3, 3, 1], 'handed over page by page');
  await kv.put('/p/k99').value('late');
  const again = await read(first.revision);
  t.is(again.keys.length, 10, 'read at the old revision: the later key is not there');
  t.is(again.revision, first.revision);
  t.is((await read()).keys.length, 11);
});

test.serial('the affinities are read as key ranges at once, split at the node names: every key once, at one revision', async (t) => {
  const etcd = await TestEtcd.create();
  t.teardown(() => etcd.destroy());
  const kv = etcd.client();
  t.teardown(() => kv.close());
  const names = Array.from({ length: 60 }, (_, i) => `node-${i}`);
  const keys: string[] = [];
  const put = (key: string, value: string) => {
    keys.push(key);
    return { put: key, value };
  };
  const ops = [put(`${V3}/ippools/p`, pool('p', '10.0.0.0/8'))];
  for (const [i, name] of names.entries()) {
    ops.push(put(`${V3}/nodes/${name}`, node(name, `172.16.${i >> 8}.${i & 255}/16`)));
    // node-1's keys sort before node-10's ("/" < "0"): the cuts must not split a node's keys wrongly.
    for (let b = 0; b < 3; b++) ops.push(put(affinityKey(name, `10.${i}.${b}.0/26`), AFFINITY_CONFIRMED));
  }
  // Affinities of nodes without a Node, before the first name, after the last, and virtual ones.
  ops.push(put(affinityKey('a-first', '10.200.0.0/26'), AFFINITY_CONFIRMED), put(affinityKey('zz-last', '10.201.0.0/26'), AFFINITY_CONFIRMED));
  ops.push(put('/calico/ipam/v2/virtual/node-3/ipv4/block/10.202.0.0-26', AFFINITY_CONFIRMED));
  for (let i = 0; i < ops.length; i += 100) etcd.ops(ops.slice(i, i + 100));
  const read = async (streams: number) => {
    const pages: string[][] = [];
    const revision = await readPrefixes(kv, (kvs) => pages.push(kvs.map((k) => k.key.toString())), 1000, streams);
    return { pages, revision };
  };
  const one = await read(1);
  const three = await read(3);
  t.deepEqual([...three.pages.flat()].sort(), [...keys].sort(), 'every key once');
  t.deepEqual([...one.pages.flat()].sort(), [...keys].sort());
  const affinityPages = (r: { pages: string[][] }) => r.pages.filter((p) => p[0]?.startsWith('/calico/ipam/v2/host/')).length;
  t.is(affinityPages(one), 1, 'one range: one page of 182 affinities');
  t.is(affinityPages(three), 3, 'three ranges, a page each');
  t.is(three.revision, one.revision);
  // At one revision: a key written after the first page is not in the read.
  const late = affinityKey('zz-late', '10.203.0.0/26');
  let wrote = false;
  const pages: string[] = [];
  await readPrefixes(kv, (kvs) => {
    pages.push(...kvs.map((k) => k.key.toString()));
    if (!wrote) {
      wrote = true;
      etcd.ops([{ put: late, value: AFFINITY_CONFIRMED }]);
    }
  }, 1000, 3);
  t.false(pages.includes(late), 'written after the read began: not in it');
  t.is(pages.length, keys.length);
});
