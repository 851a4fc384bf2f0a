// MSS clamping (issue 12, point 2; docs/datapath.md "MSS clamping"): a TCP connection pod-a →
// pod-c crosses the router inside the tunnel; the capture on the router shows the SYN and the
// SYN-ACK (clamped at encapsulation by node-a's and node-c's datapath respectively) carrying
// MSS = tunnel MTU − 40 (1440 IPIP, 1410 VXLAN; the pods' 1500-byte veths announce 1460), the
// transfer arrives intact (sha256), and the MSS_CLAMPED counter moved on both nodes. With
// FelixConfiguration tunnelMSSClampEnabled: false the pods' own 1460 is on the wire and nothing
// is counted (on the first connection: a later one may announce the PMTU its pod learned from the
// node's frag-needed). The decap hook does not take part in the clamp; TCP must complete under both.
import path from 'node:path';

import { readSyns, startCapture, tcpTransfer } from '../../src/lab/traffic.js';
import { counters, labWithAgents, MiB } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

const POD_MSS = 1500 - 40;
const cases = [
  { mode: 'ipip', hook: 'tc', clamp: true, mss: 1440 },
  { mode: 'ipip', hook: 'xdp', clamp: true, mss: 1440 },
  { mode: 'vxlan', hook: 'tc', clamp: true, mss: 1410 },
  { mode: 'vxlan', hook: 'xdp', clamp: true, mss: 1410 },
  { mode: 'ipip', hook: 'tc', clamp: false, mss: POD_MSS },
  { mode: 'vxlan', hook: 'tc', clamp: false, mss: POD_MSS },
] as const;

for (const { mode, hook, clamp, mss } of cases) {
  const title = clamp
    ? `${mode}, ${hook.toUpperCase()} decap: SYN and SYN-ACK leave with MSS ${mss} (tunnel MTU − 40); TCP intact`
    : `${mode}, clamping off (tunnelMSSClampEnabled: false): the pods' MSS ${mss} on the wire; TCP intact`;
  privileged.serial(title, async (t) => {
    const pool = mode === 'ipip' ? { ipipMode: 'Always' as const } : { vxlanMode: 'Always' as const };
    const { lab } = await labWithAgents(t, { pool, agent: { decapHook: hook }, ...(clamp ? {} : { felix: { tunnelMSSClampEnabled: false } }) });
    const a = lab.pod('node-a');
    const c = lab.pod('node-c');
    const file = path.join(lab.dir, 'router.pcap');
    const capture = await startCapture(lab.routerNs, file);
    for (const [from, to] of [[a, c], [c, a]] as const) {
      const x = await tcpTransfer(from.ns, to.ns, to.address, 2 * MiB);
      t.true(x.ok, `TCP ${from.address} → ${to.address}: sent ${x.sent.sha256}, received ${x.received.bytes} bytes ${x.received.sha256}`);
    }
    await capture.stop();

    const syns = readSyns(file).filter((s) => [a.address, c.address].includes(s.src) && [a.address, c.address].includes(s.dst));
    const outer = mode === 'ipip' ? 4 : 17;
    t.true(syns.length >= 4, `two connections: a SYN and a SYN-ACK each way at least: ${JSON.stringify(syns)}`);
    t.true(syns.every((s) => s.proto[0] === outer), `every SYN inside the ${mode} tunnel: ${JSON.stringify(syns)}`);
    t.true(syns.some((s) => s.ack) && syns.some((s) => !s.ack), 'SYNs and SYN-ACKs seen');
    // The first connection (a → c: a's SYN, c's SYN-ACK) shows what the pods announce from their
    // 1500-byte veths. Later ones may announce less without any clamp: the first transfer's full-size
    // segments met the tunnel route's MTU on the node, whose frag-needed lowered the pod's PMTU.
    const first = syns.filter((s) => (s.src === a.address && !s.ack) || (s.src === c.address && s.ack));
    t.true(first.length >= 2, `the first connection's SYN and SYN-ACK: ${JSON.stringify(syns)}`);
    t.deepEqual([...new Set(first.map((s) => s.mss))], [mss], `MSS of the first connection on the wire: ${JSON.stringify(syns)}`);
    if (clamp) t.deepEqual([...new Set(syns.map((s) => s.mss))], [mss], `MSS of every SYN on the wire: ${JSON.stringify(syns)}`);

    for (const node of ['node-a', 'node-c']) {
      const n = counters(lab, node);
      if (clamp) t.true(n.mss_clamped! >= 2, `${node} clamped its SYNs: ${JSON.stringify(n)}`);
      else t.is(n.mss_clamped, 0, `${node} clamped nothing`);
      t.is(n.mss_malformed, 0, `${node}: no malformed options`);
    }
  });
}
