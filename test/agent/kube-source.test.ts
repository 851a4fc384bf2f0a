// The Kubernetes datastore source (KDD) against a fake kube-apiserver (test/support/fake-apiserver.ts:
// a fake, because no kube-apiserver can be installed here; it speaks the list/watch wire protocol):
// Calico CRDs and annotated core Nodes read into the incremental engine; a block affinity added →
// a route, deleted → gone; a Node's annotation moved → the route's remote follows; a compacted
// history (410) → relist; injected 500s and cut connections → reported down, then back, and the
// changes still arrive; an invalid object is reported and skipped while the rest is followed.
import fs from 'node:fs';

import test from 'ava';

import { Engine } from '../../src/engine/engine.js';
import { documentOfKube, KubeSource, kubeKey, NO_ADDRESS_MESSAGE } from '../../src/engine/kube-source.js';
import { ipv4Number, ipv4Text, packRouteKey, routeKeyText } from '../../src/engine/packed-table.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { until } from '../helpers/wait.js';

const NODES = '/api/v1/nodes';
const POOLS = '/apis/crd.projectcalico.org/v1/ippools';
const AFFINITIES = '/apis/crd.projectcalico.org/v1/blockaffinities';
const FELIX = '/apis/crd.projectcalico.org/v1/felixconfigurations';

const pool = (name: string, cidr: string, spec: object = {}) => ({
  apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool',
  metadata: { name, annotations: { 'projectcalico.org/metadata': '{"creationTimestamp":null}' }, managedFields: [{ manager: 'calico-node', operation: 'Update' }] },
  spec: { cidr, ipipMode: 'Always', vxlanMode: 'Never', natOutgoing: true, blockSize: 26, nodeSelector: 'all()', ...spec },
});
const k8sNode = (name: string, address: string | undefined, extra: Record<string, string> = {}) => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: {
    name,
    labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
    annotations: { 'node.alpha.kubernetes.io/ttl': '0', ...(address ? { 'projectcalico.org/IPv4Address': address } : {}), ...extra },
  },
  spec: { podCIDR: '10.244.0.0/24' },
  status: { addresses: [{ type: 'InternalIP', address: address?.split('/')[0] ?? '10.9.9.9' }, { type: 'Hostname', address: name }] },
});
const affinity = (node: string, cidr: string, deleted = 'false') => ({
  apiVersion: 'crd.projectcalico.org/v1', kind: 'BlockAffinity',
  metadata: { name: `${node}-${cidr.replace(/[./]/g, '-')}` },
  spec: { state: 'confirmed', node, cidr, deleted },
});


test('a core Node becomes the Calico Node K8sNodeToCalico makes of its annotations', (t) => {
  const { document, error } = documentOfKube('Node', k8sNode('node-b', '10.0.1.11/24', {
    'projectcalico.org/IPv4IPIPTunnelAddr': '192.168.1.1',
    'projectcalico.org/IPv4VXLANTunnelAddr': '192.168.1.2',
    'projectcalico.org/VXLANTunnelMACAddr': '66:1f:5b:22:7a:01',
  }));
  t.is(error, undefined);
  t.deepEqual(document?.value, {
    apiVersion: 'projectcalico.org/v3', kind: 'Node',
    metadata: { name: 'node-b', labels: { 'kubernetes.io/hostname': 'node-b', 'kubernetes.io/os': 'linux' } },
    spec: {
      bgp: { ipv4Address: '10.0.1.11/24', ipv4IPIPTunnelAddr: '192.168.1.1' },
      ipv4VXLANTunnelAddr: '192.168.1.2',
      vxlanTunnelMACAddr: '66:1f:5b:22:7a:01',
      orchRefs: [{ nodeName: 'node-b', orchestrator: 'k8s' }],
    },
  });
  t.deepEqual(document?.loc, { file: 'kubernetes:/api/v1/nodes/node-b', document: 1, prefix: [] });
  t.is(kubeKey('Node', 'node-b'), 'kubernetes:/api/v1/nodes/node-b');

  const bare = documentOfKube('Node', k8sNode('node-x', undefined));
  t.is(bare.document, undefined, 'a Node calico-node has not annotated has no tunnel address');
  t.is(bare.error, NO_ADDRESS_MESSAGE);
  t.regex(bare.error ?? '', /projectcalico\.org\/IPv4Address annotation/);
});

test('Calico CRD objects pass as they are (crd.projectcalico.org/v1, deleted as a string, server metadata kept)', (t) => {
  const served = { ...affinity('node-b', '192.168.1.0/26'), metadata: { name: 'node-b-192-168-1-0-26', uid: 'u1', resourceVersion: '42', generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' } };
  const { document } = documentOfKube('BlockAffinity', served);
  t.deepEqual(document?.value, served);
  t.is((document?.value as { spec: { deleted: unknown } }).spec.deleted, 'false');
  t.is(document?.loc.file, 'kubernetes:/apis/crd.projectcalico.org/v1/blockaffinities/node-b-192-168-1-0-26');
  // A list item without kind/apiVersion gets them back.
  const { kind: _k, apiVersion: _a, ...bare } = pool('p', '10.0.0.0/16');
  t.like(documentOfKube('IPPool', bare).document?.value as object, { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool' });
  t.regex(documentOfKube('IPPool', { metadata: {} }).error ?? '', /without metadata\.name/);
});

test.serial('list, watch, annotation moves, 410 relist, outage with 500s, invalid objects skipped (fake API server)', async (t) => {
  const api = await FakeApiServer.start();
  t.teardown(() => api.close());
  api.put(POOLS, pool('default-ipv4-ippool', '192.168.0.0/16'));
  api.put(NODES, k8sNode('node-a', '10.0.1.10/24'));
  api.put(NODES, k8sNode('node-b', '10.0.1.11/24'));
  api.put(NODES, k8sNode('node-z', undefined)); // no calico-node there: skipped, reported
  api.put(FELIX, { apiVersion: 'crd.projectcalico.org/v1', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { vxlanVNI: 4097, bpfEnabled: false } });
  api.put(AFFINITIES, affinity('node-a', '192.168.0.0/26'));
  api.put(AFFINITIES, affinity('node-b', '192.168.1.0/26'));

  const engine = new Engine({ localNode: 'node-a' });
  const skipped: string[] = [];
  const skippedWhy: string[] = [];
  const connection: [boolean, string | undefined][] = [];
  const sinkCalls: number[] = [];
  const source = new KubeSource({
    kubeconfig: api.kubeconfigFile(),
    sink: (events) => {
      sinkCalls.push(events.length);
      engine.apply(events);
    },
    onSkipped: (key, ds) => {
      skipped.push(key);
      skippedWhy.push(...ds.map((d) => d.message));
    },
    onConnection: (up, why) => connection.push([up, why]),
    backoff: { min: 100, max: 1000 },
  });
  t.teardown(() => source.close());
  await source.start();
  const routes = () => [...engine.derived.routes.keys()].map(routeKeyText).sort();
  // The tunnel endpoint of a block: the `remote` of its routes entry (burrow_route bytes 4..7).
  const remoteOf = (dst: string) => {
    const [addr, prefix] = dst.split('/');
    const bytes = engine.derived.routes.get(packRouteKey(ipv4Number(addr!), Number(prefix)));
    return bytes ? ipv4Text(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32BE(4)) : undefined;
  };

  t.deepEqual(sinkCalls, [6], 'the four lists in one sink call (node-z skipped)');
  t.true(engine.valid, JSON.stringify(engine.errors()));
  t.deepEqual(routes(), ['192.168.0.0/16', '192.168.0.0/26', '192.168.1.0/26'], 'the pool, node-a\'s own block (for decap) and node-b\'s block');
  t.is(remoteOf('192.168.1.0/26'), '10.0.1.11');
  t.is(engine.store.felixSettings.vxlanVNI, 4097);
  t.deepEqual(skipped, ['kubernetes:/api/v1/nodes/node-z']);
  t.true(skippedWhy.includes(NO_ADDRESS_MESSAGE));
  t.deepEqual(connection, [[true, undefined]]);
  t.is(source.relists, 4);
  await until('the four watches open', () => api.openWatches === 4);

  // A block affinity added → its route; deleted → gone.
  api.put(AFFINITIES, affinity('node-b', '192.168.1.64/26'));
  await until('the new block', () => routes().includes('192.168.1.64/26'));
  api.delete(AFFINITIES, 'node-b-192-168-1-64-26');
  await until('the block withdrawn', () => !routes().includes('192.168.1.64/26'));
  // deleted: "true" (Calico's release in progress) is not a route either.
  api.put(AFFINITIES, affinity('node-b', '192.168.1.128/26', 'true'));
  api.put(AFFINITIES, affinity('node-b', '192.168.1.192/26'));
  await until('the live block of the two', () => routes().includes('192.168.1.192/26'));
  t.false(routes().includes('192.168.1.128/26'));

  // calico-node moves node-b's address annotation: the route's remote follows, and the peer.
  api.put(NODES, k8sNode('node-b', '10.0.2.11/24'));
  await until('node-b\'s new address', () => remoteOf('192.168.1.0/26') === '10.0.2.11');
  t.true(engine.derived.peers.has('10.0.2.11'));
  t.false(engine.derived.peers.has('10.0.1.11'));

  // An invalid pool (ipipMode 'Sometimes') is reported and skipped; the rest is followed.
  api.put(POOLS, pool('bad-pool', '10.10.0.0/16', { ipipMode: 'Sometimes' }));
  await until('the bad pool reported', () => skipped.includes('kubernetes:/apis/crd.projectcalico.org/v1/ippools/bad-pool'));
  t.true(engine.valid, JSON.stringify(engine.errors()));
  // The good pool turns invalid too: its last good version stays (routes untouched).
  api.put(POOLS, pool('default-ipv4-ippool', '192.168.0.0/16', { ipipMode: 'Sometimes' }));
  await until('the pool reported', () => skipped.includes('kubernetes:/apis/crd.projectcalico.org/v1/ippools/default-ipv4-ippool'));
  api.put(AFFINITIES, affinity('node-b', '192.168.2.0/26'));
  await until('the rest still followed', () => routes().includes('192.168.2.0/26'));
  t.true(routes().includes('192.168.1.0/26'));
  api.put(POOLS, pool('default-ipv4-ippool', '192.168.0.0/16'));

  // History compacted while the watches are cut: they resume from a resourceVersion now too old
  // → 410 Expired → the library relists; what vanished meanwhile is removed.
  let relists = source.relists;
  api.compact();
  api.delete(AFFINITIES, 'node-b-192-168-2-0-26'); // a change no resumed watch can replay
  api.dropWatches();
  await until('the relists after 410', () => source.relists >= relists + 4);
  await until('the vanished block removed by the relist', () => !routes().includes('192.168.2.0/26'));
  t.true(api.requests.some((r) => r.includes('watch=true') && r.endsWith('→ 200 ERROR 410 Expired')), 'a resumed watch was told 410 Expired');
  api.put(AFFINITIES, affinity('node-b', '192.168.3.0/26'));
  await until('changes after the relist arrive', () => routes().includes('192.168.3.0/26'));

  // An outage: connections cut and the next 3 requests answered 500 → reported down, then back
  // (backoff restarts), and later changes arrive.
  relists = source.relists;
  const downs = connection.filter(([up]) => !up).length;
  api.failNext(500, 3);
  api.dropWatches();
  await until('the source reports the outage', () => connection.filter(([up]) => !up).length > downs);
  await until('back up', () => connection.at(-1)?.[0] === true);
  t.regex(connection.filter(([up]) => !up).at(-1)?.[1] ?? '', /\/apis\/|\/api\//, 'the reason names the collection');
  t.true(api.requests.filter((r) => r.endsWith('→ 500')).length === 3);
  api.delete(AFFINITIES, 'node-b-192-168-3-0-26');
  api.put(NODES, k8sNode('node-c', '10.0.3.10/24'));
  api.put(AFFINITIES, affinity('node-c', '192.168.4.0/26'));
  await until('changes after the outage arrive', () => routes().includes('192.168.4.0/26') && !routes().includes('192.168.3.0/26'));
  t.is(remoteOf('192.168.4.0/26'), '10.0.3.10');

  // 429s the same way.
  api.failNext(429, 2);
  api.dropWatches();
  await until('back up after 429s', () => connection.at(-1)?.[0] === true && api.openWatches === 4);
  api.put(AFFINITIES, affinity('node-c', '192.168.4.64/26'));
  await until('changes after the 429s arrive', () => routes().includes('192.168.4.64/26'));
  t.true(engine.valid, JSON.stringify(engine.errors()));
});

test.serial('watches ask for bookmarks and a server-side timeout; after a bookmark a quiet collection resumes without a relist (fake API server)', async (t) => {
  const api = await FakeApiServer.start();
  t.teardown(() => api.close());
  api.put(POOLS, pool('default-ipv4-ippool', '192.168.0.0/16'));
  api.put(NODES, k8sNode('node-a', '10.0.1.10/24'));
  api.put(NODES, k8sNode('node-b', '10.0.1.11/24'));
  api.put(AFFINITIES, affinity('node-b', '192.168.1.0/26'));
  const engine = new Engine({ localNode: 'node-a' });
  const source = new KubeSource({ kubeconfig: api.kubeconfigFile(), sink: (events) => engine.apply(events), backoff: { min: 100, max: 1000 } });
  t.teardown(() => source.close());
  await source.start();
  await until('the four watches open', () => api.openWatches === 4);
  const watches = api.requests.filter((r) => r.includes('watch=true'));
  t.is(watches.length, 4);
  for (const w of watches) {
    t.regex(w, /allowWatchBookmarks=true/, w);
    const timeout = Number(/timeoutSeconds=(\d+)/.exec(w)?.[1]);
    t.true(timeout >= 300 && timeout < 600, `client-go's 5-10 min: ${w}`);
  }
  const relists = source.relists;

  // The affinities change (their watch follows); the pools and nodes stay quiet, their last
  // resourceVersion falls behind. The history is compacted, a bookmark brings every watch up to
  // date, and the watches end as their timeout would: all four resume, none relists.
  api.put(AFFINITIES, affinity('node-b', '192.168.1.64/26'));
  await until('the new block', () => engine.derived.routes.keys().map(routeKeyText).includes('192.168.1.64/26'));
  api.compact();
  api.bookmark();
  await new Promise((r) => setTimeout(r, 200));
  const before = api.requests.length;
  api.endWatches();
  await until('four watches resumed', () => api.openWatches === 4);
  const resumed = api.requests.slice(before);
  // The answer's status, not a timeoutSeconds=410 the client happened to draw (a flake once).
  t.false(resumed.some((r) => /→ 410\b/.test(r)), resumed.join('\n'));
  t.is(source.relists, relists, 'no list after the bookmark');
  api.put(NODES, k8sNode('node-b', '10.0.1.12/24'));
  await until('still following', () => engine.store.node('node-b')?.address === '10.0.1.12');

  // Without a bookmark the quiet collections' versions are stale: compacted, they get 410 and relist.
  api.put(AFFINITIES, affinity('node-b', '192.168.1.128/26'));
  api.compact();
  api.endWatches();
  await until('the stale watches relisted', () => source.relists > relists);
  await until('four watches again', () => api.openWatches === 4);
});

test.serial('start() rejects when a collection cannot be listed; a wrong token is refused (fake API server)', async (t) => {
  const api = await FakeApiServer.start();
  t.teardown(() => api.close());
  api.failNext(500, 100);
  const source = new KubeSource({ kubeconfig: api.kubeconfigFile(), sink: () => undefined });
  await t.throwsAsync(source.start(), { message: /kubernetes datastore: \/api.*500|Internal/ });
  source.close();

  const file = api.kubeconfigFile();
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/"token": "[^"]*"/, '"token": "wrong"'));
  const refused = new KubeSource({ kubeconfig: file, sink: () => undefined });
  await t.throwsAsync(refused.start(), { message: /401|Unauthorized/ });
  refused.close();
});
