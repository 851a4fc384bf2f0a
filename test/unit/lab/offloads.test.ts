// The wire-like link mode's pure parts (src/lab/offloads.ts): `ethtool -k` parsing, what is asked
// of a veth, and what counts as not wire-like. The text is a real veth's, from kernel 6.18.
import test from 'ava';

import { formatFeatures, parseEthtoolFeatures, wireProblems, wireRequest } from '../../../src/lab/offloads.js';

const VETH = `Features for eth0:
rx-checksumming: on
tx-checksumming: on
	tx-checksum-ipv4: off [fixed]
	tx-checksum-ip-generic: on
tcp-segmentation-offload: on
	tx-tcp-segmentation: on
	tx-tcp6-segmentation: on
generic-segmentation-offload: on
generic-receive-offload: off
tx-fcoe-segmentation: off [fixed]
tx-ipxip4-segmentation: on
tx-udp_tnl-segmentation: on
tx-tunnel-remcsum-segmentation: off [fixed]
tx-udp-segmentation: on
tx-gso-list: on
rx-gro-hw: off [fixed]
rx-gro-list: off
rx-udp-gro-forwarding: off
hsr-dup-offload: off [fixed]
`;

test('parseEthtoolFeatures: top-level and indented features, on/off and [fixed]', (t) => {
  const f = parseEthtoolFeatures(VETH);
  t.deepEqual(f['tx-tcp-segmentation'], { on: true, fixed: false });
  t.deepEqual(f['tx-checksum-ipv4'], { on: false, fixed: true });
  t.deepEqual(f['generic-receive-offload'], { on: false, fixed: false });
  t.is(f['Features for eth0'], undefined);
  t.is(Object.keys(f).length, 19);
});

test('wireRequest: every changeable segmentation feature that is on goes off, GRO on; fixed ones are left alone', (t) => {
  const args = wireRequest(parseEthtoolFeatures(VETH));
  const asked = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) asked.set(args[i]!, args[i + 1]!);
  t.deepEqual([...asked.entries()].sort(), [
    ['generic-segmentation-offload', 'off'],
    ['gro', 'on'],
    ['tcp-segmentation-offload', 'off'],
    ['tx-gso-list', 'off'],
    ['tx-ipxip4-segmentation', 'off'],
    ['tx-tcp-segmentation', 'off'],
    ['tx-tcp6-segmentation', 'off'],
    ['tx-udp-segmentation', 'off'],
    ['tx-udp_tnl-segmentation', 'off'],
  ]);
  t.false(asked.has('tx-fcoe-segmentation'));
});

test('wireProblems: the untouched veth has one per segmentation feature on and one for GRO; the wire-like one none', (t) => {
  const before = parseEthtoolFeatures(VETH);
  t.deepEqual(wireProblems(before).sort(), [
    'generic-receive-offload is off',
    'generic-segmentation-offload is on',
    'tcp-segmentation-offload is on',
    'tx-gso-list is on',
    'tx-ipxip4-segmentation is on',
    'tx-tcp-segmentation is on',
    'tx-tcp6-segmentation is on',
    'tx-udp-segmentation is on',
    'tx-udp_tnl-segmentation is on',
  ]);
  const after = parseEthtoolFeatures(VETH.replace(/(segmentation|gso-list|offload): on/g, '$1: off').replace('generic-receive-offload: off', 'generic-receive-offload: on'));
  t.deepEqual(wireProblems(after), []);
  t.deepEqual(wireProblems(parseEthtoolFeatures('tx-tcp-segmentation: on [fixed]\ngeneric-receive-offload: on\n')), ['tx-tcp-segmentation is on [fixed]']);
  t.deepEqual(wireProblems(parseEthtoolFeatures('')), ['ethtool lists no generic-receive-offload']);
  t.is(formatFeatures(after), 'tso off, gso off, tx-udp_tnl-segmentation off, tx-ipxip4-segmentation off, tx-udp-segmentation off, tx-gso-list off, gro on, rx-gro-list off, rx-udp-gro-forwarding off, tx-csum on, rx-csum on');
});

test("the switch's port: segmentation off and GRO off; GRO on there is a problem", (t) => {
  const on = parseEthtoolFeatures(VETH.replace('generic-receive-offload: off', 'generic-receive-offload: on'));
  const args = wireRequest(on, 'off');
  t.deepEqual(args.slice(-2), ['gro', 'off']);
  t.false(wireRequest(parseEthtoolFeatures(VETH), 'off').includes('gro'), 'GRO already off: not asked for');
  t.true(wireProblems(on, 'off').includes('generic-receive-offload is on'));
  t.deepEqual(wireProblems(parseEthtoolFeatures('tx-tcp-segmentation: off\ngeneric-receive-offload: off\n'), 'off'), []);
});
