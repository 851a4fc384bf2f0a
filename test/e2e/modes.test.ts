// Route modes and natOutgoing (issue 5, c, d, f). CrossSubnet: node-a ↔ node-b (same /24) go
// bare over the shared segment, node-a ↔ node-c (across the router) encapsulated. Never: a ↔ b
// routed directly, a → c dropped by the router. natOutgoing: pod → ext leaves as the node
// address while pod ↔ pod keeps the pod address; turned off live, pod → ext leaves as the pod
// and the router drops it.
import path from 'node:path';

import { labManifests, poolManifest, writeLabManifests } from '../../src/lab/manifests.js';
import { sh } from '../../src/lab/sh.js';
import { ping, startCapture, tcpTransfer } from '../../src/lab/traffic.js';
import { checkUnderlay, describePacket } from '../../src/lab/underlay.js';
import { assertNoReplies, assertPodsConnected, counters, labWithAgents } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

for (const mode of ['ipip', 'vxlan'] as const) {
  privileged.serial(`${mode}Mode CrossSubnet: bare on the shared segment, encapsulated across the router`, async (t) => {
    const pool = mode === 'ipip' ? { ipipMode: 'CrossSubnet' as const } : { vxlanMode: 'CrossSubnet' as const };
    const { lab } = await labWithAgents(t, { pool });
    const a = lab.node('node-a');
    const b = lab.node('node-b');
    t.regex(sh(['ip', '-n', a.ns, 'route', 'show', b.block]), new RegExp(`via ${b.address} dev eth0 proto 211`), 'direct route to b');

    const segment = await startCapture(lab.segmentNs('seg1'), path.join(lab.dir, 'seg1.pcap'));
    const router = await startCapture(lab.routerNs, path.join(lab.dir, 'router.pcap'));
    await assertPodsConnected(t, lab, 'node-a', 'node-b', 4 << 20);
    await assertPodsConnected(t, lab, 'node-a', 'node-c', 4 << 20);

    const onSegment = await segment.stop();
    const podA = lab.pod('node-a').address;
    const podB = lab.pod('node-b').address;
    const bare = onSegment.filter((p) => [p.src[0], p.dst[0]].sort().join() === [podA, podB].sort().join());
    t.true(bare.length > 50, `a ↔ b bare on seg1: ${bare.length} packets`);
    const tunnelAB = onSegment.filter((p) => [p.src[0], p.dst[0]].sort().join() === [a.address, b.address].sort().join() && p.src.length > 1);
    t.deepEqual(tunnelAB.map(describePacket).slice(0, 3), [], 'no tunnel between a and b');

    const seen = checkUnderlay(await router.stop(), { podCidr: lab.topology.podCidr, nodeAddresses: [a.address, lab.node('node-c').address], mode });
    t.true(seen.tunnelled > 50, `a ↔ c tunnelled through the router: ${seen.tunnelled}`);
    t.deepEqual(seen.violations.map(describePacket).slice(0, 3), []);
    t.deepEqual(lab.routerDrops(), { podSource: 0, podDestination: 0 });
  });
}

privileged.serial('ipipMode Never: a ↔ b routed directly, a → c dropped at the router', async (t) => {
  const { lab } = await labWithAgents(t, { pool: { ipipMode: 'Never', vxlanMode: 'Never' } });
  await assertPodsConnected(t, lab, 'node-a', 'node-b', 2 << 20);
  const before = lab.routerDrops().podSource;
  const p = await ping(lab.pod('node-a').ns, lab.pod('node-c').address, { count: 3, interval: 0.05 });
  assertNoReplies(t, p, 3, 'no reply from c');
  t.true(lab.routerDrops().podSource >= before + 3, 'the router dropped the bare pod packets');
  const c = counters(lab, 'node-a');
  t.is(c.encap_ipip! + c.encap_vxlan!, 0, 'nothing encapsulated');
});

privileged.serial('natOutgoing: pod → ext as the node address, pod ↔ pod never NATed; off (live): pod → ext as itself, dropped by the router', async (t) => {
  const { lab, agents } = await labWithAgents(t, { pool: { ipipMode: 'Always', natOutgoing: true } });
  const podA = lab.pod('node-a');
  const ext = lab.topology.ext.address;

  const sent = await tcpTransfer(podA.ns, lab.extNs, ext, 64 << 10);
  t.true(sent.ok, 'pod → ext transfer');
  t.is(sent.received.peer, lab.node('node-a').address, 'ext sees the node address');
  await assertPodsConnected(t, lab, 'node-a', 'node-c', 1 << 20); // checks the pod's own address arrives
  t.regex(sh(['ip', 'netns', 'exec', lab.node('node-a').ns, 'nft', 'list', 'table', 'ip', 'burrow']), /masquerade/);

  const next = agents['node-a']!.nextReconcile();
  writeLabManifests(lab, labManifests(lab, { 'pool.yaml': poolManifest({ ipipMode: 'Always', natOutgoing: false }) }));
  t.true(((await next).stateChanges as number) > 0, 'the change was applied');
  const capture = await startCapture(lab.routerNs, path.join(lab.dir, 'router.pcap'), ['icmp']);
  const before = lab.routerDrops().podSource;
  const p = await ping(podA.ns, ext, { count: 3, interval: 0.05 });
  const packets = await capture.stop();
  assertNoReplies(t, p, 3, 'pod → ext without NAT');
  t.true(packets.some((x) => x.src[0] === podA.address && x.dst[0] === ext), 'pod → ext reaches the router from the pod address');
  t.true(lab.routerDrops().podSource >= before + 3, 'and is dropped there');
  const table = sh(['ip', 'netns', 'exec', lab.node('node-a').ns, 'nft', 'list', 'table', 'ip', 'burrow']);
  t.notRegex(table, /masquerade|postrouting/, 'the NAT chain is gone');
  t.regex(table, /burrow-guard ipip/, 'the tunnel guard stays');
  await assertPodsConnected(t, lab, 'node-a', 'node-c', 1 << 20);
});
