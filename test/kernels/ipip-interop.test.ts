// Real IP-in-IP interop (issue 11, point 3; docs/kernels.md): burrow on node-a, and on node-b and
// node-c the kernel's own `ipip` module set up the way a Calico node is — `tunl0` (the module's
// fallback device, which takes IPIP from any peer) up with MTU 1480 and the node's tunnel address,
// routes to remote blocks `via <node> dev tunl0 onlink` as BIRD/felix install them, direct routes
// `via <node> dev eth0` for same-subnet peers in CrossSubnet. Pods talk both ways (ping and a
// sha256-checked TCP stream), a DF packet one byte over the tunnel MTU gets "fragmentation
// needed" with MTU 1480 in both directions, and neither side counts an error.
//
// This machine's kernel has no ipip module, so this file is not in the host suite (package.json's
// ava `files` leave test/kernels out); `npm run test:kernels` runs it inside Debian's 6.1 and
// 6.12 kernels, whose ipip module is there (scripts/kernels/guest.sh, tier `kernels`).
import test, { type ExecutionContext } from 'ava';

import type { Lab } from '../../src/lab/lab.js';
import type { EncapModeValue } from '../../src/lab/manifests.js';
import { sh } from '../../src/lab/sh.js';
import { ping } from '../../src/lab/traffic.js';
import { assertPodsConnected, counters, labWithAgents } from '../helpers/lab.js';

const TUNNEL_MTU = 1480; // the lab's 1500-byte uplinks − 20 bytes of outer IPv4

/** The first address of a block (where Calico's IPAM puts the node's tunnel address). */
function firstAddress(block: string): string {
  const [base] = block.split('/');
  const o = base!.split('.').map(Number);
  return `${o[0]}.${o[1]}.${o[2]}.${o[3]! + 1}`;
}

/** `node` as a Calico IP-in-IP node: tunl0 with its tunnel address, routes to `peers`' blocks. */
function calicoIpipNode(lab: Lab, node: string, peers: readonly { node: string; via: 'tunl0' | 'eth0' }[]): void {
  const n = lab.node(node);
  const ip = (...args: string[]) => sh(['ip', '-n', n.ns, ...args]);
  ip('link', 'set', 'tunl0', 'mtu', String(TUNNEL_MTU), 'up');
  ip('addr', 'add', `${firstAddress(n.block)}/32`, 'dev', 'tunl0');
  sh(['ip', 'netns', 'exec', n.ns, 'sysctl', '-qw', 'net.ipv4.conf.tunl0.rp_filter=0']);
  for (const p of peers) {
    const peer = lab.node(p.node);
    if (p.via === 'tunl0') ip('route', 'replace', peer.block, 'via', peer.address, 'dev', 'tunl0', 'onlink');
    else ip('route', 'replace', peer.block, 'via', peer.address, 'dev', n.uplink);
  }
}

interface LinkStats {
  rx: { packets: number; errors: number; dropped: number };
  tx: { packets: number; errors: number; dropped: number; carrier_errors: number };
}

function tunl0Stats(lab: Lab, node: string): LinkStats {
  const [link] = JSON.parse(sh(['ip', '-n', lab.node(node).ns, '-s', '-j', 'link', 'show', 'tunl0'])) as { stats64: LinkStats }[];
  return link!.stats64;
}

/** A DF ping one byte over the tunnel MTU is refused with "fragmentation needed, MTU 1480"; one that fits arrives. */
async function assertFragNeeded(t: ExecutionContext, lab: Lab, from: string, to: string): Promise<void> {
  const src = lab.pod(from);
  const dst = lab.pod(to);
  const fits = await ping(src.ns, dst.address, { count: 2, interval: 0.1, size: TUNNEL_MTU - 28, dontFragment: true });
  t.is(fits.received, 2, `DF ping of ${TUNNEL_MTU} bytes ${from} → ${to} arrives:\n${fits.output}`);
  const over = await ping(src.ns, dst.address, { count: 2, interval: 0.1, size: TUNNEL_MTU - 27, dontFragment: true });
  t.is(over.received, 0, `DF ping of ${TUNNEL_MTU + 1} bytes ${from} → ${to} does not arrive:\n${over.output}`);
  t.regex(over.output, new RegExp(`mtu\\s*=\\s*${TUNNEL_MTU}\\b`), `${from} → ${to}: fragmentation needed with MTU ${TUNNEL_MTU}:\n${over.output}`);
}

function loadIpip(): void {
  sh(['modprobe', 'ipip']);
}

const cases: readonly { mode: EncapModeValue; kernelNodes: Record<string, 'tunl0' | 'eth0'> }[] = [
  // Always: both kernel nodes tunnel to node-a (node-b on node-a's segment, node-c behind the router).
  { mode: 'Always', kernelNodes: { 'node-b': 'tunl0', 'node-c': 'tunl0' } },
  // CrossSubnet: node-b (same subnet) is reached directly, node-c (another subnet) through the tunnel.
  { mode: 'CrossSubnet', kernelNodes: { 'node-b': 'eth0', 'node-c': 'tunl0' } },
];

for (const { mode, kernelNodes } of cases) {
  test.serial(`burrow ↔ the kernel's ipip (tunl0) as a Calico node sets it up, ipipMode ${mode}: pods both ways, frag-needed at ${TUNNEL_MTU}, no errors`, async (t) => {
    loadIpip();
    const { lab } = await labWithAgents(t, { pool: { ipipMode: mode }, agents: ['node-a'] });
    for (const [node, via] of Object.entries(kernelNodes)) {
      calicoIpipNode(lab, node, [{ node: 'node-a', via }, ...Object.keys(kernelNodes).filter((n) => n !== node).map((n) => ({ node: n, via: 'tunl0' as const }))]);
    }
    const tunnelled = Object.entries(kernelNodes).filter(([, via]) => via === 'tunl0').map(([n]) => n);
    const before = Object.fromEntries(tunnelled.map((n) => [n, tunl0Stats(lab, n)]));

    for (const node of Object.keys(kernelNodes)) await assertPodsConnected(t, lab, 'node-a', node, 8 << 20);
    for (const node of tunnelled) {
      await assertFragNeeded(t, lab, 'node-a', node);
      await assertFragNeeded(t, lab, node, 'node-a');
    }

    const c = counters(lab, 'node-a');
    t.true(c.encap_ipip! > 0 && c.decap_ipip! > 0, `burrow encapsulated and decapsulated IPIP: ${JSON.stringify(c)}`);
    t.is(c.drop_unknown_peer! + c.drop_malformed! + c.drop_spoofed! + c.drop_outside_pool! + c.drop_encap_failed!, 0, JSON.stringify(c));
    for (const node of tunnelled) {
      const s = tunl0Stats(lab, node);
      const b = before[node]!;
      t.true(s.rx.packets > b.rx.packets && s.tx.packets > b.tx.packets, `${node}'s tunl0 carried the traffic both ways: ${JSON.stringify(s)}`);
      t.deepEqual(
        [s.rx.errors - b.rx.errors, s.rx.dropped - b.rx.dropped, s.tx.errors - b.tx.errors, s.tx.dropped - b.tx.dropped, s.tx.carrier_errors - b.tx.carrier_errors],
        [0, 0, 0, 0, 0],
        `${node}'s tunl0 counted no errors or drops: ${JSON.stringify(s)}`,
      );
    }
  });
}
