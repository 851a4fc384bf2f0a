// Compiler cases beyond the mode table: the /32 pitfall, disabled pools, natOutgoing, Konvoy,
// node addresses inside pools, MTU overrides, IPv6 pools, errors, the JSON view.
import test from 'ava';
import { CompileError, compileDesiredState, desiredStateJson, type DesiredState, type TunnelRoute } from '../../../src/compile/index.js';
import type { Model, Node } from '../../../src/config/index.js';
import { block, felix, konvoy, lab, modelOf, node, pool } from '../config/_fixtures.js';

/** The routes that lead to other nodes (blocks and node addresses), without the pool and local-block entries decap reads. */
const remoteRoutes = (state: DesiredState): TunnelRoute[] => state.routes.filter((r) => r.kind === 'block' || r.kind === 'node-address');

const slash32Lab = (spec: Record<string, unknown>) =>
  modelOf(lab({ poolSpec: spec, nodes: [node('node-a', '10.0.1.10/32'), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }));

test('a /32 local address: warned, and every remote is encapsulated under CrossSubnet', (t) => {
  const state = compileDesiredState(slash32Lab({ ipipMode: 'CrossSubnet' }), 'node-a');
  t.deepEqual(remoteRoutes(state).map((r) => [r.node, r.mode, r.sameSubnet]), [['node-b', 'ipip', false], ['node-c', 'ipip', false]]);
  t.true(state.kernelRoutes.every((r) => r.type === 'tunnel'));
  t.deepEqual(state.warnings.map((w) => [w.rule, w.name]), [['node-address-host-prefix', 'node-a']]);
});

test('the /32 rule is the sender\'s: node-b sends node-a plain traffic, node-a tunnels to node-b', (t) => {
  const model = slash32Lab({ ipipMode: 'CrossSubnet' });
  const atA = compileDesiredState(model, 'node-a');
  const atB = compileDesiredState(model, 'node-b');
  // node-b's /24 contains node-a, so node-b never encapsulates to node-a: not a peer of node-a.
  t.deepEqual(atA.peers.map((p) => p.node), ['node-c']);
  // node-a's /32 contains nobody, so node-a encapsulates to node-b: node-b must accept it.
  t.deepEqual(atB.peers.map((p) => [p.node, [...p.modes]]), [['node-a', ['ipip']], ['node-c', ['ipip']]]);
  t.deepEqual(remoteRoutes(atB).map((r) => [r.node, r.mode]), [['node-a', 'none'], ['node-c', 'ipip']]);
});

test('a disabled pool still routes and NATs, and its routes carry the flag', (t) => {
  const state = compileDesiredState(modelOf(lab({ poolSpec: { disabled: true, natOutgoing: true } })), 'node-a');
  t.is(remoteRoutes(state).length, 2);
  t.true(remoteRoutes(state).every((r) => r.poolDisabled && r.mode === 'ipip'));
  t.true(state.routes.every((r) => r.poolDisabled), 'the pool and local-block entries too');
  t.deepEqual(state.nat.map((n) => n.pool), ['lab-pool']);
});

test('natOutgoing: one rule per NAT pool, excluding every IPv4 pool (pool-to-pool is not masqueraded)', (t) => {
  const model = modelOf(lab({
    poolSpec: { natOutgoing: true },
    extraPools: [
      pool('services', '10.96.0.0/16', { ipipMode: 'Never' }),
      pool('edge', '172.16.0.0/16', { natOutgoing: true, disabled: true }),
      pool('v6', 'fd00:10::/48', { vxlanMode: 'Never', natOutgoing: true }),
    ],
  }));
  const state = compileDesiredState(model, 'node-a');
  const all = ['10.96.0.0/16', '172.16.0.0/16', '192.168.0.0/16'];
  t.deepEqual(state.nat, [
    { pool: 'edge', sourceCidr: '172.16.0.0/16', excludeDestinations: all },
    { pool: 'lab-pool', sourceCidr: '192.168.0.0/16', excludeDestinations: all },
  ]);
});

test('no natOutgoing: no NAT rules, and route flags say so', (t) => {
  const state = compileDesiredState(modelOf(lab()), 'node-a');
  t.deepEqual(state.nat, []);
  t.true(state.routes.every((r) => !r.natOutgoing));
});

test('Konvoy vxlan: a mode-less pool tunnels with VXLAN Always, VXLAN MTU on the routes, VTEP MACs filled', (t) => {
  const model = modelOf(lab({
    files: { 'cluster.yaml': [konvoy({ encapsulation: 'vxlan' })] },
    nodes: [node('node-a', '10.0.1.10/24'), node('node-b', '10.0.1.11/24', { vxlanTunnelMACAddr: '02:00:00:00:00:bb' }), node('node-c', '10.0.2.10/24')],
  }));
  const state = compileDesiredState(model, 'node-a');
  t.deepEqual(remoteRoutes(state).map((r) => [r.mode, r.vtepMac]), [['vxlan', '02:00:00:00:00:bb'], ['vxlan', '66:1a:b9:f1:6e:af']]);
  t.deepEqual(state.kernelRoutes.map((r) => r.type === 'tunnel' && [r.dst, r.mtu]), [['192.168.0.0/16', 1450]], 'one route for the pool');
  t.deepEqual(state.peers.map((p) => [...p.modes]), [['vxlan'], ['vxlan']]);
});

test('FelixConfiguration VNI, port and MTUs reach routes, peers, node config and kernel routes', (t) => {
  const model = modelOf(lab({ poolSpec: { vxlanMode: 'Always' }, files: { 'felix.yaml': [felix({ vxlanVNI: 77, vxlanPort: 8472, vxlanMTU: 1400, ipipMTU: 1420 })] } }));
  const state = compileDesiredState(model, 'node-a');
  t.deepEqual([state.node.defaultVni, state.node.vxlanPort, state.node.tunnelMtu], [77, 8472, { ipip: 1420, vxlan: 1400 }]);
  t.true(state.routes.every((r) => r.vni === 77));
  t.true(state.peers.every((p) => p.vni === 77));
  t.deepEqual(state.kernelRoutes.map((r) => r.type === 'tunnel' && r.mtu), [1400]);
  t.deepEqual(state.warnings, []);
});

test('a tunnel MTU override that does not fit the uplink is warned about', (t) => {
  const model = modelOf(lab({ files: { 'felix.yaml': [felix({ ipipMTU: 1490 })] } }));
  const state = compileDesiredState(model, 'node-a');
  t.deepEqual(state.warnings.map((w) => [w.rule, w.path]), [['tunnel-mtu-too-large', 'spec.ipipMTU']]);
  t.regex(state.warnings[0]!.message, /use at most 1480/);
  t.is(compileDesiredState(model, 'node-a', { uplinkMtu: 9000 }).warnings.length, 0);
});

test('tunnel routes carry the local tunnel address as src when the Node sets one', (t) => {
  const model = modelOf(lab({ nodes: [node('node-a', '10.0.1.10/24', { bgp: { ipv4Address: '10.0.1.10/24', ipv4IPIPTunnelAddr: '192.168.0.1' } }), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }));
  const state = compileDesiredState(model, 'node-a');
  t.deepEqual(state.kernelRoutes.map((r) => r.type === 'tunnel' && r.src), ['192.168.0.1']);
  t.true(compileDesiredState(model, 'node-b').kernelRoutes.every((r) => r.type === 'tunnel' && r.src === undefined));
});

// Validation refuses a node address inside a pool (cross-check.ts nodePoolDiagnostics; the
// rejection itself is tested in test/unit/config/invalid.test.ts). The compiler's /32
// 'node-address' entry stays as a second line of defence for a Model that did not come from the
// validator: these two tests build such a Model by hand, from a valid one plus the node.
const withNode = (sources: Parameters<typeof modelOf>[0], extra: Node): Model => {
  const model = modelOf(sources);
  return { ...model, nodes: [...model.nodes, extra].sort((a, b) => (a.name < b.name ? -1 : 1)) };
};
const hostNode = (name: string, address: string, prefixLength = 24): Node =>
  ({ name, address, prefixLength, vtepMac: '66:00:00:00:00:0d', vtepMacSource: 'manifest' });

test('a node address inside a pool (a Model the validator would refuse) gets a /32 route with mode none (never tunnel to a node)', (t) => {
  const model = withNode(lab({ blocks: [block('node-a', '192.168.0.0/26')] }), hostNode('node-d', '192.168.3.7'));
  const withBlock: Model = { ...model, blocks: [...model.blocks, { node: 'node-d', cidr: '192.168.3.0/26', pool: 'lab-pool' }] };
  const state = compileDesiredState(withBlock, 'node-a');
  t.deepEqual(
    remoteRoutes(state).map((r) => [r.cidr, r.kind, r.mode, r.remote]),
    [['192.168.3.0/26', 'block', 'ipip', '192.168.3.7'], ['192.168.3.7/32', 'node-address', 'none', '192.168.3.7']],
  );
  t.true(remoteRoutes(state)[1]!.inPool);
  t.deepEqual(state.kernelRoutes.map((r) => r.dst), ['192.168.0.0/16']); // the pool's route; none for the /32
});

test('blockSize 32 (a Model the validator would refuse): a node-address /32 wins over a block with the same CIDR', (t) => {
  const model = withNode(lab({ extraPools: [pool('hosts', '172.20.0.0/24', { blockSize: 32 })], nodes: [node('node-a', '10.0.1.10/24')], blocks: [] }), hostNode('node-b', '172.20.0.5'));
  const withBlock: Model = { ...model, blocks: [{ node: 'node-b', cidr: '172.20.0.5/32', pool: 'hosts' }] };
  const state = compileDesiredState(withBlock, 'node-a');
  t.deepEqual(remoteRoutes(state).map((r) => [r.cidr, r.kind, r.mode]), [['172.20.0.5/32', 'node-address', 'none']]);
});

test('IPv6 pools and their blocks produce nothing in the IPv4 outputs', (t) => {
  const model = modelOf(lab({
    extraPools: [pool('v6', 'fd00:10::/48', { vxlanMode: 'Always', natOutgoing: true })],
    blocks: [block('node-a', '192.168.0.0/26'), block('node-c', 'fd00:10::/122')],
  }));
  const state = compileDesiredState(model, 'node-a');
  t.deepEqual(remoteRoutes(state).map((r) => r.cidr), []);
  t.deepEqual(state.routes.map((r) => r.cidr), ['192.168.0.0/16', '192.168.0.0/26'], 'the IPv4 pool and our IPv4 block only');
  t.deepEqual(state.kernelRoutes.map((r) => r.dst), ['192.168.0.0/16'], 'the IPv4 pool\'s route, nothing for the IPv6 pool');
  t.deepEqual(state.nat, []);
  // The IPv4 lab pool still makes node-c (and node-b) IPIP peers; the IPv6 pool adds no VXLAN.
  t.deepEqual(state.peers.map((p) => [...p.modes]), [['ipip'], ['ipip']]);
});

test('peers: the union of modes over all pools', (t) => {
  const model = modelOf(lab({ poolSpec: { ipipMode: 'CrossSubnet' }, extraPools: [pool('vx', '10.244.0.0/16', { vxlanMode: 'Always' })] }));
  const state = compileDesiredState(model, 'node-a');
  t.deepEqual(state.peers.map((p) => [p.node, [...p.modes]]), [['node-b', ['vxlan']], ['node-c', ['ipip', 'vxlan']]]);
});

test('a block under an unknown local node name: CompileError with a suggestion', (t) => {
  const err = t.throws(() => compileDesiredState(modelOf(lab()), 'node-x'), { instanceOf: CompileError });
  t.deepEqual(err?.diagnostics.map((d) => [d.rule, d.kind, d.name]), [['unknown-local-node', 'Node', 'node-x']]);
  t.regex(err?.message ?? '', /did you mean 'node-a'\?/);
});

const badOptions: [string, Record<string, unknown>, string][] = [
  ['uplink MTU too small for VXLAN', { uplinkMtu: 100 }, 'uplinkMtu'],
  ['tunnel device name too long', { tunnelDevice: 'a-very-long-device-name' }, 'tunnelDevice'],
  ['uplink MAC multicast', { uplinkMac: '01:00:5e:00:00:01' }, 'uplinkMac'],
  ['TTL 0', { ttl: 0 }, 'ttl'],
  ['unknown option', { mtu: 1500 }, ''],
];
for (const [title, options, path] of badOptions) {
  test(`compile option rejected: ${title}`, (t) => {
    const err = t.throws(() => compileDesiredState(modelOf(lab()), 'node-a', options), { instanceOf: CompileError });
    t.deepEqual(err?.diagnostics.map((d) => [d.rule, d.path]), [['compile-option', path]]);
  });
}

test('JSON view: the documented keys, plain JSON, pool by name', (t) => {
  const state = compileDesiredState(modelOf(lab({ poolSpec: { ipipMode: 'CrossSubnet', natOutgoing: true } })), 'node-a');
  const json = desiredStateJson(state);
  t.deepEqual(JSON.parse(JSON.stringify(json)), json);
  t.deepEqual(Object.keys(json), ['node', 'routes', 'peers', 'kernelRoutes', 'nat', 'warnings']);
  for (const key of ['cidr', 'mode', 'remote', 'vni', 'vtepMac', 'natOutgoing', 'sameSubnet', 'pool']) t.true(key in json.routes[0]!, key);
  t.deepEqual(json.routes.map((r) => [r.cidr, r.kind, r.mode, r.pool, r.poolIndex]), [
    ['192.168.0.0/16', 'pool', 'none', 'lab-pool', 0], ['192.168.0.0/26', 'local-block', 'none', 'lab-pool', 0],
    ['192.168.1.0/26', 'block', 'none', 'lab-pool', 0], ['192.168.2.0/26', 'block', 'ipip', 'lab-pool', 0],
  ]);
  t.deepEqual(json.peers, [{ address: '10.0.2.10', modes: ['ipip'], vni: 4096, node: 'node-c' }]);
  t.is(json.node.localIp, '10.0.1.10');
});
