// No recursion (issue 12 point 4; docs/datapath.md encapsulation step 5): a packet from a pod
// addressed to a peer node's tunnel endpoint is never put into the tunnel, even when the `routes`
// map has a tunnel route covering that address (validation refuses every config that would
// write one: the test writes it by hand, as a map filled some other way would hold it, with
// agentd's resync off so that it stays). node-a runs xdp_encap on its pod's veth (gateway mode, as
// xdp-encap.test.ts), so every packet of the pod meets it: the ping to node-c's address is passed
// (PASS_TUNNEL_ENDPOINT), routed bare by the stack (natOutgoing masquerades it to node-a's
// address) and answered, and the router sees it as plain ICMP between the node addresses, never
// inside IPIP. The same address inside a manifest's pool is refused, at the pool's spec.cidr and
// at the Node (file, document, field).
import path from 'node:path';

import { Collection, attachXdp, withNetns, type Link } from '../../src/bpf/index.js';
import { MAP_NAMES, objectPath, openDatapathMaps } from '../../src/agent/datapath.js';
import { sh } from '../../src/lab/sh.js';
import { readCapture, startCapture, ping } from '../../src/lab/traffic.js';
import test from 'ava';

import { clusterManifests, poolManifest } from '../../src/lab/manifests.js';
import { defaultTopology } from '../../src/lab/topology.js';
import { agentctl, manifestDir } from '../helpers/agentctl.js';
import { counters, labWithAgents } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

interface Diagnostic { file: string; document: number; kind: string; name: string; path: string; rule: string; message: string }

const TX_CSUM_OFF = String.raw`
import ctypes, fcntl, socket, struct
value = ctypes.create_string_buffer(struct.pack("II", 0x17, 0))   # ETHTOOL_STXCSUM, off
fcntl.ioctl(socket.socket(), 0x8946, struct.pack("16sP", b"eth0", ctypes.addressof(value)))
`;

privileged.serial('a pod\'s packet to a peer\'s endpoint under a tunnel route is passed (PASS_TUNNEL_ENDPOINT), not encapsulated, and reaches the peer by the underlay', async (t) => {
  const { lab } = await labWithAgents(t, { pool: { ipipMode: 'Always', natOutgoing: true }, agent: { decapHook: 'tc', extraArgs: ['--resync', '0'] } });
  const node = lab.node('node-a');
  const pod = lab.pod('node-a');
  const nodeC = lab.node('node-c').address;

  sh(['ip', 'netns', 'exec', pod.ns, 'python3', '-c', TX_CSUM_OFF]);
  const encap = Collection.load(objectPath('xdp_encap'), { pinRoot: node.pinRoot, pinMaps: [...MAP_NAMES], name: 'xdp_encap' });
  t.teardown(() => encap.close());
  const link: Link = withNetns(`/run/netns/${node.ns}`, () => attachXdp(encap.program('xdp_encap'), pod.hostVeth, { mode: 'native' }));
  t.teardown(() => link.close());

  // A tunnel route over node-c's own address (IPIP to node-c): what step 5 guards against.
  const maps = openDatapathMaps(node.pinRoot);
  try {
    maps.routes.set({ prefixlen: 32, addr: nodeC }, { mode: 1, flags: 0, pool: 0xffff, remote: nodeC, vni: 0, vtep_mac: '00:00:00:00:00:00' } as Parameters<typeof maps.routes.set>[1]);
  } finally {
    maps.close();
  }
  const file = path.join(lab.dir, 'router.pcap');
  const capture = await startCapture(lab.routerNs, file);
  const before = counters(lab, 'node-a');
  const p = await ping(pod.ns, nodeC, { count: 5, interval: 0.1, wait: 2 });
  await capture.stop();
  const after = counters(lab, 'node-a');
  t.is(p.received, 5, `the pod reaches node-c's address by the underlay:\n${p.output}`);
  t.true(after['pass_tunnel_endpoint']! - before['pass_tunnel_endpoint']! >= 5, `PASS_TUNNEL_ENDPOINT counted every ping: ${before['pass_tunnel_endpoint']} → ${after['pass_tunnel_endpoint']}`);
  t.is(after['encap_ipip']! - before['encap_ipip']!, 0, 'nothing was encapsulated');
  const icmp = readCapture(file).filter((c) => c.dst.includes(nodeC) || c.src.includes(nodeC));
  t.true(icmp.filter((c) => c.src[0] === node.address && c.dst[0] === nodeC && c.proto[0] === 1).length >= 5, `bare ICMP node-a → node-c on the router (masqueraded): ${JSON.stringify(icmp.slice(0, 6))}`);
  t.deepEqual(icmp.filter((c) => c.proto[0] === 4), [], 'no IPIP to or from node-c carried it');
});

test('validation refuses a pool holding a node\'s endpoint: the error names the pool (spec.cidr) and the Node, with file and document', async (t) => {
  const m = manifestDir();
  t.teardown(() => m.cleanup());
  for (const [name, text] of Object.entries(clusterManifests(defaultTopology()))) m.write(name, text);
  m.write('pool.yaml', poolManifest({ ipipMode: 'Always', cidr: '10.0.2.0/24' }));
  const out = await agentctl(['validate', '-f', m.dir, '-o', 'json']);
  t.not(out.code, 0, 'refused');
  const report = JSON.parse(out.stdout) as { errors?: Diagnostic[]; diagnostics?: Diagnostic[] };
  const errors = report.errors ?? report.diagnostics ?? [];
  const onPool = errors.find((e) => e.rule === 'pool-contains-node-address');
  t.like(onPool, { kind: 'IPPool', path: 'spec.cidr', document: 1 }, JSON.stringify(errors));
  t.regex(onPool?.file ?? '', /pool\.yaml$/);
  t.regex(onPool?.message ?? '', /contains the address 10\.0\.2\.10 of Node node-c \(\S*10-nodes\.yaml document 3\), a tunnel endpoint: .*recursive encapsulation/);
  t.like(errors.find((e) => e.rule === 'node-address-in-pool'), { kind: 'Node', name: 'node-c', path: 'spec.bgp.ipv4Address', document: 3 });
});
