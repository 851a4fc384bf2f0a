// The lab's pure parts: topology arithmetic and checks, ping output parsing, the underlay rule.
import test from 'ava';

import { clusterManifests } from '../../../src/lab/manifests.js';
import { checkTopology, cidrContains, defaultTopology, loopbackSourceTopology, podAddress } from '../../../src/lab/topology.js';
import { parsePing, type CapturedPacket } from '../../../src/lab/traffic.js';
import { checkUnderlay } from '../../../src/lab/underlay.js';

test('pod addresses: block base + 2 + index, within the block', (t) => {
  t.is(podAddress('192.168.0.0/26', 0), '192.168.0.2');
  t.is(podAddress('192.168.1.64/26', 3), '192.168.1.69');
  t.throws(() => podAddress('192.168.0.0/30', 2), { instanceOf: RangeError });
});

test('cidrContains', (t) => {
  t.true(cidrContains('192.168.0.0/16', '192.168.2.2'));
  t.false(cidrContains('10.0.1.0/24', '10.0.2.10'));
  t.true(cidrContains('0.0.0.0/0', '203.0.113.10'));
});

test('checkTopology: the default passes; each mistake is named', (t) => {
  t.notThrows(() => checkTopology(defaultTopology()));
  const base = defaultTopology();
  const cases: Array<[string, Partial<typeof base>, RegExp]> = [
    ['node outside its segment', { nodes: [{ ...base.nodes[0]!, address: '10.0.9.9' }] }, /outside seg1/],
    ['unknown segment', { nodes: [{ ...base.nodes[0]!, segment: 'seg9' }] }, /unknown segment/],
    ['block outside the pod CIDR', { nodes: [{ ...base.nodes[0]!, block: '10.9.0.0/26' }] }, /outside the pod CIDR/],
    ['duplicate node', { nodes: [base.nodes[0]!, base.nodes[0]!] }, /appears twice/],
  ];
  for (const [what, override, message] of cases) t.throws(() => checkTopology(defaultTopology(override)), { message }, what);
});

test('loopbackSourceTopology: node-a off every segment with a /32 Node address; its mistakes are named', (t) => {
  const lo = loopbackSourceTopology();
  t.notThrows(() => checkTopology(lo));
  t.regex(clusterManifests(lo)['10-nodes.yaml']!, /ipv4Address: 10\.0\.9\.10\/32/);
  t.regex(clusterManifests(lo)['10-nodes.yaml']!, /ipv4Address: 10\.0\.2\.10\/24/);
  const inSegment = { ...lo, nodes: lo.nodes.map((n) => (n.name === 'node-a' ? { ...n, address: '10.0.1.50' } : n)) };
  t.throws(() => checkTopology(inSegment), { message: /lies in a segment/ });
  const badLink = { ...lo, loopbackSource: { ...lo.loopbackSource!, links: [{ ...lo.loopbackSource!.links[0], address: '10.9.9.9' }, lo.loopbackSource!.links[1]] as const } };
  t.throws(() => checkTopology(badLink), { message: /link eth0/ });
  t.throws(() => checkTopology({ ...lo, loopbackSource: { ...lo.loopbackSource!, node: 'node-z' } }), { message: /unknown node node-z/ });
});

test('parsePing: summary, loss and the MTU a frag-needed reported', (t) => {
  const out = [
    'PING 192.168.2.2 (192.168.2.2) 1472(1500) bytes of data.',
    'From 10.0.1.10 icmp_seq=1 Frag needed and DF set (mtu = 1480)',
    'ping: local error: message too long, mtu=1480',
    '',
    '--- 192.168.2.2 ping statistics ---',
    '2 packets transmitted, 0 received, +1 errors, 100% packet loss, time 101ms',
  ].join('\n');
  t.like(parsePing(out), { transmitted: 2, received: 0, lossPercent: 100, fragNeededMtu: 1480 });
  t.like(parsePing('600 packets transmitted, 597 received, 0.5% packet loss'), { lossPercent: 0.5, fragNeededMtu: undefined });
  t.is(parsePing('ping: connect: Network is unreachable').lossPercent, 100);
});

const pkt = (src: string[], dst: string[], proto: number[], udpDstPort?: number, vni?: number): CapturedPacket => ({ src, dst, proto, udpDstPort, vni, iface: '' });

test('checkUnderlay: pod addresses only inside node-to-node tunnels of the right kind', (t) => {
  const e = { podCidr: '192.168.0.0/16', nodeAddresses: ['10.0.1.10', '10.0.2.10'], mode: 'ipip' as const };
  const good = pkt(['10.0.1.10', '192.168.0.2'], ['10.0.2.10', '192.168.2.2'], [4, 1]);
  const bare = pkt(['192.168.0.2'], ['192.168.2.2'], [1]);
  const fromRouter = pkt(['10.0.1.1', '192.168.0.2'], ['10.0.2.10', '192.168.2.2'], [4, 1]);
  const underlayOnly = pkt(['10.0.1.10'], ['10.0.2.10'], [1]);
  const r = checkUnderlay([good, bare, fromRouter, underlayOnly], e);
  t.is(r.tunnelled, 1);
  t.deepEqual(r.violations, [bare, fromRouter]);
  const vx = { ...e, mode: 'vxlan' as const };
  const vxGood = pkt(['10.0.1.10', '192.168.0.2'], ['10.0.2.10', '192.168.2.2'], [17, 1], 4789, 4096);
  const vxWrongVni = pkt(['10.0.1.10', '192.168.0.2'], ['10.0.2.10', '192.168.2.2'], [17, 1], 4789, 7);
  t.deepEqual(checkUnderlay([vxGood, vxWrongVni, good], vx), { tunnelled: 1, violations: [vxWrongVni, good] });
});
