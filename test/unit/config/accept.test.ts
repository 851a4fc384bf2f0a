// Manifests users write (the seeds verbatim, the lab, Konvoy's cluster.yaml, Lists, JSON) are
// accepted and resolve to the documented defaults.
import test from 'ava';
import { parseManifests, type IPPool } from '../../../src/config/index.js';
import { block, felix, fixture, konvoy, lab, modelOf, node, pool, yamlDocs } from './_fixtures.js';
import { loadManifests } from '../../../src/config/index.js';

const SEED_ALWAYS = fixture('seeds/000-ippool-ipip-always.yaml');
const SEED_CROSS = fixture('seeds/000-ippool-ipip-cross-subnet.yaml');
const SEED_KONVOY_IPIP = fixture('seeds/002-konvoy-ipip.yaml');
const SEED_KONVOY_VXLAN = fixture('seeds/002-konvoy-vxlan.yaml');
const DEFAULT_POOL = fixture('pools/default-ipv4-ippool.yaml');
const LAB = fixture('lab');

async function load(...paths: string[]) {
  const r = await loadManifests(paths);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.file} ${e.rule} ${e.path}: ${e.message}`).join('\n'));
  return r.model;
}

const poolDefaults = (over: Partial<IPPool>): IPPool => ({
  name: '', cidr: '', ipVersion: 4, ipipMode: 'Always', vxlanMode: 'Never', natOutgoing: false, disabled: false,
  blockSize: 26, nodeSelector: 'all()', allowedUses: ['Workload', 'Tunnel'], disableBGPExport: false, index: 0, ...over,
});

const seedTable: { title: string; paths: string[]; pool: IPPool; encapsulation: 'ipip' | 'vxlan' }[] = [
  {
    title: 'seed 000: ipipMode Always with natOutgoing',
    paths: [SEED_ALWAYS],
    pool: poolDefaults({ name: 'ippool-ipip-1', cidr: '192.168.0.0/16', ipipMode: 'Always', natOutgoing: true }),
    encapsulation: 'ipip',
  },
  {
    title: 'seed 000: ipipMode CrossSubnet with natOutgoing',
    paths: [SEED_CROSS],
    pool: poolDefaults({ name: 'ippool-cs-1', cidr: '192.168.0.0/16', ipipMode: 'CrossSubnet', natOutgoing: true }),
    encapsulation: 'ipip',
  },
  {
    title: 'a pool that sets neither mode: IP-in-IP Always (seed 000 note)',
    paths: [DEFAULT_POOL],
    pool: poolDefaults({ name: 'default-ipv4-ippool', cidr: '192.168.0.0/16', ipipMode: 'Always' }),
    encapsulation: 'ipip',
  },
  {
    title: 'seed 002: Konvoy encapsulation ipip keeps IP-in-IP Always',
    paths: [SEED_KONVOY_IPIP, DEFAULT_POOL],
    pool: poolDefaults({ name: 'default-ipv4-ippool', cidr: '192.168.0.0/16', ipipMode: 'Always', vxlanMode: 'Never' }),
    encapsulation: 'ipip',
  },
  {
    title: 'seed 002: Konvoy encapsulation vxlan turns a mode-less pool into VXLAN Always',
    paths: [SEED_KONVOY_VXLAN, DEFAULT_POOL],
    pool: poolDefaults({ name: 'default-ipv4-ippool', cidr: '192.168.0.0/16', ipipMode: 'Never', vxlanMode: 'Always' }),
    encapsulation: 'vxlan',
  },
  {
    title: 'Konvoy vxlan leaves a pool that sets ipipMode alone',
    paths: [SEED_KONVOY_VXLAN, SEED_ALWAYS],
    pool: poolDefaults({ name: 'ippool-ipip-1', cidr: '192.168.0.0/16', ipipMode: 'Always', vxlanMode: 'Never', natOutgoing: true }),
    encapsulation: 'vxlan',
  },
];

for (const c of seedTable) {
  test(`accepts ${c.title}`, async (t) => {
    const model = await load(...c.paths, LAB);
    t.deepEqual(model.pools, [c.pool]);
    t.is(model.defaultEncapsulation, c.encapsulation);
    t.deepEqual(model.felix, { vxlanVNI: 4096, vxlanPort: 4789 }); // no MTU: derived from the uplink
    t.deepEqual(model.warnings, []);
  });
}

test('the two seed 000 pools are alternatives: loaded together they overlap', async (t) => {
  const r = await loadManifests([SEED_ALWAYS, SEED_CROSS]);
  t.false(r.ok);
  if (r.ok) return;
  t.deepEqual(r.errors.map((e) => [e.rule, e.name, e.path]), [['pool-overlap', 'ippool-cs-1', 'spec.cidr']]);
  t.regex(r.errors[0]!.message, /IPPool\(ippool-cs-1\) CIDR overlaps with IPPool\(ippool-ipip-1\) CIDR 192\.168\.0\.0\/16/);
});

test('the lab directory: nodes, a typed BlockAffinityList, a JSON FelixConfiguration', async (t) => {
  const model = await load(LAB, SEED_ALWAYS);
  t.deepEqual(
    model.nodes.map((n) => [n.name, n.address, n.prefixLength, n.vtepMacSource]),
    [['node-a', '10.0.1.10', 24, 'derived'], ['node-b', '10.0.1.11', 24, 'derived'], ['node-c', '10.0.2.10', 24, 'manifest']],
  );
  t.is(model.nodes[2]!.vtepMac, '66:cc:00:00:00:0c'); // written 66:CC:00:00:00:0C
  t.deepEqual(model.blocks, [
    { node: 'node-a', cidr: '192.168.0.0/26', pool: 'ippool-ipip-1' },
    { node: 'node-a', cidr: '192.168.0.64/26', pool: 'ippool-ipip-1' },
    { node: 'node-b', cidr: '192.168.1.0/26', pool: 'ippool-ipip-1' },
    { node: 'node-c', cidr: '192.168.2.0/26', pool: 'ippool-ipip-1' },
  ]);
});

test("a real Konvoy cluster.yaml: other kinds skipped with a warning, other fields passed through, calico.mtu applies", async (t) => {
  const model = await load(fixture('konvoy/cluster.yaml'), DEFAULT_POOL, LAB);
  t.is(model.defaultEncapsulation, 'vxlan');
  t.is(model.pools[0]!.vxlanMode, 'Always');
  t.deepEqual(model.felix, { vxlanVNI: 4096, vxlanPort: 4789, vxlanMTU: 1400 });
  t.deepEqual(model.warnings.map((w) => [w.kind, w.rule, w.document]), [['ClusterProvisioner', 'ignored-kind', 1]]);
});

test('Konvoy apiVersion v1beta1 is accepted too', (t) => {
  const model = modelOf(lab({ poolSpec: {}, files: { 'cluster.yaml': [konvoy({ encapsulation: 'vxlan' }, 'konvoy.mesosphere.io/v1beta1')] } }));
  t.is(model.pools[0]!.vxlanMode, 'Always');
});

test('pool defaults: blockSize, natOutgoing, disabled, nodeSelector; explicit values are kept', (t) => {
  const model = modelOf(lab({
    extraPools: [pool('explicit', '10.244.0.0/16', {
      vxlanMode: 'CrossSubnet', natOutgoing: true, disabled: true, blockSize: 24, nodeSelector: "zone == 'a'",
      allowedUses: ['Workload'], disableBGPExport: true,
    })],
  }));
  const explicit = model.pools.find((p) => p.name === 'explicit')!;
  t.deepEqual(explicit, poolDefaults({
    name: 'explicit', cidr: '10.244.0.0/16', ipipMode: 'Never', vxlanMode: 'CrossSubnet', natOutgoing: true, disabled: true,
    blockSize: 24, nodeSelector: "zone == 'a'", allowedUses: ['Workload'], disableBGPExport: true, index: 0,
  }));
  t.deepEqual(model.pools.map((p) => [p.name, p.index]), [['explicit', 0], ['lab-pool', 1]]); // indexes by name
});

test('a pool that sets only vxlanMode gets ipipMode Never (no both-enabled error)', (t) => {
  const model = modelOf(lab({ poolSpec: { vxlanMode: 'Always' } }));
  t.is(model.pools[0]!.ipipMode, 'Never');
  t.is(model.pools[0]!.vxlanMode, 'Always');
});

test('an IPv6 pool is accepted with IPv6 defaults and never defaults to IP-in-IP', (t) => {
  const model = modelOf(lab({ extraPools: [pool('v6', 'fd00:10::/48')] }));
  const v6 = model.pools.find((p) => p.name === 'v6')!;
  t.deepEqual([v6.ipVersion, v6.blockSize, v6.ipipMode, v6.vxlanMode, v6.cidr], [6, 122, 'Never', 'Never', 'fd00:10::/48']);
});

test('a disabled pool smaller than its block size is accepted (Calico exempts disabled pools)', (t) => {
  const model = modelOf(lab({ extraPools: [pool('tiny', '10.9.9.0/28', { disabled: true })] }));
  t.true(model.pools.some((p) => p.name === 'tiny' && p.disabled));
});

test('the largest pool accepted is a /8 (10.0.0.0/8); pools next to the nodes\' subnets and nodes next to pools are fine (issue 13)', (t) => {
  const model = modelOf(lab({
    extraPools: [pool('big', '10.128.0.0/9'), pool('cgnat', '100.64.0.0/10'), pool('beside', '10.0.2.0/25', { disabled: true })],
    nodes: [node('node-a', '10.0.1.10/24'), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.200/25'), node('node-d', '192.169.0.1/24'), node('node-e', '172.16.0.1/32')],
  }));
  t.deepEqual(model.pools.map((p) => p.cidr), ['10.0.2.0/25', '10.128.0.0/9', '100.64.0.0/10', '192.168.0.0/16']);
  t.is(model.nodes.length, 5);
  t.true(modelOf(lab({ extraPools: [pool('ten', '10.0.0.0/8')], nodes: [node('node-a', '172.16.0.10/24'), node('node-b', '172.16.0.11/24'), node('node-c', '172.16.1.10/24')] })).pools.some((p) => p.cidr === '10.0.0.0/8'));
});

test('a generic List and an IPPoolList whose items leave kind to the list; JSON files', (t) => {
  const model = modelOf([
    { file: 'nodes.json', text: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [node('node-a', '10.0.1.10/24'), node('node-b', '10.0.1.11/24')] }) },
    {
      file: 'pools.yaml',
      text: yamlDocs({
        apiVersion: 'projectcalico.org/v3', kind: 'IPPoolList',
        items: [{ metadata: { name: 'p1' }, spec: { cidr: '192.168.0.0/16' } }, { metadata: { name: 'p2' }, spec: { cidr: '10.244.0.0/16', vxlanMode: 'Always' } }],
      }),
    },
  ]);
  t.deepEqual(model.nodes.map((n) => n.name), ['node-a', 'node-b']);
  t.deepEqual(model.pools.map((p) => [p.name, p.ipipMode, p.vxlanMode]), [['p1', 'Always', 'Never'], ['p2', 'Never', 'Always']]);
});

test('crd.projectcalico.org/v1 IPPools (Kubernetes datastore form) are accepted', (t) => {
  const model = modelOf(lab({ extraPools: [{ ...pool('crd', '10.244.0.0/16'), apiVersion: 'crd.projectcalico.org/v1' }] }));
  t.true(model.pools.some((p) => p.name === 'crd'));
});

test('exported metadata (uid, resourceVersion, creationTimestamp, labels) is accepted', (t) => {
  const p = pool('exported', '10.244.0.0/16');
  const model = modelOf(lab({
    extraPools: [{ ...p, metadata: { name: 'exported', uid: 'a-b', resourceVersion: '42', creationTimestamp: '2020-01-01T00:00:00Z', labels: { a: 'b' } } }],
  }));
  t.true(model.pools.some((x) => x.name === 'exported'));
});

test('deleted, pending and pendingDeletion affinities are validated but do not route', (t) => {
  const model = modelOf(lab({
    blocks: [
      block('node-a', '192.168.0.0/26'),
      block('node-b', '192.168.1.0/26', { deleted: 'true' }),
      block('node-b', '192.168.1.64/26', { deleted: true }),
      block('node-c', '192.168.2.0/26', { state: 'pending' }),
      block('node-c', '192.168.2.64/26', { state: 'pendingDeletion' }),
      block('node-c', '192.168.2.128/26', { state: 'confirmed', deleted: 'false' }),
    ],
  }));
  t.deepEqual(model.blocks.map((b) => b.cidr), ['192.168.0.0/26', '192.168.2.128/26']);
});

test('a block being deleted from one node and confirmed on another is no conflict', (t) => {
  const model = modelOf(lab({ blocks: [block('node-a', '192.168.0.0/26', { state: 'pendingDeletion' }), { ...block('node-b', '192.168.0.0/26'), metadata: { name: 'b2' } }] }));
  t.deepEqual(model.blocks, [{ node: 'node-b', cidr: '192.168.0.0/26', pool: 'lab-pool' }]);
});

test('FelixConfiguration default: VNI, port and MTUs apply; ipipMTU 0 means automatic', (t) => {
  const model = modelOf(lab({ files: { 'felix.yaml': [felix({ vxlanVNI: 16777215, vxlanPort: 8472, ipipMTU: 0, vxlanMTU: 1400 })] } }));
  t.deepEqual(model.felix, { vxlanVNI: 16777215, vxlanPort: 8472, vxlanMTU: 1400 });
});

const warningTable: { title: string; sources: Parameters<typeof modelOf>[0]; expected: [string, string, string][] }[] = [
  {
    title: 'a /32 node address under a CrossSubnet pool',
    sources: lab({ poolSpec: { ipipMode: 'CrossSubnet' }, nodes: [node('node-a', '10.0.1.10/32'), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }),
    expected: [['node-address-host-prefix', 'node-a', 'spec.bgp.ipv4Address']],
  },
  {
    title: 'no /32 warning when no pool uses CrossSubnet',
    sources: lab({ poolSpec: { ipipMode: 'Always' }, nodes: [node('node-a', '10.0.1.10/32'), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }),
    expected: [],
  },
  {
    title: 'a per-node FelixConfiguration is ignored',
    sources: lab({ files: { 'felix.yaml': [felix({ vxlanVNI: 7 }, 'node.node-a')] } }),
    expected: [['felix-ignored', 'node.node-a', 'metadata.name']],
  },
  {
    title: 'Felix fields without meaning for burrow',
    sources: lab({ files: { 'felix.yaml': [felix({ logSeverityScreen: 'Info', reportingInterval: '0s' })] } }),
    expected: [['felix-field-ignored', 'default', 'spec.logSeverityScreen'], ['felix-field-ignored', 'default', 'spec.reportingInterval']],
  },
  {
    title: 'Calico kinds burrow does not use',
    sources: lab({ files: { 'bgp.yaml': [{ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 64512 } }] } }),
    expected: [['ignored-kind', 'default', '']],
  },
];

for (const c of warningTable) {
  test(`warns: ${c.title}`, (t) => {
    const model = modelOf(c.sources);
    t.deepEqual(model.warnings.map((w) => [w.rule, w.name, w.path]), c.expected);
    t.true(model.warnings.every((w) => w.severity === 'warning'));
  });
}

test('a per-node FelixConfiguration does not change the settings', (t) => {
  const model = modelOf(lab({ files: { 'felix.yaml': [felix({ vxlanVNI: 7 }, 'node.node-a')] } }));
  t.is(model.felix.vxlanVNI, 4096);
});

test('parseManifests is pure: the same texts give equal results', (t) => {
  const sources = lab({ poolSpec: { ipipMode: 'CrossSubnet' } });
  t.deepEqual(parseManifests(sources), parseManifests(sources));
});
