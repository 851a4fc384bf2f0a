// Invalid manifests, one mistake each: every case must be rejected with exactly the expected
// error (rule and field path, and where it matters the file, document, resource and wording),
// and nothing else: a cascade of follow-on errors would bury the real one.
import test from 'ava';
import type { ManifestSource } from '../../../src/config/index.js';
import { block, errorsOf, felix, konvoy, lab, LAB_NODES, node, pool, yamlDocs } from './_fixtures.js';

interface Case {
  title: string;
  sources: ManifestSource[];
  rule: string;
  path: string;
  file?: string;
  document?: number;
  kind?: string;
  name?: string;
  message?: string | RegExp;
  /** How many errors the case produces (default 1). */
  count?: number;
}

const src = (file: string, text: string): ManifestSource => ({ file, text });
/** The lab plus one more pool (document 2 of pools.yaml) outside the lab's 192.168.0.0/16. */
const badPool = (spec: Record<string, unknown>, cidr = '172.16.0.0/16') => lab({ extraPools: [pool('bad', cidr, spec)] });
const POOL2 = { file: 'pools.yaml', document: 2, kind: 'IPPool', name: 'bad' } as const;

const cases: Case[] = [
  // ── schema: enums, types, unknown and missing fields ──────────────────────────────────────
  {
    title: 'ipipMode outside the enum', sources: badPool({ ipipMode: 'Sometimes' }), ...POOL2,
    rule: 'invalid-enum', path: 'spec.ipipMode', message: "Invalid enum value 'Sometimes'; expected Always | CrossSubnet | Never",
  },
  { title: 'vxlanMode with the wrong case', sources: badPool({ vxlanMode: 'always' }), ...POOL2, rule: 'invalid-enum', path: 'spec.vxlanMode', message: /'always'/ },
  { title: 'misspelt field ipipmode', sources: badPool({ ipipmode: 'Always' }), ...POOL2, rule: 'unknown-field', path: 'spec.ipipmode', message: "unknown field 'ipipmode'; did you mean 'ipipMode'?" },
  { title: 'unknown metadata field', sources: badPool({}).map((s) => (s.file === 'pools.yaml' ? { ...s, text: s.text.replace('name: bad', 'name: bad\n  label: x') } : s)), ...POOL2, rule: 'unknown-field', path: 'metadata.label', message: /did you mean 'labels'/ },
  { title: 'natOutgoing as a string', sources: badPool({ natOutgoing: 'yes' }), ...POOL2, rule: 'invalid-type', path: 'spec.natOutgoing', message: "expected a boolean, got string 'yes'; write true or false" },
  { title: 'allowedUses with an unknown use', sources: badPool({ allowedUses: ['Workload', 'Everything'] }), ...POOL2, rule: 'invalid-enum', path: 'spec.allowedUses[1]' },
  {
    title: 'pool without cidr', ...POOL2, rule: 'required', path: 'spec.cidr', message: /required field is missing/,
    sources: lab({ extraPools: [{ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'bad' }, spec: { natOutgoing: true } }] }),
  },
  { title: 'resource name with capitals and underscore', sources: lab({ extraPools: [pool('Pool_1', '172.16.0.0/16')] }), rule: 'name-format', path: 'metadata.name', document: 2, name: 'Pool_1' },

  // ── IPPool: Calico's rules ───────────────────────────────────────────────────────────────
  { title: 'empty cidr', sources: badPool({}, ''), ...POOL2, rule: 'cidr-required', path: 'spec.cidr', message: 'IPPool CIDR must be specified' },
  { title: 'cidr without prefix length', sources: badPool({}, '172.16.0.0'), ...POOL2, rule: 'cidr-invalid', path: 'spec.cidr', message: /^IPPool CIDR must be a valid subnet/ },
  { title: 'cidr with an octet above 255', sources: badPool({}, '172.16.300.0/24'), ...POOL2, rule: 'cidr-invalid', path: 'spec.cidr' },
  {
    title: 'cidr with host bits set', sources: badPool({}, '172.16.1.0/16'), ...POOL2, rule: 'cidr-not-strict', path: 'spec.cidr',
    message: 'IP pool CIDR is not strictly masked: 172.16.1.0/16 has host bits set; did you mean 172.16.0.0/16?',
  },
  { title: 'IPIP and VXLAN both enabled', sources: badPool({ ipipMode: 'Always', vxlanMode: 'CrossSubnet' }), ...POOL2, rule: 'encap-both-enabled', path: 'spec.vxlanMode', message: /^IPIPMode and VXLANMode cannot both be enabled on the same IP pool/ },
  { title: 'IPIP on an IPv6 pool', sources: badPool({ ipipMode: 'Always' }, 'fd00:10::/48'), ...POOL2, rule: 'ipip-ipv6', path: 'spec.ipipMode', message: /^IPIP is not supported on an IPv6 IP pool/ },
  { title: 'IPv4 blockSize below 20', sources: badPool({ blockSize: 19 }), ...POOL2, rule: 'block-size-range', path: 'spec.blockSize', message: 'IPv4 block size must be between 20 and 32, got 19' },
  { title: 'IPv4 blockSize above 32', sources: badPool({ blockSize: 33 }), ...POOL2, rule: 'block-size-range', path: 'spec.blockSize' },
  { title: 'IPv6 blockSize of 64', sources: badPool({ vxlanMode: 'Never', blockSize: 64 }, 'fd00:10::/48'), ...POOL2, rule: 'block-size-range', path: 'spec.blockSize', message: /IPv6 block size must be between 116 and 128/ },
  { title: 'pool smaller than its block size', sources: badPool({}, '172.16.0.0/28'), ...POOL2, rule: 'pool-smaller-than-block', path: 'spec.cidr', message: /^IP pool size is too small for use with Calico IPAM/ },
  { title: 'pool inside link-local', sources: badPool({}, '169.254.0.0/16'), ...POOL2, rule: 'link-local-overlap', path: 'spec.cidr', message: 'IP pool range overlaps with IPv4 Link Local range 169.254.0.0/16' },
  { title: 'pool containing link-local', sources: badPool({}, '169.0.0.0/8'), ...POOL2, rule: 'link-local-overlap', path: 'spec.cidr' },
  { title: 'IPv6 pool in fe80::/10', sources: badPool({ vxlanMode: 'Never' }, 'fe80::/64'), ...POOL2, rule: 'link-local-overlap', path: 'spec.cidr', message: /fe80::\/10/ },
  // ── IPPool: burrow's own range rules (issue 13) ──────────────────────────────────────────
  {
    title: 'pool larger than a /8 (0.0.0.0/1: half the Internet, loopback and "this network")', sources: badPool({}, '0.0.0.0/1'), ...POOL2, rule: 'pool-too-large', path: 'spec.cidr', count: 9, // and 0.0.0.0/8, 127.0.0.0/8, the three lab nodes' addresses (on each Node and on the pool)
    message: 'IP pool size is too large: an IPv4 pool may be at most a /8 (the size of 10.0.0.0/8, the largest private range), got /1; a larger pool takes in public addresses, which would be routed into the tunnel and masqueraded',
  },
  { title: 'pool of /7 (larger than a /8, nothing reserved)', sources: badPool({}, '172.0.0.0/7'), ...POOL2, rule: 'pool-too-large', path: 'spec.cidr', message: /may be at most a \/8 .*got \/7/ },
  { title: 'pool in "this network" 0.0.0.0/8', sources: badPool({}, '0.0.0.0/8'), ...POOL2, rule: 'reserved-range-overlap', path: 'spec.cidr', message: 'IP pool range overlaps with IPv4 "this network" range 0.0.0.0/8' },
  { title: 'pool in loopback 127.0.0.0/8', sources: badPool({}, '127.0.0.0/8'), ...POOL2, rule: 'reserved-range-overlap', path: 'spec.cidr', message: 'IP pool range overlaps with IPv4 loopback range 127.0.0.0/8' },
  { title: 'pool inside loopback', sources: badPool({}, '127.1.0.0/16'), ...POOL2, rule: 'reserved-range-overlap', path: 'spec.cidr', message: 'IP pool range overlaps with IPv4 loopback range 127.0.0.0/8' },
  { title: 'pool 224.0.0.0/4: multicast, and larger than a /8', sources: badPool({}, '224.0.0.0/4'), ...POOL2, rule: 'reserved-range-overlap', path: 'spec.cidr', count: 2, message: 'IP pool range overlaps with IPv4 multicast range 224.0.0.0/4' },
  { title: 'pool inside multicast', sources: badPool({}, '239.1.0.0/16'), ...POOL2, rule: 'reserved-range-overlap', path: 'spec.cidr', message: 'IP pool range overlaps with IPv4 multicast range 224.0.0.0/4' },
  { title: 'pool 240.0.0.0/4: reserved, and larger than a /8', sources: badPool({}, '240.0.0.0/4'), ...POOL2, rule: 'reserved-range-overlap', path: 'spec.cidr', count: 2, message: 'IP pool range overlaps with IPv4 reserved (and limited broadcast 255.255.255.255) range 240.0.0.0/4' },
  { title: 'pool 255.255.255.255/32 (the broadcast address)', sources: badPool({ blockSize: 32 }, '255.255.255.255/32'), ...POOL2, rule: 'reserved-range-overlap', path: 'spec.cidr', message: /reserved \(and limited broadcast 255\.255\.255\.255\) range 240\.0\.0\.0\/4$/ },
  { title: 'disabled pool in loopback (disabled pools still route and NAT)', sources: badPool({ disabled: true }, '127.0.0.0/8'), ...POOL2, rule: 'reserved-range-overlap', path: 'spec.cidr' },

  // ── Nodes against pools (issue 13) ───────────────────────────────────────────────────────
  {
    title: 'pool equal to the nodes\' uplink subnet: each node address in it is refused (on the Node, and on the pool)', sources: badPool({}, '10.0.1.0/24'), count: 4,
    file: 'nodes.yaml', document: 1, kind: 'Node', name: 'node-a', rule: 'node-address-in-pool', path: 'spec.bgp.ipv4Address',
    message: 'node address 10.0.1.10 is inside IPPool bad 10.0.1.0/24 (pools.yaml document 2): pool addresses are pod addresses, so a pod could pose as this node and traffic to the node would be routed as pod traffic, into the tunnel whose endpoint it is (recursive encapsulation); a node address must be outside every IPPool and block',
  },
  {
    title: 'pool inside a node\'s subnet, holding no node address', sources: badPool({}, '10.0.2.128/25'),
    file: 'nodes.yaml', document: 3, kind: 'Node', name: 'node-c', rule: 'node-subnet-overlaps-pool', path: 'spec.bgp.ipv4Address',
    message: 'the node\'s subnet 10.0.2.0/24 overlaps IPPool bad 10.0.2.128/25 (pools.yaml document 2): pod routes would take over addresses of the nodes\' own network; an IPPool must not overlap any node\'s subnet',
  },
  {
    title: 'pool holding a /32 node address', sources: lab({ nodes: [...LAB_NODES, node('node-d', '172.16.5.5/32')], extraPools: [pool('bad', '172.16.0.0/16')] }), count: 2,
    file: 'nodes.yaml', document: 4, name: 'node-d', rule: 'node-address-in-pool', path: 'spec.bgp.ipv4Address', message: /^node address 172\.16\.5\.5 is inside IPPool bad 172\.16\.0\.0\/16 \(pools\.yaml document 2\)/,
  },
  {
    title: 'node whose address is a pod address in another node\'s block', sources: lab({ nodes: [...LAB_NODES, node('node-d', '192.168.2.5/24')] }), count: 2,
    file: 'nodes.yaml', document: 4, kind: 'Node', name: 'node-d', rule: 'node-address-in-pool', path: 'spec.bgp.ipv4Address',
    message: /^node address 192\.168\.2\.5 is inside IPPool lab-pool 192\.168\.0\.0\/16 \(pools\.yaml document 1\): pool addresses are pod addresses, so a pod could pose as this node/,
  },
  {
    title: 'no recursion (issue 12): a block holding a node\'s tunnel endpoint is refused (every block lies in a pool)',
    sources: lab({ nodes: [...LAB_NODES, node('node-d', '192.168.2.5/24')], blocks: [block('node-b', '192.168.2.0/26')] }), count: 2,
    file: 'nodes.yaml', document: 4, kind: 'Node', name: 'node-d', rule: 'node-address-in-pool', path: 'spec.bgp.ipv4Address',
    message: /^node address 192\.168\.2\.5 is inside IPPool lab-pool .*into the tunnel whose endpoint it is \(recursive encapsulation\)/,
  },
  {
    title: 'no recursion (issue 12): the pool holding a node\'s tunnel endpoint is told so at its own spec.cidr',
    sources: lab({ nodes: [...LAB_NODES, node('node-d', '192.168.2.5/24')], blocks: [block('node-b', '192.168.2.0/26')] }), count: 2,
    file: 'pools.yaml', document: 1, kind: 'IPPool', name: 'lab-pool', rule: 'pool-contains-node-address', path: 'spec.cidr',
    message: /^IPPool lab-pool 192\.168\.0\.0\/16 contains the address 192\.168\.2\.5 of Node node-d \(nodes\.yaml document 4\), a tunnel endpoint: .*recursive encapsulation/,
  },
  {
    title: 'the pool is refused against a node whatever the load order (node file after the pool file)',
    sources: [...lab({ blocks: [block('node-a', '192.168.0.0/26')] }).filter((f) => f.file !== 'nodes.yaml'), src('zz-nodes.yaml', yamlDocs(node('node-a', '10.0.1.10/24'), node('node-b', '192.168.9.1/24')))], count: 2,
    file: 'zz-nodes.yaml', document: 2, name: 'node-b', rule: 'node-address-in-pool', path: 'spec.bgp.ipv4Address',
  },

  {
    title: 'overlapping pools name both', sources: badPool({}, '192.168.128.0/17'), ...POOL2, rule: 'pool-overlap', path: 'spec.cidr',
    message: 'IPPool(bad) CIDR overlaps with IPPool(lab-pool) CIDR 192.168.0.0/16 (pools.yaml document 1)',
  },
  { title: 'a rejected pool does not make its blocks "outside every pool"', sources: lab({ poolSpec: { ipipMode: 'Sometimes' } }), file: 'pools.yaml', document: 1, name: 'lab-pool', rule: 'invalid-enum', path: 'spec.ipipMode' },
  { title: 'duplicate pool name', sources: lab({ extraPools: [pool('lab-pool', '172.16.0.0/16')] }), rule: 'duplicate-name', path: 'metadata.name', document: 2, name: 'lab-pool', message: /also defined in pools\.yaml document 1/ },

  // ── BlockAffinity ────────────────────────────────────────────────────────────────────────
  { title: 'block outside every pool', sources: lab({ blocks: [block('node-a', '10.99.0.0/26')] }), file: 'blocks.yaml', rule: 'block-outside-pools', path: 'spec.cidr', kind: 'BlockAffinity', message: /not inside any IPPool \(pools: lab-pool 192\.168\.0\.0\/16\)/ },
  { title: 'block of the wrong size', sources: lab({ blocks: [block('node-a', '192.168.0.0/24')] }), rule: 'block-size-mismatch', path: 'spec.cidr', message: 'BlockAffinity CIDR 192.168.0.0/24 is a /24 but IPPool lab-pool has blockSize 26' },
  { title: 'block of an unknown node', sources: lab({ blocks: [block('node-d', '192.168.0.0/26')] }), rule: 'block-unknown-node', path: 'spec.node', message: /Node 'node-d', which is not defined; did you mean 'node-a'\?/ },
  { title: 'block claimed by two nodes', sources: lab({ blocks: [block('node-a', '192.168.0.0/26'), block('node-b', '192.168.0.0/26')] }), document: 2, rule: 'block-conflict', path: 'spec.cidr', message: /already affine to node node-a/ },
  { title: 'block cidr with host bits', sources: lab({ blocks: [block('node-a', '192.168.0.1/26')] }), rule: 'block-cidr', path: 'spec.cidr', message: /did you mean 192\.168\.0\.0\/26\?/ },
  { title: 'block deleted flag not a boolean', sources: lab({ blocks: [block('node-a', '192.168.0.0/26', { deleted: 'maybe' })] }), rule: 'invalid-type', path: 'spec.deleted' },
  { title: 'block in loopback (and outside every pool: one error, no cascade)', sources: lab({ blocks: [block('node-a', '127.0.0.0/26')] }), rule: 'reserved-range-overlap', path: 'spec.cidr', kind: 'BlockAffinity', message: 'BlockAffinity CIDR 127.0.0.0/26 overlaps with IPv4 loopback range 127.0.0.0/8' },
  { title: 'block in multicast', sources: lab({ blocks: [block('node-a', '224.0.0.0/26')] }), rule: 'reserved-range-overlap', path: 'spec.cidr', message: /multicast range 224\.0\.0\.0\/4$/ },
  { title: 'block 0.0.0.0/26', sources: lab({ blocks: [block('node-a', '0.0.0.0/26')] }), rule: 'reserved-range-overlap', path: 'spec.cidr', message: /"this network" range 0\.0\.0\.0\/8$/ },
  { title: 'block state outside the enum', sources: lab({ blocks: [block('node-a', '192.168.0.0/26', { state: 'claimed' })] }), rule: 'invalid-enum', path: 'spec.state' },

  // ── Node ─────────────────────────────────────────────────────────────────────────────────
  { title: 'node address without prefix', sources: lab({ nodes: [node('node-a', '10.0.1.10'), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }), file: 'nodes.yaml', document: 1, kind: 'Node', name: 'node-a', rule: 'node-address', path: 'spec.bgp.ipv4Address', message: /has no prefix length/ },
  { title: 'node address with a bad octet', sources: lab({ nodes: [node('node-a', '10.0.1.300/24'), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }), rule: 'node-address', path: 'spec.bgp.ipv4Address' },
  { title: 'node address that is loopback', sources: lab({ nodes: [node('node-a', '127.0.0.2/8'), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }), rule: 'node-address', path: 'spec.bgp.ipv4Address', message: 'ipv4Address 127.0.0.2 is in the IPv4 loopback range 127.0.0.0/8, not a usable unicast node address' },
  { title: 'node address that is multicast', sources: lab({ nodes: [node('node-a', '224.0.0.5/24'), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }), rule: 'node-address', path: 'spec.bgp.ipv4Address', message: /224\.0\.0\.5 is in the IPv4 multicast range 224\.0\.0\.0\/4/ },
  { title: 'node address that is the broadcast address', sources: lab({ nodes: [node('node-a', '255.255.255.255/32'), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }), rule: 'node-address', path: 'spec.bgp.ipv4Address', message: /255\.255\.255\.255 is in the IPv4 reserved \(and limited broadcast 255\.255\.255\.255\) range/ },
  { title: 'node address in "this network"', sources: lab({ nodes: [node('node-a', '0.1.2.3/8'), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }), rule: 'node-address', path: 'spec.bgp.ipv4Address', message: /"this network" range 0\.0\.0\.0\/8/ },
  { title: 'node address given as IPv6', sources: lab({ nodes: [node('node-a', 'fd00::10/64'), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }), rule: 'node-address', path: 'spec.bgp.ipv4Address' },
  { title: 'node without bgp', sources: lab({ nodes: [{ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-a' }, spec: {} }, node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }), rule: 'required', path: 'spec.bgp' },
  { title: 'two nodes with one address', sources: lab({ nodes: [node('node-a', '10.0.1.10/24'), node('node-b', '10.0.1.10/24'), node('node-c', '10.0.2.10/24')] }), document: 2, name: 'node-b', rule: 'duplicate-node-address', path: 'spec.bgp.ipv4Address', message: /already the address of Node node-a/ },
  { title: 'VTEP MAC that is not a MAC', sources: lab({ nodes: [node('node-a', '10.0.1.10/24', { vxlanTunnelMACAddr: 'zz:00:00:00:00:01' }), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }), rule: 'vtep-mac', path: 'spec.vxlanTunnelMACAddr' },
  { title: 'VTEP MAC that is multicast', sources: lab({ nodes: [node('node-a', '10.0.1.10/24', { vxlanTunnelMACAddr: '01:00:5e:00:00:01' }), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }), rule: 'vtep-mac', path: 'spec.vxlanTunnelMACAddr', message: /multicast/ },
  { title: 'VXLAN tunnel address that is not IPv4', sources: lab({ nodes: [node('node-a', '10.0.1.10/24', { ipv4VXLANTunnelAddr: '192.168.0.300' }), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')] }), rule: 'tunnel-address', path: 'spec.ipv4VXLANTunnelAddr' },

  // ── FelixConfiguration ───────────────────────────────────────────────────────────────────
  { title: 'VNI 0', sources: lab({ files: { 'felix.yaml': [felix({ vxlanVNI: 0 })] } }), file: 'felix.yaml', kind: 'FelixConfiguration', name: 'default', rule: 'vni-range', path: 'spec.vxlanVNI', message: 'vxlanVNI must be between 1 and 16777215, got 0' },
  { title: 'VNI 0x1000000', sources: lab({ files: { 'felix.yaml': [felix({ vxlanVNI: 0x1000000 })] } }), rule: 'vni-range', path: 'spec.vxlanVNI' },
  { title: 'VXLAN port 70000', sources: lab({ files: { 'felix.yaml': [felix({ vxlanPort: 70000 })] } }), rule: 'port-range', path: 'spec.vxlanPort' },
  { title: 'VXLAN port 0', sources: lab({ files: { 'felix.yaml': [felix({ vxlanPort: 0 })] } }), rule: 'port-range', path: 'spec.vxlanPort' },
  { title: 'IPIP MTU 40', sources: lab({ files: { 'felix.yaml': [felix({ ipipMTU: 40 })] } }), rule: 'mtu-range', path: 'spec.ipipMTU' },
  { title: 'VXLAN MTU not an integer', sources: lab({ files: { 'felix.yaml': [felix({ vxlanMTU: 1450.5 })] } }), rule: 'invalid-type', path: 'spec.vxlanMTU', message: /an integer/ },
  { title: 'ipipEnabled false while a pool uses IPIP', sources: lab({ files: { 'felix.yaml': [felix({ ipipEnabled: false })] } }), rule: 'felix-encap-disabled', path: 'spec.ipipEnabled', message: /IPPool lab-pool uses ipipMode Always \(the default for a pool that sets neither mode\)/ },

  // ── Konvoy ───────────────────────────────────────────────────────────────────────────────
  { title: 'Konvoy encapsulation gre', sources: lab({ files: { 'cluster.yaml': [konvoy({ encapsulation: 'gre' })] } }), kind: 'ClusterConfiguration', rule: 'invalid-enum', path: 'spec.kubernetes.containerNetworking.calico.encapsulation' },
  { title: 'Konvoy calico block is strict', sources: lab({ files: { 'cluster.yaml': [konvoy({ encap: 'vxlan' })] } }), rule: 'unknown-field', path: 'spec.kubernetes.containerNetworking.calico.encap', message: /did you mean 'encapsulation'/ },
  { title: 'two Konvoy ClusterConfigurations', sources: lab({ files: { 'cluster.yaml': [konvoy({ encapsulation: 'ipip' }), konvoy({ encapsulation: 'vxlan' })] } }), document: 2, rule: 'konvoy-duplicate', path: '' },
  { title: 'Konvoy apiVersion v1alpha1', sources: lab({ files: { 'cluster.yaml': [konvoy({}, 'konvoy.mesosphere.io/v1alpha1')] } }), rule: 'api-version', path: 'apiVersion' },

  // ── documents, kinds, lists ──────────────────────────────────────────────────────────────
  { title: 'IPPool with apiVersion v2', sources: lab({ extraPools: [{ ...pool('bad', '172.16.0.0/16'), apiVersion: 'projectcalico.org/v2' }] }), ...POOL2, rule: 'api-version', path: 'apiVersion', message: /expected projectcalico\.org\/v3/ },
  { title: 'misspelt kind', sources: lab({ extraPools: [{ ...pool('bad', '172.16.0.0/16'), kind: 'IPPol' }] }), document: 2, rule: 'unknown-kind', path: 'kind', message: "unknown kind 'IPPol'; did you mean 'IPPool'?" },
  { title: 'document without kind', sources: [...lab(), src('more.yaml', 'apiVersion: projectcalico.org/v3\nmetadata:\n  name: x\n')], file: 'more.yaml', rule: 'required', path: 'kind' },
  { title: 'YAML syntax error', sources: [...lab(), src('broken.yaml', 'kind: IPPool\nspec: [1\n')], file: 'broken.yaml', document: 1, rule: 'yaml-syntax', path: '', message: /^invalid YAML: .*line/ },
  { title: 'YAML duplicate key', sources: [...lab(), src('dup.yaml', 'kind: IPPool\nkind: Node\n')], rule: 'yaml-syntax', path: '', message: /unique/ },
  { title: 'YAML alias bomb', sources: [...lab(), src('bomb.yaml', 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n')], file: 'bomb.yaml', rule: 'yaml-syntax', path: '', message: /alias/i },
  { title: 'JSON syntax error', sources: [...lab(), src('pool.json', '{"kind": "IPPool",}')], file: 'pool.json', rule: 'json-syntax', path: '' },
  { title: 'a document that is a list', sources: [...lab(), src('list.yaml', '- 1\n- 2\n')], rule: 'not-a-resource', path: '' },
  {
    title: 'IPPoolList holding a Node', rule: 'list-item-kind', path: 'items[0].kind', file: 'list.yaml',
    sources: [...lab(), src('list.yaml', yamlDocs({ apiVersion: 'projectcalico.org/v3', kind: 'IPPoolList', items: [node('node-z', '10.0.9.9/24')] }))],
  },
  {
    title: 'error inside a List item carries the item path', rule: 'invalid-enum', path: 'items[1].spec.ipipMode', file: 'list.yaml', document: 1, kind: 'IPPool', name: 'p2',
    sources: [...lab(), src('list.yaml', yamlDocs({ apiVersion: 'v1', kind: 'List', items: [pool('p1', '172.16.0.0/16'), pool('p2', '172.17.0.0/16', { ipipMode: 'Sometimes' })] }))],
  },
];

for (const c of cases) {
  test(`rejects: ${c.title}`, (t) => {
    const errors = errorsOf(c.sources);
    t.is(errors.length, c.count ?? 1, errors.map((e) => `${e.rule} ${e.path}: ${e.message}`).join('\n'));
    const e = errors.find((x) => x.rule === c.rule && x.path === c.path);
    if (!e) {
      t.fail(`no error with rule ${c.rule} at '${c.path}'; got: ${errors.map((x) => `${x.rule} '${x.path}'`).join(', ')}`);
      return;
    }
    t.is(e.severity, 'error');
    if (c.file !== undefined) t.is(e.file, c.file);
    if (c.document !== undefined) t.is(e.document, c.document);
    if (c.kind !== undefined) t.is(e.kind, c.kind);
    if (c.name !== undefined) t.is(e.name, c.name);
    if (typeof c.message === 'string') t.is(e.message, c.message);
    else if (c.message) t.regex(e.message, c.message);
  });
}

test('the invalid-manifest table has at least 30 distinct cases', (t) => {
  t.true(cases.length >= 30);
  t.is(new Set(cases.map((c) => c.title)).size, cases.length);
});

test('every mistake in one load is reported, in file and document order', (t) => {
  const errors = errorsOf([
    src('a.yaml', yamlDocs(pool('p1', '172.16.1.0/16'), pool('p2', '172.17.0.0/16', { ipipMode: 'Sometimes' }))),
    src('b.yaml', yamlDocs(node('n1', '10.0.0.1'))),
  ]);
  t.deepEqual(
    errors.map((e) => [e.file, e.document, e.rule]),
    [['a.yaml', 1, 'cidr-not-strict'], ['a.yaml', 2, 'invalid-enum'], ['b.yaml', 1, 'node-address']],
  );
});
