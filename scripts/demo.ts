#!/usr/bin/env node
// The burrow demo (`npm run demo`, or `node dist/scripts/demo.js [--keep]` as root): builds the
// lab, runs one agentd per node, and walks through the seeds' configurations — seed 000's
// ipipMode Always, then CrossSubnet, then seed 002's Konvoy `encapsulation: vxlan` — showing ping
// and a TCP transfer (sha256-checked) across nodes and subnets in each, and what the underlay
// carried. Ends with `agentctl maps dump` and `agentctl stats` of node-a, then tears it all down
// (--keep leaves the lab running and says how to enter it and remove it).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { agentctlArgv, startAgent, type LabAgent } from '../src/lab/agents.js';
import { Lab } from '../src/lab/lab.js';
import { clusterManifests, writeLabManifests } from '../src/lab/manifests.js';
import { patient, runAsync } from '../src/lab/sh.js';
import { ping, startCapture, tcpTransfer, type Capture } from '../src/lab/traffic.js';
import { checkUnderlay } from '../src/lab/underlay.js';
import { useSystemToolPath } from '../src/agent/exec.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const seed = (file: string) => fs.readFileSync(path.join(root, 'test/fixtures/manifests', file), 'utf8');
const keep = process.argv.includes('--keep');
const started = Date.now();

function step(text: string): void {
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${text}\n`);
}

function section(text: string): void {
  process.stdout.write(`\n── ${text}\n`);
}

interface Scenario {
  title: string;
  files: Record<string, string>;
  mode: 'ipip' | 'vxlan';
  /** node-a ↔ node-b go bare (CrossSubnet). */
  sameSubnetBare: boolean;
}

const scenarios: Scenario[] = [
  {
    title: 'seed 000: IPPool ipipMode Always, natOutgoing (000-ippool-ipip-always.yaml)',
    files: { 'pool.yaml': seed('seeds/000-ippool-ipip-always.yaml') },
    mode: 'ipip',
    sameSubnetBare: false,
  },
  {
    title: 'seed 000: IPPool ipipMode CrossSubnet (000-ippool-ipip-cross-subnet.yaml)',
    files: { 'pool.yaml': seed('seeds/000-ippool-ipip-cross-subnet.yaml') },
    mode: 'ipip',
    sameSubnetBare: true,
  },
  {
    title: 'seed 002: Konvoy ClusterConfiguration encapsulation: vxlan, pool without modes (002-konvoy-vxlan.yaml)',
    files: { 'pool.yaml': seed('pools/default-ipv4-ippool.yaml'), 'konvoy.yaml': seed('seeds/002-konvoy-vxlan.yaml') },
    mode: 'vxlan',
    sameSubnetBare: false,
  },
];

/** Waits until every agent applied the latest manifests and sends the new way (phase grace or steady). */
async function applied(agents: LabAgent[]): Promise<string> {
  const from = agents.map((a) => a.records.length);
  const done = await Promise.all(
    agents.map((a, i) => a.waitFor((r) => r.msg === 'reconciled' && r.phase !== 'accepting', patient(15_000), from[i])),
  );
  return agents.map((a, i) => `${a.node.name} ${done[i]!.stateChanges as number}`).join(', ');
}

async function connectivity(lab: Lab, from: string, to: string, how: string): Promise<void> {
  const src = lab.pod(from);
  const dst = lab.pod(to);
  const p = await ping(src.ns, dst.address, { count: 3, interval: 0.05 });
  const x = await tcpTransfer(src.ns, dst.ns, dst.address, 20 << 20);
  const ok = p.received === p.transmitted && x.ok;
  step(
    `${ok ? 'ok  ' : 'FAIL'} ${from} → ${to} (${src.address} → ${dst.address}, ${how}): ping ${p.received}/${p.transmitted}, ` +
      `TCP 20 MiB ${x.ok ? 'sha256 match' : 'CONTENT MISMATCH'} at ${(x.mbps / 1000).toFixed(2)} Gbit/s`,
  );
  if (!ok) process.exitCode = 1;
}

async function underlay(lab: Lab, s: Scenario, router: Capture, seg1: Capture): Promise<void> {
  const nodes = lab.topology.nodes.map((n) => n.address);
  const expect = { podCidr: lab.topology.podCidr, nodeAddresses: nodes, mode: s.mode };
  const atRouter = checkUnderlay(await router.stop(), expect);
  const onSeg = await seg1.stop();
  const a = lab.pod('node-a').address;
  const b = lab.pod('node-b').address;
  const bare = onSeg.filter((p) => (p.src[0] === a && p.dst[0] === b) || (p.src[0] === b && p.dst[0] === a)).length;
  const drops = lab.routerDrops();
  const what = s.mode === 'ipip' ? 'IPIP (protocol 4)' : 'VXLAN (UDP 4789, VNI 4096)';
  step(
    `underlay: the router forwarded ${atRouter.tunnelled} ${what} packets between node addresses, ` +
      `${atRouter.violations.length} with a bare pod address, and dropped ${drops.podSource + drops.podDestination} bare pod packets so far; ` +
      `seg1 carried ${bare} bare a ↔ b packets`,
  );
  if (atRouter.violations.length > 0 || atRouter.tunnelled === 0) process.exitCode = 1;
}

async function show(lab: Lab, title: string, args: string[]): Promise<void> {
  section(`${title} (node-a): agentctl ${args.join(' ')}`);
  const r = await runAsync(agentctlArgv(lab, 'node-a', args));
  process.stdout.write((r.stdout || r.stderr).replace(/^/gm, '  '));
}

async function main(): Promise<void> {
  useSystemToolPath();
  if (process.getuid?.() !== 0) {
    process.stderr.write('the demo builds network namespaces and loads eBPF programs: run it as root\n');
    process.exit(1);
  }
  process.stdout.write('burrow demo: pods on node-a, node-b (10.0.1.0/24) and node-c (10.0.2.0/24, behind a router that drops pod addresses)\n');
  const lab = Lab.create();
  step(`lab ${lab.prefix} up: ${lab.namespaces().length} namespaces; pods ${[...lab.nodes.values()].map((n) => `${n.podList[0]!.address} on ${n.name}`).join(', ')}`);

  writeLabManifests(lab, { ...clusterManifests(lab.topology), ...scenarios[0]!.files });
  const agents = await Promise.all([...lab.nodes.keys()].map((n) => startAgent(lab, n)));
  const hooks = agents.map((a) => `${a.node.name} ${String(a.reconciles()[0]?.decapHook)}`).join(', ');
  step(`agentd ready on every node (decap hook auto: ${hooks}; XDP on a veth would cost GSO, docs/datapath.md)`);

  for (const [i, s] of scenarios.entries()) {
    section(s.title);
    if (i > 0) {
      writeLabManifests(lab, { ...clusterManifests(lab.topology), ...s.files });
      step(`manifests rewritten; changes applied: ${await applied(agents)}`);
    }
    const router = await startCapture(lab.routerNs, path.join(lab.dir, `router-${i}.pcap`));
    const seg1 = await startCapture(lab.segmentNs('seg1'), path.join(lab.dir, `seg1-${i}.pcap`));
    await connectivity(lab, 'node-a', 'node-b', s.sameSubnetBare ? 'same subnet: routed bare' : `same subnet, ${s.mode}`);
    await connectivity(lab, 'node-a', 'node-c', `across the router, ${s.mode}`);
    await connectivity(lab, 'node-c', 'node-b', `across the router, ${s.mode}`);
    await underlay(lab, s, router, seg1);
  }

  await show(lab, 'maps', ['maps', 'dump']);
  await show(lab, 'counters', ['stats']);
  process.stdout.write('\n');

  if (keep) {
    for (const a of agents) a.release();
    lab.keep();
    const a = lab.node('node-a');
    step(`lab ${lab.prefix} left running (agentd on every node). Try:`);
    process.stdout.write(
      [
        `  ip netns exec ${lab.pod('node-a').ns} ping ${lab.pod('node-c').address}`,
        `  ip netns exec ${a.ns} bash                      # a node (ip route, nft list ruleset, tcpdump -ni eth0)`,
        `  ip netns exec ${a.ns} node dist/src/cli/agentctl.js --pin-root ${a.pinRoot} status`,
        `  ls ${lab.dir}/*/manifests                       # edit these: agentd reconciles within ~200 ms`,
        `Remove it:  node dist/scripts/lab.js down ${lab.prefix}`,
      ].join('\n') + '\n',
    );
    return;
  }
  const t = Date.now();
  lab.destroy();
  step(`lab destroyed in ${((Date.now() - t) / 1000).toFixed(1)} s; demo ${process.exitCode ? 'FAILED' : 'done'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
