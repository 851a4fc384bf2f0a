// `agentctl compile`, spawned for real. Includes the issue's Done-when check: seed 000's
// CrossSubnet pool with the lab's nodes and blocks, compiled for node-a, leaves the same-subnet
// node (node-b) unencapsulated and tunnels to the other subnet's node (node-c) over IPIP.
import test from 'ava';

import { agentctl, agentctlJson, manifestFixture } from '../../helpers/agentctl.js';

const LAB = manifestFixture('lab');
const CROSS_SUBNET = manifestFixture('seeds/000-ippool-ipip-cross-subnet.yaml');

interface CompiledJson {
  node: { name: string; localIp: string; tunnelMtu: { ipip: number; vxlan: number } };
  routes: { cidr: string; kind: string; mode: string; remote: string; node: string; sameSubnet: boolean; natOutgoing: boolean }[];
  peers: { address: string; modes: string[]; node: string }[];
  kernelRoutes: { type: string; dst: string; via: string; dev?: string; mtu?: number }[];
  nat: { sourceCidr: string }[];
}

test('Done-when: CrossSubnet at node-a — same-subnet remotes mode none, other-subnet remotes ipip', async (t) => {
  const out = await agentctlJson<CompiledJson>(['compile', '-f', CROSS_SUBNET, LAB, '--node', 'node-a', '-o', 'json']);
  t.is(out.node.name, 'node-a');
  t.is(out.node.localIp, '10.0.1.10');
  t.deepEqual(
    out.routes.map((r) => [r.cidr, r.node, r.mode, r.remote, r.sameSubnet]),
    [
      // The pool and node-a's own blocks: never tunnelled; decap checks inner addresses against them.
      ['192.168.0.0/16', '', 'none', '0.0.0.0', false],
      ['192.168.0.0/26', 'node-a', 'none', '10.0.1.10', false],
      ['192.168.0.64/26', 'node-a', 'none', '10.0.1.10', false],
      ['192.168.1.0/26', 'node-b', 'none', '10.0.1.11', true],
      ['192.168.2.0/26', 'node-c', 'ipip', '10.0.2.10', false],
    ],
  );
  // Only the node that tunnels to us may send us tunnel packets.
  t.deepEqual(out.peers.map((p) => [p.address, p.modes]), [['10.0.2.10', ['ipip']]]);
  // One route takes the pool into the tunnel device; node-b's same-subnet block, more specific, goes direct.
  t.deepEqual(out.kernelRoutes.map((k) => [k.type, k.dst, k.via, k.dev ?? null, k.mtu ?? null]), [
    ['tunnel', '192.168.0.0/16', '169.254.1.1', 'burrow0', 1480],
    ['direct', '192.168.1.0/26', '10.0.1.11', null, null],
  ]);
  t.deepEqual(out.nat.map((n) => n.sourceCidr), ['192.168.0.0/16']);
});

test('Done-when, seen from node-c: both 10.0.1.0/24 nodes are cross-subnet, so both are ipip', async (t) => {
  const out = await agentctlJson<CompiledJson>(['compile', '-f', CROSS_SUBNET, LAB, '--node', 'node-c', '-o', 'json']);
  const remote = out.routes.filter((r) => r.kind === 'block');
  t.is(remote.length, 3);
  t.true(remote.every((r) => r.mode === 'ipip' && !r.sameSubnet), JSON.stringify(out.routes));
  t.deepEqual(out.routes.filter((r) => r.kind !== 'block').map((r) => [r.kind, r.cidr, r.mode]), [['pool', '192.168.0.0/16', 'none'], ['local-block', '192.168.2.0/26', 'none']]);
});

test('the table has its section titles and column headers', async (t) => {
  const r = await agentctl(['compile', '-f', CROSS_SUBNET, LAB, '--node', 'node-a']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.regex(lines[0]!, /^node node-a {2}address 10\.0\.1\.10\/24 {2}vtep 66:[0-9a-f:]+ {2}vni 4096 {2}port 4789 {2}mtu ipip 1480 vxlan 1450$/);
  for (const [title, header] of [
    ['ROUTES', /^CIDR +MODE +REMOTE +NODE +VNI +VTEP MAC +FLAGS +POOL$/],
    ['PEERS', /^ADDRESS +NODE +MODES +VNI$/],
    ['KERNEL ROUTES', /^DST +VIA +DEV +MTU$/],
    ['NAT (masquerade)', /^SOURCE +EXCEPT TO +POOL$/],
  ] as const) {
    const i = lines.indexOf(title);
    t.true(i > 0, `section ${title}`);
    t.regex(lines[i + 1]!, header);
  }
  t.regex(r.stdout, /^192\.168\.2\.0\/26 +ipip +10\.0\.2\.10 +node-c /m);
});

test('an unknown node: exit 1 and a suggestion', async (t) => {
  const r = await agentctl(['compile', '-f', CROSS_SUBNET, LAB, '--node', 'node-x']);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.regex(r.stderr, /local node 'node-x' is not defined by any Node manifest; did you mean 'node-a'\?/);
});
