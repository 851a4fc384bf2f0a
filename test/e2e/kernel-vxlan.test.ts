// Kernel interop (issue 5, e): node-b runs no agentd; it gets the kernel's own VXLAN device set
// up the way Calico's felix does it (vxlan.calico, VNI 4096, port 4789, the node's VTEP MAC, an
// FDB entry and a permanent neighbour for node-a's VTEP, and a route to node-a's block via that
// VTEP address, onlink). Pods on the burrow node and on the kernel-VXLAN node talk both ways,
// and the shared segment carries VXLAN with VNI 4096 in both directions.
import path from 'node:path';

import { calicoVtepMac } from '../../src/config/index.js';
import type { Lab } from '../../src/lab/lab.js';
import { sh } from '../../src/lab/sh.js';
import { startCapture } from '../../src/lab/traffic.js';
import { checkUnderlay, describePacket } from '../../src/lab/underlay.js';
import { assertPodsConnected, counters, labWithAgents } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

/** What felix programs on `node` for one remote VXLAN node `peer` (whose VTEP address is `peerVtep`). */
function felixVxlan(lab: Lab, node: string, peer: string, peerVtep: string, ownVtep: string): void {
  const n = lab.node(node);
  const p = lab.node(peer);
  const ip = (...args: string[]) => sh(['ip', '-n', n.ns, ...args]);
  ip('link', 'add', 'vxlan.calico', 'type', 'vxlan', 'id', '4096', 'dstport', '4789', 'local', n.address, 'dev', n.uplink, 'nolearning');
  ip('link', 'set', 'vxlan.calico', 'address', calicoVtepMac(node), 'mtu', '1450', 'up');
  ip('addr', 'add', `${ownVtep}/32`, 'dev', 'vxlan.calico');
  ip('neigh', 'replace', peerVtep, 'lladdr', calicoVtepMac(peer), 'dev', 'vxlan.calico', 'nud', 'permanent');
  sh(['bridge', '-n', n.ns, 'fdb', 'replace', calicoVtepMac(peer), 'dev', 'vxlan.calico', 'dst', p.address, 'self', 'permanent']);
  ip('route', 'replace', p.block, 'via', peerVtep, 'dev', 'vxlan.calico', 'onlink');
}

for (const hook of ['tc', 'xdp'] as const) {
  privileged.serial(`burrow (${hook.toUpperCase()} decap) ↔ the kernel's VXLAN device set up as Calico's felix does`, async (t) => {
    const { lab, agents } = await labWithAgents(t, { pool: { vxlanMode: 'Always' }, agents: ['node-a'], agent: { decapHook: hook, detectUplink: true } });
    t.like(agents['node-a']!.records.find((r) => r.msg === 'decap hook chosen'), { uplink: 'eth0' }, 'uplink found by the node address');
    // VTEP addresses: the first address of each node's block, as Calico allocates them.
    felixVxlan(lab, 'node-b', 'node-a', '192.168.0.1', '192.168.1.1');

    const capture = await startCapture(lab.segmentNs('seg1'), path.join(lab.dir, 'seg1.pcap'));
    await assertPodsConnected(t, lab, 'node-a', 'node-b');
    const packets = await capture.stop();
    const seen = checkUnderlay(packets, { podCidr: lab.topology.podCidr, nodeAddresses: ['10.0.1.10', '10.0.1.11'], mode: 'vxlan' });
    t.deepEqual(seen.violations.map(describePacket).slice(0, 3), []);
    for (const [from, to] of [['10.0.1.10', '10.0.1.11'], ['10.0.1.11', '10.0.1.10']]) {
      t.true(packets.some((p) => p.src[0] === from && p.dst[0] === to && p.vni === 4096), `VXLAN VNI 4096 ${from} → ${to}`);
    }
    const c = counters(lab, 'node-a');
    t.true(c.encap_vxlan! > 0 && c.decap_vxlan! > 0, `burrow encapsulated and decapsulated: ${JSON.stringify(c)}`);
    t.is(c.drop_bad_vni! + c.drop_unknown_peer! + c.drop_malformed!, 0);
  });
}
