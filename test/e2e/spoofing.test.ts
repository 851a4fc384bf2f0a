// Spoofing (issue 5, h; seed 001: "an open decapsulator bypasses firewalls"): IPIP to node-a from
// an address that is not a peer, and VXLAN from a peer with a wrong VNI (or from a non-peer), are
// dropped and counted, and nothing reaches the pod. The same packets from a real peer with the
// right VNI do reach it, which shows the crafted packets are otherwise good.
//
// Tunnel traffic only from nodes (issue 13, 1): a pod on node-b that sends IPIP or VXLAN to
// node-a — with natOutgoing node-b would masquerade it into a packet from a trusted peer — is
// stopped on node-b's forward path (the nft guard, counted as drop_workload_tunnel); a genuine peer
// that forwards a forged inner source (drop_spoofed) or a destination outside the pools
// (drop_outside_pool) is stopped by node-a's decap; genuine traffic, host traffic of the peer
// included, is still delivered; `--decap-source-check pool` accepts any pool source but our own.
// The decap checks run with TC decap (what auto picks on the lab's veths) and XDP decap.
import type { ExecutionContext } from 'ava';

import { agentctlArgv, type AgentOptions } from '../../src/lab/agents.js';
import type { Lab } from '../../src/lab/lab.js';
import { clusterManifests, poolManifest } from '../../src/lab/manifests.js';
import { sh } from '../../src/lab/sh.js';
import { defaultTopology } from '../../src/lab/topology.js';
import { ping } from '../../src/lab/traffic.js';
import { sendCrafted } from '../helpers/craft.js';
import { listAttached, withNetns } from '../../src/bpf/index.js';
import { counters, labWithAgents } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';
import { until } from '../helpers/wait.js';


function send(lab: Lab, fromNs: string, mode: 'ipip' | 'vxlan', outerSrc: string, innerSrc: string, vni: number, count = 5, innerDst = lab.pod('node-a').address): void {
  sendCrafted(fromNs, { mode, outerSrc, outerDst: lab.node('node-a').address, innerSrc, innerDst, vni, count });
}

/** ICMP echo requests the pod has received (its /proc/net/snmp). */
function podEchoes(lab: Lab): number {
  const snmp = sh(['ip', 'netns', 'exec', lab.pod('node-a').ns, 'cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Icmp:'));
  const names = snmp[0]!.split(/\s+/);
  const n = Number(snmp[1]?.split(/\s+/)[names.indexOf('InEchos')]);
  if (!Number.isSafeInteger(n)) throw new Error(`no Icmp InEchos in the pod's /proc/net/snmp: ${snmp.join(' / ')}`);
  return n;
}

/** The decap hooks the decap tests run with (agentd's auto picks TC on the lab's veths). */
const HOOKS = ['tc', 'xdp'] as const;
type Hook = (typeof HOOKS)[number];

/** node-a's uplink really runs the decap program of `hook` (and not the other). */
function assertDecapHook(t: ExecutionContext, lab: Lab, hook: Hook): void {
  const node = lab.node('node-a');
  const a = withNetns(`/run/netns/${node.ns}`, () => listAttached(node.uplink));
  const tc = [...a.tcx.ingress, ...a.clsact.ingress].map((p) => p.name);
  if (hook === 'xdp') {
    t.is(a.xdp?.name, 'xdp_decap', 'xdp_decap on node-a\'s uplink');
    t.deepEqual(tc, [], 'no TC decap on node-a\'s uplink');
  } else {
    t.is(a.xdp, null, 'no XDP on node-a\'s uplink');
    t.deepEqual(tc, ['tc_decap']);
  }
}

/** How far node-a's counter `name` moved since `before` (a reading of counters()). */
const movedSince = (lab: Lab, before: Record<string, number>, name: string): number => counters(lab, 'node-a')[name]! - before[name]!;

/**
 * Waits (bounded, generously: never a timing claim) until `counter` on node-a moved by `n`: once the
 * packets are counted as dropped they are gone, so what did not reach the pod by then never will.
 */
async function expectDropped(t: ExecutionContext, lab: Lab, counter: string, send: () => void, what: string): Promise<void> {
  const before = counters(lab, 'node-a');
  const echoes = podEchoes(lab);
  send();
  await until(`${what}: ${counter} +5`, () => movedSince(lab, before, counter) >= 5).catch(() => undefined);
  t.is(movedSince(lab, before, counter), 5, `${what}: ${counter} counted every packet`);
  t.is(podEchoes(lab), echoes, `${what}: nothing reached the pod`);
}

async function expectDelivered(t: ExecutionContext, lab: Lab, counter: string, send: () => void, what: string): Promise<void> {
  const before = counters(lab, 'node-a');
  const echoes = podEchoes(lab);
  send();
  await until(`${what}: delivered`, () => movedSince(lab, before, counter) >= 5 && podEchoes(lab) - echoes >= 5).catch(() => undefined);
  t.is(movedSince(lab, before, counter), 5, `${what}: ${counter}`);
  t.is(podEchoes(lab) - echoes, 5, `${what}: the pod got the echo requests`);
}

for (const hook of HOOKS) {
privileged.serial(`IPIP from a non-peer address is dropped and counted; the same from a peer is delivered (${hook.toUpperCase()} decap)`, async (t) => {
  const { lab } = await labWithAgents(t, { pool: { ipipMode: 'Always' }, agent: { decapHook: hook } });
  assertDecapHook(t, lab, hook);
  const b = lab.node('node-b');
  await expectDropped(t, lab, 'drop_unknown_peer',
    () => send(lab, lab.routerNs, 'ipip', '10.0.1.1', lab.pod('node-c').address, 0), 'IPIP from the router (10.0.1.1)');
  await expectDelivered(t, lab, 'decap_ipip',
    () => send(lab, b.ns, 'ipip', b.address, lab.pod('node-b').address, 0), 'IPIP from node-b');
});

privileged.serial(`VXLAN with a wrong VNI, or from a non-peer, is dropped and counted; the right VNI from a peer is delivered (${hook.toUpperCase()} decap)`, async (t) => {
  const { lab } = await labWithAgents(t, { pool: { vxlanMode: 'Always' }, agent: { decapHook: hook } });
  assertDecapHook(t, lab, hook);
  const b = lab.node('node-b');
  const podB = lab.pod('node-b').address;
  await expectDropped(t, lab, 'drop_bad_vni', () => send(lab, b.ns, 'vxlan', b.address, podB, 999), 'VNI 999 from node-b');
  await expectDropped(t, lab, 'drop_unknown_peer', () => send(lab, lab.routerNs, 'vxlan', '10.0.1.1', podB, 4096), 'VNI 4096 from the router');
  await expectDelivered(t, lab, 'decap_vxlan', () => send(lab, b.ns, 'vxlan', b.address, podB, 4096), 'VNI 4096 from node-b');
});
}

/** `agentctl stats --all -o json` on `node`: the datapath counters and the nft guard's. */
function agentctlStats(lab: Lab, node: string): { counters: Record<string, number>; guard: number | undefined } {
  const out = JSON.parse(sh(agentctlArgv(lab, node, ['stats', '--all', '-o', 'json']))) as {
    counters: { name: string; packets: number }[]; nft: { name: string; packets: number }[];
  };
  return {
    counters: Object.fromEntries(out.counters.map((c) => [c.name, c.packets])),
    guard: out.nft.find((n) => n.name === 'drop_workload_tunnel')?.packets,
  };
}

/** What node-a's decap did with anything that arrived: every decap and drop counter. */
const decapSide = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith('decap_') || k.startsWith('drop_')));

for (const natOutgoing of [false, true]) {
  for (const mode of ['ipip', 'vxlan'] as const) {
    privileged.serial(`a pod's own ${mode.toUpperCase()} to another node (natOutgoing ${natOutgoing}) is dropped on its node's forward path and counted; nothing is decapsulated`, async (t) => {
      const { lab } = await labWithAgents(t, { pool: { [`${mode}Mode`]: 'Always', natOutgoing } });
      const podA = lab.pod('node-a');
      const podB = lab.pod('node-b');
      const before = { b: agentctlStats(lab, 'node-b'), a: decapSide(counters(lab, 'node-a')), echoes: podEchoes(lab) };
      t.is(before.b.guard, 0, 'the guard counter exists on node-b and starts at 0');
      // Inner source: the pod's own address — node-a's decap would accept it from node-b once
      // masqueraded (it is node-b's block), so only the guard can stop it. Then the 1.2.3.4.
      send(lab, podB.ns, mode, podB.address, podB.address, 4096);
      send(lab, podB.ns, mode, podB.address, '1.2.3.4', 4096);
      await until('the guard counted 10', () => agentctlStats(lab, 'node-b').guard! - before.b.guard! >= 10).catch(() => undefined);
      const after = agentctlStats(lab, 'node-b');
      t.is(after.guard! - before.b.guard!, 10, 'drop_workload_tunnel counted every packet on node-b');
      t.is(podEchoes(lab), before.echoes, 'nothing reached pod-a');
      t.deepEqual(decapSide(counters(lab, 'node-a')), before.a, 'nothing reached node-a\'s decap');
      const text = sh(agentctlArgv(lab, 'node-b', ['stats']));
      t.regex(text, /^drop_workload_tunnel \(nft\) +10 +\d+$/m, 'agentctl stats shows the guard');
      // The pod itself still talks to pod-a (the guard stops tunnels, not the pod).
      t.is((await ping(podB.ns, podA.address, { count: 2, interval: 0.05 })).received, 2);
    });
  }
}

privileged.serial('a pod forging a peer\'s address as its outer source is dropped all the same: the guard looks at what is forwarded, not at the source', async (t) => {
  const { lab } = await labWithAgents(t, { pool: { ipipMode: 'Always' } });
  const podB = lab.pod('node-b');
  const c = lab.node('node-c');
  const before = { b: agentctlStats(lab, 'node-b').guard!, a: decapSide(counters(lab, 'node-a')), echoes: podEchoes(lab) };
  // node-c is a peer of node-a; node-c's pod address is in node-c's block: without the guard,
  // node-a would decapsulate this.
  send(lab, podB.ns, 'ipip', c.address, lab.pod('node-c').address, 0);
  await until('the guard counted 5', () => agentctlStats(lab, 'node-b').guard! - before.b >= 5).catch(() => undefined);
  t.is(agentctlStats(lab, 'node-b').guard! - before.b, 5);
  t.is(podEchoes(lab), before.echoes);
  t.deepEqual(decapSide(counters(lab, 'node-a')), before.a);
});

for (const hook of HOOKS) {
privileged.serial(`a genuine peer forwarding a forged inner source, or a destination outside the pools, is dropped at decap and counted; its own traffic is delivered (${hook.toUpperCase()} decap)`, async (t) => {
  // node-c has a tunnel address in its block (as Calico allocates one): its host traffic to pods
  // leaves from it, so the answer can come back through the tunnel across the router.
  const cluster = clusterManifests(defaultTopology());
  const nodes = cluster['10-nodes.yaml']!.replace(/(ipv4Address: 10\.0\.2\.10\/24\n)/, '$1    ipv4IPIPTunnelAddr: 192.168.2.1\n');
  t.not(nodes, cluster['10-nodes.yaml'], 'node-c got its tunnel address');
  const { lab } = await labWithAgents(t, { files: { 'pool.yaml': poolManifest({ ipipMode: 'Always', natOutgoing: true }), '10-nodes.yaml': nodes }, agent: { decapHook: hook } });
  assertDecapHook(t, lab, hook);
  const b = lab.node('node-b');
  const podB = lab.pod('node-b').address;
  await expectDropped(t, lab, 'drop_spoofed', () => send(lab, b.ns, 'ipip', b.address, '1.2.3.4', 0), 'IPIP from node-b, inner source 1.2.3.4');
  await expectDropped(t, lab, 'drop_spoofed', () => send(lab, b.ns, 'ipip', b.address, lab.pod('node-c').address, 0), 'IPIP from node-b, inner source in node-c\'s block');
  await expectDropped(t, lab, 'drop_spoofed', () => send(lab, b.ns, 'ipip', b.address, '192.168.0.9', 0), 'IPIP from node-b, inner source in node-a\'s own block');
  // The relay: node-a put packets from 8.8.4.4 on the underlay. Now nothing leaves.
  const router = lab.routerDrops();
  const before = counters(lab, 'node-a');
  send(lab, b.ns, 'ipip', b.address, podB, 0, 5, '8.8.4.4');
  await until('drop_outside_pool +5', () => movedSince(lab, before, 'drop_outside_pool') >= 5).catch(() => undefined);
  t.is(counters(lab, 'node-a').drop_outside_pool! - before.drop_outside_pool!, 5, 'inner destination 8.8.4.4: drop_outside_pool');
  t.deepEqual(lab.routerDrops(), router, 'nothing reached the router');
  await expectDelivered(t, lab, 'decap_ipip', () => send(lab, b.ns, 'ipip', b.address, podB, 0), 'IPIP from node-b, inner source pod-b');
  await expectDelivered(t, lab, 'decap_ipip', () => send(lab, b.ns, 'ipip', b.address, b.address, 0), 'IPIP from node-b, inner source node-b itself (host traffic)');
  // Host traffic for real: node-b's own ping to pod-a goes through its burrow0 and node-a's decap.
  t.is((await ping(b.ns, lab.pod('node-a').address, { count: 3, interval: 0.05 })).received, 3, 'node-b (host) → pod-a');
  t.is((await ping(lab.node('node-c').ns, lab.pod('node-a').address, { count: 3, interval: 0.05 })).received, 3, 'node-c (host, from its tunnel address) → pod-a');
});

privileged.serial(`VXLAN: a forged inner source from a genuine peer is dropped at decap and counted (${hook.toUpperCase()} decap)`, async (t) => {
  const { lab } = await labWithAgents(t, { pool: { vxlanMode: 'Always' }, agent: { decapHook: hook } });
  assertDecapHook(t, lab, hook);
  const b = lab.node('node-b');
  await expectDropped(t, lab, 'drop_spoofed', () => send(lab, b.ns, 'vxlan', b.address, '1.2.3.4', 4096), 'VXLAN from node-b, inner source 1.2.3.4');
  await expectDropped(t, lab, 'drop_outside_pool', () => send(lab, b.ns, 'vxlan', b.address, lab.pod('node-b').address, 4096, 5, '8.8.4.4'), 'VXLAN from node-b to 8.8.4.4');
  await expectDelivered(t, lab, 'decap_vxlan', () => send(lab, b.ns, 'vxlan', b.address, lab.pod('node-b').address, 4096), 'VXLAN from node-b, inner source pod-b');
});
}

for (const check of ['strict', 'pool'] as const) {
  privileged.serial(`--decap-source-check ${check}: an inner source in another node's block from node-b is ${check === 'strict' ? 'dropped' : 'delivered'}; our own block never is`, async (t) => {
    const agent: AgentOptions = check === 'pool' ? { extraArgs: ['--decap-source-check', 'pool'] } : {};
    const { lab } = await labWithAgents(t, { pool: { ipipMode: 'Always' }, agent });
    const b = lab.node('node-b');
    const config = JSON.parse(sh(agentctlArgv(lab, 'node-a', ['maps', 'dump', 'config', '-o', 'json']))) as { config: { flags: string[] } };
    t.deepEqual(config.config.flags, check === 'pool' ? ['decap_src_pool'] : [], 'the config map carries the check');
    const borrowed = () => send(lab, b.ns, 'ipip', b.address, lab.pod('node-c').address, 0);
    if (check === 'pool') await expectDelivered(t, lab, 'decap_ipip', borrowed, 'a source in node-c\'s block (an address node-b borrowed)');
    else await expectDropped(t, lab, 'drop_spoofed', borrowed, 'a source in node-c\'s block');
    await expectDropped(t, lab, 'drop_spoofed', () => send(lab, b.ns, 'ipip', b.address, '192.168.0.9', 0), 'a source in node-a\'s own block');
    await expectDropped(t, lab, 'drop_spoofed', () => send(lab, b.ns, 'ipip', b.address, '1.2.3.4', 0), 'a source outside every pool');
  });
}

privileged.serial('/metrics shows the guard\'s and decap\'s new counters', async (t) => {
  const { lab } = await labWithAgents(t, { pool: { ipipMode: 'Always', natOutgoing: true }, agent: { listen: '127.0.0.1:9465' } });
  const b = lab.node('node-b');
  send(lab, lab.pod('node-b').ns, 'ipip', lab.pod('node-b').address, lab.pod('node-b').address, 0, 3);
  send(lab, b.ns, 'ipip', b.address, '1.2.3.4', 0, 4);
  await until('the packets counted', () => agentctlStats(lab, 'node-b').guard! >= 3 && counters(lab, 'node-a').drop_spoofed! >= 4).catch(() => undefined);
  const metrics = (node: string) => sh(['ip', 'netns', 'exec', lab.node(node).ns, process.execPath, '-e',
    `fetch('http://127.0.0.1:9465/metrics').then(async (r) => process.stdout.write(await r.text()))`]);
  t.regex(metrics('node-b'), /^burrow_datapath_packets_total\{counter="drop_workload_tunnel"\} 3$/m);
  t.regex(metrics('node-a'), /^burrow_datapath_packets_total\{counter="drop_spoofed"\} 4$/m);
  t.regex(metrics('node-a'), /^burrow_datapath_packets_total\{counter="drop_outside_pool"\} 0$/m);
});
