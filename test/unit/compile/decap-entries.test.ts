// The `routes` entries decap reads (docs/datapath.md, "The path, the maps"): every IPv4 pool and
// every block of our own, with mode none, beside the remote blocks and node addresses; which one
// a CIDR gets when they coincide; that they change nothing for encapsulation; and the decap source
// check reaching the config map.
import test from 'ava';

import { configValueOf, desiredMapEntries, routeValueOf } from '../../../src/agent/map-entries.js';
import { BurrowConfigFlag, BurrowRouteFlag } from '../../../src/bpf/index.js';
import { buildIpipFrame, buildTcpFrame, decap, encap, peerMap, type RouteEntry } from '../../../src/codec/index.js';
import { compileDesiredState, type DesiredState } from '../../../src/compile/index.js';
import { block, lab, modelOf, pool } from '../config/_fixtures.js';

const kinds = (state: DesiredState) => state.routes.map((r) => [r.cidr, r.kind, r.mode, r.remote, r.node]);

test('every IPv4 pool and each of our blocks is an entry with mode none: the pool nobody\'s, our blocks ours', (t) => {
  const model = modelOf(lab({
    poolSpec: { natOutgoing: true },
    extraPools: [pool('services', '10.96.0.0/16', { ipipMode: 'Never', disabled: true }), pool('v6', 'fd00:10::/48', { vxlanMode: 'Always' })],
    blocks: [block('node-a', '192.168.0.0/26'), block('node-a', '10.96.0.0/26'), block('node-b', '192.168.1.0/26')],
  }));
  const state = compileDesiredState(model, 'node-a');
  t.deepEqual(kinds(state), [
    ['10.96.0.0/16', 'pool', 'none', '0.0.0.0', ''],
    ['10.96.0.0/26', 'local-block', 'none', '10.0.1.10', 'node-a'],
    ['192.168.0.0/16', 'pool', 'none', '0.0.0.0', ''],
    ['192.168.0.0/26', 'local-block', 'none', '10.0.1.10', 'node-a'],
    ['192.168.1.0/26', 'block', 'ipip', '10.0.1.11', 'node-b'],
  ]);
  const entries = desiredMapEntries(state).routes;
  t.like(entries.get('192.168.0.0/16')!.value, { mode: 0, remote: '0.0.0.0', vni: 0, flags: BurrowRouteFlag.nat_outgoing | BurrowRouteFlag.in_pool });
  t.like(entries.get('192.168.0.0/26')!.value, { mode: 0, remote: '10.0.1.10', flags: BurrowRouteFlag.nat_outgoing | BurrowRouteFlag.in_pool | BurrowRouteFlag.local });
  t.like(entries.get('10.96.0.0/16')!.value, { flags: BurrowRouteFlag.in_pool | BurrowRouteFlag.pool_disabled, pool: 1 });
  t.is(state.kernelRoutes.map((k) => k.dst).join(), '192.168.0.0/16', 'one route for the pool that tunnels; none for services (Never), the local blocks or IPv6');
});

test('a CIDR that is both: a block wins over its pool, ours or another node\'s', (t) => {
  const tiny = [pool('tiny', '10.96.0.0/26', { blockSize: 26 })];
  const ours = compileDesiredState(modelOf(lab({ extraPools: tiny, blocks: [block('node-a', '10.96.0.0/26')] })), 'node-a');
  t.deepEqual(kinds(ours).filter(([cidr]) => cidr === '10.96.0.0/26'), [['10.96.0.0/26', 'local-block', 'none', '10.0.1.10', 'node-a']]);
  const theirs = compileDesiredState(modelOf(lab({ extraPools: tiny, blocks: [block('node-b', '10.96.0.0/26')] })), 'node-a');
  t.deepEqual(kinds(theirs).filter(([cidr]) => cidr === '10.96.0.0/26'), [['10.96.0.0/26', 'block', 'ipip', '10.0.1.11', 'node-b']]);
  const none = compileDesiredState(modelOf(lab({ extraPools: tiny, blocks: [] })), 'node-a');
  t.deepEqual(kinds(none).filter(([cidr]) => cidr === '10.96.0.0/26'), [['10.96.0.0/26', 'pool', 'none', '0.0.0.0', '']]);
});

test('the new entries change nothing for encapsulation: a pod packet to our block or to a pool address passes', (t) => {
  const state = compileDesiredState(modelOf(lab()), 'node-b');
  const routes: RouteEntry[] = state.routes.map((r) => {
    const v = routeValueOf(r);
    return { cidr: r.cidr, route: { mode: r.mode, remote: v.remote, vni: v.vni, vtepMac: v.vtep_mac, flags: v.flags, pool: v.pool } };
  });
  const config = { localIp: '10.0.1.11', uplinkIfindex: 2, uplinkMac: '02:00:00:00:00:0b', vtepMac: '66:00:00:00:00:0b', vxlanPort: 4789, ttl: 0, defaultVni: 4096, uplinkMtu: 1500, flags: 0 };
  const to = (dst: string) => encap(buildTcpFrame({ src: '192.168.1.5', dst, sport: 1, dport: 2 }), { routes, config, hook: 'tc' }).counter;
  t.is(to('192.168.1.9'), 'PASS', 'our own block');
  t.is(to('192.168.77.9'), 'PASS', 'in the pool, in no block');
  t.is(to('192.168.0.9'), 'ENCAP_IPIP', 'node-a\'s block is still tunnelled');
});

test('what node-a compiles is what its decap needs: node-b\'s pods and node-b itself in, forged and foreign sources out', (t) => {
  const atA = compileDesiredState(modelOf(lab()), 'node-a');
  const routes: RouteEntry[] = atA.routes.map((r) => {
    const v = routeValueOf(r);
    return { cidr: r.cidr, route: { mode: r.mode, remote: v.remote, vni: v.vni, vtepMac: v.vtep_mac, flags: v.flags, pool: v.pool } };
  });
  const config = { ...configValueOfCodec(atA), flags: 0 };
  const peers = peerMap(atA.peers.map((p) => [p.address, { modes: new Set(p.modes), vni: p.vni }] as const));
  const fromB = (src: string, dst = '192.168.0.5') => decap(buildIpipFrame({
    src: '10.0.1.11', dst: '10.0.1.10', inner: buildTcpFrame({ src, dst, sport: 1, dport: 2 }).slice(14),
  }), { routes, config, peers }).counter;
  t.is(fromB('192.168.1.5'), 'DECAP_IPIP', 'a pod of node-b');
  t.is(fromB('10.0.1.11'), 'DECAP_IPIP', 'node-b itself');
  t.is(fromB('192.168.2.5'), 'DROP_SPOOFED', 'a pod of node-c');
  t.is(fromB('192.168.0.9'), 'DROP_SPOOFED', 'a pod of ours');
  t.is(fromB('192.168.99.9'), 'DROP_SPOOFED', 'a pool address in no block');
  t.is(fromB('1.2.3.4'), 'DROP_SPOOFED', 'outside the pools');
  t.is(fromB('192.168.1.5', '8.8.8.8'), 'DROP_OUTSIDE_POOL', 'to the internet');
  t.is(fromB('192.168.1.5', '192.168.2.9'), 'DECAP_IPIP', 'to another node\'s pod: inside the pools');
  t.is(decap(buildIpipFrame({ src: '10.0.1.11', dst: '10.0.1.10', inner: buildTcpFrame({ src: '192.168.99.9', dst: '192.168.0.5', sport: 1, dport: 2 }).slice(14) }),
    { routes, config: { ...config, flags: BurrowConfigFlag.decap_src_pool }, peers }).counter, 'DECAP_IPIP', 'pool check: a pool address in no block');
});

function configValueOfCodec(state: DesiredState) {
  const c = configValueOf(state.node);
  return {
    localIp: c.local_ip, uplinkIfindex: c.uplink_ifindex, uplinkMac: c.uplink_mac, vtepMac: c.vtep_mac, vxlanPort: c.vxlan_port,
    ttl: c.ttl, defaultVni: c.default_vni, uplinkMtu: c.uplink_mtu, flags: c.flags,
  };
}

test('--decap-source-check: strict by default, pool sets BURROW_CFG_DECAP_SRC_POOL in the config entry', (t) => {
  const model = modelOf(lab());
  const strict = compileDesiredState(model, 'node-a');
  t.is(strict.node.decapSourceCheck, 'strict');
  t.is(configValueOf(strict.node).flags, 0);
  const loose = compileDesiredState(model, 'node-a', { decapSourceCheck: 'pool' });
  t.is(loose.node.decapSourceCheck, 'pool');
  t.is(configValueOf(loose.node).flags, BurrowConfigFlag.decap_src_pool);
});

test('an uplink chosen by the FIB (loopback tunnel source, several uplinks) sets BURROW_CFG_UPLINK_FIB; a single uplink does not', (t) => {
  const node = compileDesiredState(modelOf(lab()), 'node-a', { decapSourceCheck: 'pool' }).node;
  const uplink = { ifindex: 7, mac: '02:00:00:00:00:07', mtu: 1500 };
  t.is(configValueOf(node, uplink).flags, BurrowConfigFlag.decap_src_pool);
  t.is(configValueOf(node, { ...uplink, fib: true }).flags, BurrowConfigFlag.decap_src_pool | BurrowConfigFlag.uplink_fib);
  t.is(configValueOf(node, { ...uplink, fib: true }).uplink_ifindex, 7, 'the first uplink still marks the entry as having one (step 7)');
});
