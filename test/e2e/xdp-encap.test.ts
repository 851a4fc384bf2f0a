// xdp_encap on real traffic (docs/datapath.md, "Encapsulation in XDP": gateway mode, on an
// interface receiving pod traffic). The lab runs agentd on every node as usual; on node-a the test
// also loads xdp_encap with agentd's pinned maps and attaches it (native XDP) to the pod's
// host-side veth, so node-a's pod traffic is encapsulated in XDP and redirected straight out of
// eth0, never reaching burrow0 and tc_encap (which remain the fallback for PASS_FIB/PASS_TOO_BIG).
// Pod node-a ↔ pod node-c (behind the router that drops bare pod traffic): ping and a TCP stream
// each way whose sha256 must match, IPIP and VXLAN.
//
// What xdp_encap needs on veths, as the datapath doc says: the pod
// does not offload its transmit checksums (an XDP frame carries no CHECKSUM_PARTIAL state), and a
// veth takes XDP_REDIRECTed frames only when its peer runs XDP (or GRO): node-a's bridge port in
// the segment namespace gets lib_xdp's xdp_pass. Everything the test adds goes with the lab.
import { Collection, attachXdp, withNetns, type Link } from '../../src/bpf/index.js';
import { MAP_NAMES, objectPath } from '../../src/agent/datapath.js';
import { sh } from '../../src/lab/sh.js';
import { fixture } from '../helpers/paths.js';
import { ping } from '../../src/lab/traffic.js';
import { assertPodsConnected, counters, labWithAgents, MiB } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

const TX_CSUM_OFF = String.raw`
import ctypes, fcntl, socket, struct
value = ctypes.create_string_buffer(struct.pack("II", 0x17, 0))   # ETHTOOL_STXCSUM, off
fcntl.ioctl(socket.socket(), 0x8946, struct.pack("16sP", b"eth0", ctypes.addressof(value)))
`;

/**
 * An nft counter in node-a's forward hook for packets the stack routes into burrow0 (the path
 * through tc_encap; XDP-redirected frames never reach it). Goes with the lab's namespace.
 */
function countTunnelForwards(ns: string): () => number {
  const nft = (...args: string[]): string => sh(['ip', 'netns', 'exec', ns, 'nft', ...args]);
  nft('add', 'table', 'ip', 'xdp_encap_test');
  nft('add', 'chain', 'ip', 'xdp_encap_test', 'to_tunnel', '{ type filter hook forward priority 0; }');
  nft('add', 'rule', 'ip', 'xdp_encap_test', 'to_tunnel', 'oifname', 'burrow0', 'counter');
  return () => {
    const listed = JSON.parse(nft('-j', 'list', 'chain', 'ip', 'xdp_encap_test', 'to_tunnel')) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] };
    const counters = listed.nftables.flatMap((o) => o.rule?.expr ?? []).flatMap((e) => (e.counter ? [e.counter.packets] : []));
    if (counters.length !== 1) throw new Error(`nft listed ${counters.length} counters in xdp_encap_test/to_tunnel: ${JSON.stringify(listed)}`);
    return counters[0] ?? 0;
  };
}

const POOLS = [
  { mode: 'IPIP', pool: { ipipMode: 'Always' }, counter: 'encap_ipip' },
  { mode: 'VXLAN', pool: { vxlanMode: 'Always' }, counter: 'encap_vxlan' },
] as const;

for (const { mode, pool, counter } of POOLS) {
  privileged.serial(`xdp_encap on node-a's pod veth (${mode}): ping and 8 MiB TCP each way between pods on node-a and node-c, sha256 intact, node-a's encapsulation done in XDP`, async (t) => {
    const { lab } = await labWithAgents(t, { pool });
    const node = lab.node('node-a');
    const pod = lab.pod('node-a');
    const nsPath = `/run/netns/${node.ns}`;

    sh(['ip', 'netns', 'exec', pod.ns, 'python3', '-c', TX_CSUM_OFF]);
    const encap = Collection.load(objectPath('xdp_encap'), { pinRoot: node.pinRoot, pinMaps: [...MAP_NAMES], name: 'xdp_encap' });
    t.teardown(() => encap.close());
    const helper = Collection.load(fixture('lib_xdp'));
    t.teardown(() => helper.close());
    const segNs = `/run/netns/${lab.segmentNs(node.segment)}`;
    const port: Link = withNetns(segNs, () => attachXdp(helper.program('xdp_pass'), node.name.slice(0, 15), { mode: 'native' }));
    t.teardown(() => port.close());
    const tunnelForwards = countTunnelForwards(node.ns);
    // The counter works: a packet to node-c's pod with xdp_encap not yet attached goes through it.
    t.is((await ping(pod.ns, lab.pod('node-c').address, { count: 1, wait: 5 })).received, 1);
    t.true(tunnelForwards() >= 1, 'nft counted the packet tc_encap carried (positive control)');

    const link: Link = withNetns(nsPath, () => attachXdp(encap.program('xdp_encap'), pod.hostVeth, { mode: 'native' }));
    t.teardown(() => link.close());
    const before = counters(lab, 'node-a');
    const forwardsBefore = tunnelForwards();
    await assertPodsConnected(t, lab, 'node-a', 'node-c', 8 * MiB);
    const after = counters(lab, 'node-a');
    const moved = (name: string): number => (after[name] ?? 0) - (before[name] ?? 0);
    const tunnelTx = tunnelForwards() - forwardsBefore;
    const encapsulated = moved(counter);
    t.log(`node-a: ${counter} +${encapsulated}, pass_fib +${moved('pass_fib')}, pass_too_big +${moved('pass_too_big')}, drop_encap_failed +${moved('drop_encap_failed')}; the stack routed ${tunnelTx} into burrow0 (tc_encap)`);
    // 8 MiB node-a → node-c is at least 8 MiB / 1500 B ≈ 5600 segments, all encapsulated on node-a.
    t.true(encapsulated >= 5000, `${counter} moved by ${encapsulated} only`);
    t.true(tunnelTx * 10 < encapsulated, `the stack routed ${tunnelTx} packets into burrow0 for ${encapsulated} encapsulated: xdp_encap did not do the encapsulation`);
    t.is(moved('drop_encap_failed'), 0);
  });
}
