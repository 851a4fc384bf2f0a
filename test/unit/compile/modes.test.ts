// The encapsulation decision, as a table: Always / CrossSubnet / Never × IPIP / VXLAN, seen
// from node-a towards node-b (same subnet 10.0.1.0/24) and node-c (10.0.2.0/24).
import test from 'ava';
import { createHash } from 'node:crypto';
import { compileDesiredState, type KernelRoute, type TunnelMode } from '../../../src/compile/index.js';
import { lab, modelOf } from '../config/_fixtures.js';

/** Calico's VTEP MAC, computed here without the code under test. */
const vtep = (name: string) => `66${createHash('sha1').update(name).digest('hex').slice(0, 10)}`.replace(/(..)(?!$)/g, '$1:');

type Encap = 'ipip' | 'vxlan';
type When = 'Always' | 'CrossSubnet' | 'Never';

interface Row {
  encap: Encap;
  when: When;
  toB: TunnelMode; // same subnet
  toC: TunnelMode; // other subnet
  peers: [string, Encap[]][]; // who may send node-a tunnel packets
}

const rows: Row[] = [
  { encap: 'ipip', when: 'Always', toB: 'ipip', toC: 'ipip', peers: [['10.0.1.11', ['ipip']], ['10.0.2.10', ['ipip']]] },
  { encap: 'ipip', when: 'CrossSubnet', toB: 'none', toC: 'ipip', peers: [['10.0.2.10', ['ipip']]] },
  { encap: 'ipip', when: 'Never', toB: 'none', toC: 'none', peers: [] },
  { encap: 'vxlan', when: 'Always', toB: 'vxlan', toC: 'vxlan', peers: [['10.0.1.11', ['vxlan']], ['10.0.2.10', ['vxlan']]] },
  { encap: 'vxlan', when: 'CrossSubnet', toB: 'none', toC: 'vxlan', peers: [['10.0.2.10', ['vxlan']]] },
  { encap: 'vxlan', when: 'Never', toB: 'none', toC: 'none', peers: [] },
];

const MTU = { ipip: 1480, vxlan: 1450 } as const;

/** A block's own kernel route: a direct one when it is not tunnelled and its node shares our subnet (the pool's route carries the tunnelled ones). */
function expectedBlockRoute(dst: string, via: string, node: string, mode: TunnelMode, sameSubnet: boolean): KernelRoute | undefined {
  return mode === 'none' && sameSubnet ? { type: 'direct', dst, via, node } : undefined;
}

for (const row of rows) {
  test(`${row.encap}Mode ${row.when}: node-a → node-b ${row.toB}, → node-c ${row.toC}`, (t) => {
    const model = modelOf(lab({ poolSpec: { [`${row.encap}Mode`]: row.when, natOutgoing: true } }));
    const state = compileDesiredState(model, 'node-a');

    // The pool and node-a's own block (192.168.0.0/26) are entries with mode none (decap reads
    // them); only the other nodes' blocks can be tunnelled.
    t.deepEqual(state.routes, [
      {
        kind: 'pool', cidr: '192.168.0.0/16', mode: 'none', remote: '0.0.0.0', node: '', vni: 4096, vtepMac: '00:00:00:00:00:00',
        natOutgoing: true, sameSubnet: false, inPool: true, poolDisabled: false, pool: { name: 'lab-pool', index: 0 },
      },
      {
        kind: 'local-block', cidr: '192.168.0.0/26', mode: 'none', remote: '10.0.1.10', node: 'node-a', vni: 4096, vtepMac: vtep('node-a'),
        natOutgoing: true, sameSubnet: false, inPool: true, poolDisabled: false, pool: { name: 'lab-pool', index: 0 },
      },
      {
        kind: 'block', cidr: '192.168.1.0/26', mode: row.toB, remote: '10.0.1.11', node: 'node-b', vni: 4096, vtepMac: vtep('node-b'),
        natOutgoing: true, sameSubnet: true, inPool: true, poolDisabled: false, pool: { name: 'lab-pool', index: 0 },
      },
      {
        kind: 'block', cidr: '192.168.2.0/26', mode: row.toC, remote: '10.0.2.10', node: 'node-c', vni: 4096, vtepMac: vtep('node-c'),
        natOutgoing: true, sameSubnet: false, inPool: true, poolDisabled: false, pool: { name: 'lab-pool', index: 0 },
      },
    ]);
    // One route into the tunnel device for the whole pool when it encapsulates at all.
    const poolRoute: KernelRoute | undefined = row.when === 'Never' ? undefined
      : { type: 'tunnel', dst: '192.168.0.0/16', dev: 'burrow0', via: '169.254.1.1', onlink: true, mtu: MTU[row.encap], mode: row.encap, pool: 'lab-pool' };
    t.deepEqual(state.kernelRoutes, [
      poolRoute,
      expectedBlockRoute('192.168.1.0/26', '10.0.1.11', 'node-b', row.toB, true),
      expectedBlockRoute('192.168.2.0/26', '10.0.2.10', 'node-c', row.toC, false),
    ].filter((r) => r !== undefined));
    t.deepEqual(state.peers.map((p) => [p.address, [...p.modes]]), row.peers);
    t.true(state.peers.every((p) => p.vni === 4096));
    // Never towards another subnet: no kernel route, and a warning says the underlay must route.
    t.deepEqual(state.warnings.map((w) => w.rule), row.toC === 'none' ? ['direct-route-off-subnet'] : []);
  });
}

test('CrossSubnet seen from node-c: both other nodes are across the router', (t) => {
  const state = compileDesiredState(modelOf(lab({ poolSpec: { ipipMode: 'CrossSubnet' } })), 'node-c');
  t.deepEqual(state.routes.filter((r) => r.kind === 'block').map((r) => [r.cidr, r.mode, r.sameSubnet]), [['192.168.0.0/26', 'ipip', false], ['192.168.1.0/26', 'ipip', false]]);
  t.deepEqual(state.peers.map((p) => p.node), ['node-a', 'node-b']);
});

test('node config: local address, defaults, derived tunnel MTUs, options passed through', (t) => {
  const state = compileDesiredState(modelOf(lab()), 'node-b', { uplinkMtu: 9000, uplinkIfindex: 7, uplinkMac: '02:00:00:00:00:0B', tunnelDevice: 'tun9', ttl: 32 });
  t.deepEqual(state.node, {
    name: 'node-b', localIp: '10.0.1.11', prefixLength: 24, uplinkIfindex: 7, uplinkMac: '02:00:00:00:00:0b', vtepMac: vtep('node-b'),
    vxlanPort: 4789, defaultVni: 4096, ttl: 32, uplinkMtu: 9000, tunnelMtu: { ipip: 8980, vxlan: 8950 }, tunnelDevice: 'tun9',
    decapSourceCheck: 'strict', mssClamp: true,
  });
  t.true(state.kernelRoutes.every((r) => r.type === 'tunnel' && r.dev === 'tun9' && r.mtu === 8980));
});

test('node config defaults: uplink MTU 1500, burrow0, TTL 64, unknown ifindex and MAC', (t) => {
  const { node } = compileDesiredState(modelOf(lab()), 'node-a');
  t.deepEqual([node.uplinkMtu, node.tunnelMtu, node.tunnelDevice, node.ttl, node.uplinkIfindex, node.uplinkMac], [1500, { ipip: 1480, vxlan: 1450 }, 'burrow0', 64, 0, null]);
});
