// agentd's small pure decisions: the decap hook for an uplink, --listen, pin and device names.
import test from 'ava';

import { attachmentPinName } from '../../../src/agent/attach.js';
import { parseListen } from '../../../src/agent/metrics.js';
import { tunnelPeerName } from '../../../src/agent/tunnel-device.js';
import { chooseDecapHook, chooseGroHop, type UplinkInfo } from '../../../src/agent/uplink.js';

const uplink = (kind: string | undefined, driver: string | undefined, offloads?: UplinkInfo['offloads']): UplinkInfo =>
  ({ name: 'eth0', ifindex: 2, mac: '02:00:00:00:00:01', mtu: 1500, kind, driver, ...(offloads ? { offloads } : {}) });
const veth = { gro: false, tso: true, gso: true };
const wire = { gro: true, tso: false, gso: false };

test('decap hook: explicit wins; auto is TC on veth as it comes and driverless devices, XDP with a driver or on a wire-like veth', (t) => {
  const cases: Array<[Parameters<typeof chooseDecapHook>[0], UplinkInfo, string, { vxlan: boolean; groHop?: boolean }?]> = [
    ['xdp', uplink('veth', undefined), 'xdp'],
    ['tc', uplink(undefined, 'ixgbe'), 'tc'],
    ['tc', uplink('veth', undefined, wire), 'tc'],
    ['auto', uplink('veth', undefined), 'tc'],
    ['auto', uplink('veth', undefined, veth), 'tc'],
    ['auto', uplink('veth', undefined, { ...wire, gro: false }), 'tc'],
    ['auto', uplink('veth', undefined, { ...wire, tso: true }), 'tc'],
    ['auto', uplink('veth', undefined, { ...wire, gso: true }), 'tc'],
    ['auto', uplink('veth', undefined, wire), 'xdp'],
    ['auto', uplink('veth', undefined, wire), 'xdp', { vxlan: true }],
    ['auto', uplink('veth', undefined, wire), 'tc', { vxlan: false }],
    // With tc_decap's GRO hop VXLAN is merged after TC decap too: TC on a wire-like veth.
    ['auto', uplink('veth', undefined, wire), 'tc', { vxlan: true, groHop: true }],
    ['auto', uplink('veth', undefined, wire), 'xdp', { vxlan: true, groHop: false }],
    ['auto', uplink('veth', undefined, veth), 'tc', { vxlan: true, groHop: true }],
    ['auto', uplink(undefined, 'virtio_net'), 'xdp', { vxlan: true, groHop: true }],
    ['auto', uplink('veth', undefined, veth), 'tc', { vxlan: true }],
    ['auto', uplink(undefined, 'virtio_net'), 'xdp', { vxlan: false }],
    ['auto', uplink('bond', undefined), 'tc'],
    ['auto', uplink('bond', undefined, wire), 'tc'],
    ['auto', uplink(undefined, 'virtio_net'), 'xdp'],
  ];
  for (const [requested, u, want, use] of cases) t.is(chooseDecapHook(requested, u, use).hook as string, want, `${requested} on ${u.kind ?? u.driver} ${JSON.stringify(u.offloads)} ${JSON.stringify(use)}`);
});

test('--vxlan-gro: explicit wins; auto is off when any uplink is a veth carrying GSO segments, on for links that segment', (t) => {
  const on = (requested: Parameters<typeof chooseGroHop>[0], ...uplinks: UplinkInfo[]) => chooseGroHop(requested, uplinks).on;
  t.true(on('auto', uplink('veth', undefined, wire)));
  t.true(on('auto', uplink(undefined, 'ixgbe')));
  t.true(on('auto', uplink(undefined, 'ixgbe', { gro: true, tso: true, gso: true })), 'a NIC segments on the wire whatever its TSO');
  t.true(on('auto', uplink('bond', undefined)));
  t.false(on('auto', uplink('veth', undefined, veth)));
  t.false(on('auto', uplink('veth', undefined)), 'a veth whose offloads could not be read: as it comes');
  t.false(on('auto', uplink('veth', undefined, { ...wire, gso: true })));
  t.false(on('auto', uplink(undefined, 'ixgbe'), uplink('veth', undefined, veth)), 'one GSO veth among the uplinks is enough');
  t.true(on('on', uplink('veth', undefined, veth)));
  t.false(on('off', uplink('veth', undefined, wire)));
  t.regex(chooseGroHop('auto', [uplink('veth', undefined, veth)]).reason, /eth0 is a veth carrying GSO segments/);
});

test('--listen: PORT, :PORT, HOST:PORT', (t) => {
  t.deepEqual(parseListen('9464'), { host: '127.0.0.1', port: 9464 });
  t.deepEqual(parseListen(':9464'), { host: '127.0.0.1', port: 9464 });
  t.deepEqual(parseListen('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
  t.deepEqual(parseListen('[::]:9436'), { host: '::', port: 9436 }, 'an IPv6 host without its brackets');
  for (const bad of ['', 'x', '1.2.3.4:', '70000']) t.throws(() => parseListen(bad), { instanceOf: RangeError }, bad);
});

test('names: link pins are <program>@<iface> without dots; the tunnel peer fits 15 characters', (t) => {
  t.is(attachmentPinName({ programName: 'tc_decap', iface: 'eth0.100' }), 'tc_decap@eth0_100');
  t.is(tunnelPeerName('burrow0'), 'burrow0p');
  t.is(tunnelPeerName('a-fifteen-chars').length, 15);
});
