// The e2e tests' lab fixture: a fresh lab (unique prefix) with manifests written and agentd
// running on the chosen nodes, destroyed in the test's teardown whatever happens; and the checks
// most tests share (reachability with a TCP content check, datapath counters).
import type { ExecutionContext } from 'ava';

import { burrowStatNames, sumStats } from '../../src/bpf/index.js';
import { openDatapathMaps } from '../../src/agent/datapath.js';
import { startAgent, type AgentOptions, type LabAgent } from '../../src/lab/agents.js';
import { Lab } from '../../src/lab/lab.js';
import { labManifests, poolManifest, writeLabManifests, type PoolSpec } from '../../src/lab/manifests.js';
import { ping, tcpTransfer, type PingResult } from '../../src/lab/traffic.js';
import type { LinkMode } from '../../src/lab/offloads.js';
import type { LabTopology } from '../../src/lab/topology.js';

export interface LabSetup {
  /** The IPPool (default: ipipMode Always). Ignored when `files` is given. */
  pool?: PoolSpec;
  /** Manifest files besides the cluster's (nodes, blocks, felix). */
  files?: Record<string, string>;
  felix?: Record<string, unknown>;
  /** Nodes that run agentd (default: all). */
  agents?: readonly string[];
  agent?: AgentOptions;
  /** The lab's topology (default: defaultTopology()). */
  topology?: LabTopology;
  /** How the node uplinks carry frames (default 'gso'; 'wire': MTU-sized, src/lab/offloads.ts). */
  links?: LinkMode;
}

export interface LabFixture {
  lab: Lab;
  agents: Record<string, LabAgent>;
}

export async function labWithAgents(t: ExecutionContext, setup: LabSetup = {}): Promise<LabFixture> {
  const lab = Lab.create({ ...(setup.topology ? { topology: setup.topology } : {}), ...(setup.links ? { links: setup.links } : {}) });
  t.teardown(() => lab.destroy());
  const files = setup.files ?? { 'pool.yaml': poolManifest(setup.pool ?? { ipipMode: 'Always' }) };
  writeLabManifests(lab, labManifests(lab, files, setup.felix));
  const agents: Record<string, LabAgent> = {};
  const names = setup.agents ?? [...lab.nodes.keys()];
  await Promise.all(names.map(async (n) => (agents[n] = await startAgent(lab, n, setup.agent))));
  return { lab, agents };
}

/** Datapath counters of a node (packets, summed over CPUs), read from its pinned stats map. */
export function counters(lab: Lab, node: string): Record<string, number> {
  const maps = openDatapathMaps(lab.node(node).pinRoot);
  try {
    const out: Record<string, number> = {};
    burrowStatNames.forEach((name, i) => {
      const v = maps.stats.get(i);
      out[name] = v ? Number(sumStats(v).packets) : 0;
    });
    return out;
  } finally {
    maps.close();
  }
}

/**
 * Where a node's datapath tunnels a CIDR: the `remote` of the `routes` entry that CIDR's network
 * address matches (an LPM lookup: once the block's own entry is gone, its pool's answers with
 * 0.0.0.0). Per-block tunnelling lives in this map; the kernel has one route per pool.
 */
export function tunnelRemote(lab: Lab, node: string, cidr: string): string | undefined {
  const [addr, prefix] = cidr.split('/');
  const maps = openDatapathMaps(lab.node(node).pinRoot);
  try {
    return maps.routes.get({ prefixlen: Number(prefix), addr: addr! })?.remote;
  } finally {
    maps.close();
  }
}

export const MiB = 1 << 20;

/** Both tunnel modes under both decap hooks: the matrix the datapath e2e tests run. */
export const MODE_HOOK_CASES = [
  { mode: 'ipip', hook: 'tc' },
  { mode: 'ipip', hook: 'xdp' },
  { mode: 'vxlan', hook: 'tc' },
  { mode: 'vxlan', hook: 'xdp' },
] as const;

/**
 * A ping that must get no reply: it must also have run and sent every request (a ping that is
 * missing, or prints nothing, would otherwise pass as "0 received").
 */
export function assertNoReplies(t: ExecutionContext, r: PingResult, count: number, what: string): void {
  t.is(r.transmitted, count, `${what}: ping sent ${count} requests (it ran):\n${r.output}`);
  t.is(r.received, 0, `${what}:\n${r.output}`);
}

/**
 * Pod `from` ↔ pod `to`: ping both ways and a TCP stream of `bytes` each way whose sha256 must
 * match at the receiver, which must also see the sender's own pod address (no NAT between pods).
 */
export async function assertPodsConnected(t: ExecutionContext, lab: Lab, from: string, to: string, bytes = 20 * MiB): Promise<void> {
  for (const [a, b] of [[from, to], [to, from]] as const) {
    const src = lab.pod(a);
    const dst = lab.pod(b);
    const p = await ping(src.ns, dst.address, { count: 3, interval: 0.05 });
    t.is(p.received, 3, `ping ${a} → ${b}:\n${p.output}`);
    const x = await tcpTransfer(src.ns, dst.ns, dst.address, bytes);
    t.true(x.ok, `TCP ${a} → ${b}: sent ${x.sent.bytes} bytes sha256 ${x.sent.sha256}, received ${x.received.bytes} sha256 ${x.received.sha256}`);
    t.is(x.received.peer, src.address, `TCP ${a} → ${b} arrives from the pod's own address`);
  }
}
