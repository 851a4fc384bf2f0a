/**
 * §4 Lab throughput, pod → pod across one node pair (src/lab: node-a and node-b on one bridged
 * segment, one pod each), every scenario in its own lab, all labs up at once so each round
 * measures every scenario back to back:
 *
 *   routed            plain routes between the nodes, no encapsulation: the limit
 *   routed+xdp-noop   the same with xdp_noop on both uplinks (what any XDP program costs on veth)
 *   routed+nft-guard  the same with burrow's nft guard table on both nodes (its forward-hook chain
 *                     runs for every forwarded packet: the netfilter price a burrow node pays)
 *   burrow-*-tc|xdp   agentd on both nodes (IPIP or VXLAN pool, Always), decap hook forced
 *   kernel-vxlan      the kernel's VXLAN device as Calico's felix sets it up: vxlan.calico,
 *                     VNI 4096, port 4789, VTEP MAC, permanent neighbour + FDB entry for the
 *                     peer's VTEP, route to its block via that VTEP address, onlink, MTU 1450
 *
 * Every scenario runs in both lab link modes (src/lab/offloads.ts, issue 16), one lab per scenario
 * and mode, all up at once: 'gso' (veth as it comes: whole 64 KB GSO segments cross the
 * underlay, nothing segments, no GRO) and 'wire' (node uplinks with segmentation offloads off and
 * GRO on: MTU-sized frames on the underlay, the receiver's GRO aggregates, as on a NIC). The
 * offload settings in force after each scenario's setup are read back (ethtool -k) and reported.
 *
 * GRO: pod-b's namespace counts, per test, the IPv4 packets that reached its IP layer (Ip
 * InReceives, one per skb) and the segments they carried (IpExt InNoECTPkts + InECT0Pkts +
 * InECT1Pkts + InCEPkts, which ip_rcv adds gso_segs to); segments − packets is how many were
 * merged before pod-b. Node-b's uplink rx_packets counts the frames that arrived on the wire. On
 * wire-like links the only place that merges is node-b's GRO (the test/e2e/wire.test.ts counter
 * shows no frame above the MTU on the underlay); on GSO links the sender's segments arrive whole.
 *
 * Tests: iperf3 TCP 1 and 4 streams (Gbit/s received); small UDP: 64-byte payloads from one core
 * as fast as it can send them (bench/tools/udp_blast.c, 64 datagrams per sendmmsg: iperf3 -u -l 64
 * -b 0 makes one system call per datagram and measured ~60 kpps for every scenario alike, the
 * syscall cost of this VM, not the path), counted and dropped by an nftables rule at pod-b's
 * prerouting hook: packets/s that arrived. CPU: the senders and receivers run in a cpuacct cgroup
 * of ours, whose usage includes the softirq work done in their context (no IRQ time accounting on
 * this kernel), plus the ksoftirqd threads' run time over the test; divided by the rate. Senders
 * run on CPU SENDER_CPU, receivers on RECEIVER_CPU (below: this machine's vCPUs differ in speed).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

import type { DecapHookDecision, GroHopDecision } from '../src/agent/uplink.js';
import { attachXdp, type Link } from '../src/bpf/index.js';
import type { LinkOffloads } from '../src/bpf/native.js';
import { calicoVtepMac } from '../src/config/index.js';
import { startAgent } from '../src/lab/agents.js';
import { Lab } from '../src/lab/lab.js';
import { formatFeatures, type LinkMode } from '../src/lab/offloads.js';
import { labManifests, poolManifest, writeLabManifests } from '../src/lab/manifests.js';
import { sh } from '../src/lab/sh.js';
import { renderNatScript } from '../src/agent/nat.js';
import { DEFAULT_NAT_TABLE } from '../src/agent/reconcile.js';
import { BURROW_DEFAULT_VXLAN_PORT } from '../src/generated/burrow-h.js';
import { defaultTopology } from '../src/lab/topology.js';
import { ipReceive, ping } from '../src/lab/traffic.js';
import { withNetns } from '../src/bpf/index.js';
import { pairedRatio, sleep, summarize, type Summary } from './measure.js';
import { noopObject, udpBlast } from './objects.js';
import { onCleanup } from './scratch.js';

export type TestName = 'tcp1' | 'tcp4' | 'udp64';

export interface LabThroughputOptions {
  rounds: number;
  seconds: number;
  scenarios: string[];
  tests: TestName[];
  /** Lab link modes; every scenario runs in each (default both). */
  modes?: LinkMode[];
  /** Pin senders to SENDER_CPU and receivers to RECEIVER_CPU (default true). */
  pin?: boolean;
  log: (line: string) => void;
}

export interface GroResult {
  /** Segments per packet at pod-b's IP layer (IpExt In*Pkts ÷ Ip InReceives). */
  segmentsPerPacket: Summary;
  /** Segments merged before pod-b's IP layer, per second (segments − packets). */
  mergedPerSecond: Summary;
  /** Frames that arrived on node-b's uplink (rx_packets), per packet at pod-b's IP layer. */
  framesPerPacket: Summary;
}

export interface ScenarioResult {
  scenario: string;
  /** The lab's link mode (results from before issue 16 have none: 'gso'). */
  links?: LinkMode;
  description: string;
  /** Per test: the rate (Gbit/s for TCP, packets/s for UDP). */
  rate: Record<string, Summary>;
  /** CPU cores busy during the test (cgroup + ksoftirqd). */
  cores: Record<string, Summary>;
  /** cores per Gbit/s (TCP) or per Mpps (UDP). */
  cpuPerUnit: Record<string, Summary>;
  /** Against `routed` and `kernel-vxlan`, per round. */
  vsLimit: Record<string, Summary>;
  vsKernel: Record<string, Summary>;
  /** TCP retransmits (median). */
  retransmits: Record<string, number>;
  /** udp64: share of the datagrams sent that arrived (median). */
  delivered?: number;
  /** Per test: what pod-b received, in packets and segments (see the top of this file). */
  gro?: Record<string, GroResult>;
  /** The offload settings in force after setup (ethtool -k, read back): each node's uplink and its bridge port. */
  offloads?: Record<string, string>;
}

export interface LabThroughputResult {
  scenarios: ScenarioResult[];
  seconds: number;
  /** The link modes measured (absent before issue 16: 'gso' only). */
  modes?: LinkMode[];
  /** Per link mode: what `--decap-hook auto` chooses on node-b's uplink there (bench/decap-choice-child.ts). */
  auto?: Partial<Record<LinkMode, AutoChoice>>;
  /** The CPUs senders and receivers were pinned to (absent: not pinned, before 2026-11-30). */
  pinned?: PinnedCpus;
}

export interface AutoChoice {
  /** With IPIP pools only, and with a VXLAN pool. */
  ipip: DecapHookDecision;
  vxlan: DecapHookDecision;
  /** `--vxlan-gro auto`: tc_decap's GRO hop for VXLAN on or off. */
  groHop?: GroHopDecision;
  offloads: LinkOffloads | null;
}

/** `--decap-hook auto`'s choice on `node`'s uplink, asked in the node's namespace as agentd would. */
function autoChoice(lab: Lab, node: string): AutoChoice {
  const n = lab.node(node);
  const child = new URL('./decap-choice-child.js', import.meta.url).pathname;
  const r = spawnSync('ip', ['netns', 'exec', n.ns, process.execPath, child, n.uplink, n.address], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`decap-choice-child in ${n.ns}: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as AutoChoice;
}

export interface Scenario {
  name: string;
  description: string;
  /** Only in these link modes (default: every mode asked for). */
  modes?: readonly LinkMode[];
  setup(lab: Lab, links: Link[]): Promise<void>;
}

export const NODE_A = 'node-a';
export const NODE_B = 'node-b';

export function topology() {
  const base = defaultTopology();
  return defaultTopology({ nodes: base.nodes.filter((n) => n.name === NODE_A || n.name === NODE_B) });
}

function routedSetup(lab: Lab): void {
  const a = lab.node(NODE_A);
  const b = lab.node(NODE_B);
  lab.ip(a.ns, 'route', 'add', b.block, 'via', b.address, 'dev', a.uplink);
  lab.ip(b.ns, 'route', 'add', a.block, 'via', a.address, 'dev', b.uplink);
}

/** Felix's VXLAN programming for `node` towards `peer` (VTEP addresses: each block's first). */
function felixVxlan(lab: Lab, node: string, peer: string): void {
  const n = lab.node(node);
  const p = lab.node(peer);
  const vtep = (block: string) => block.replace(/\.0\/\d+$/, '.1');
  lab.ip(n.ns, 'link', 'add', 'vxlan.calico', 'type', 'vxlan', 'id', '4096', 'dstport', '4789', 'local', n.address, 'dev', n.uplink, 'nolearning');
  lab.ip(n.ns, 'link', 'set', 'vxlan.calico', 'address', calicoVtepMac(node), 'mtu', '1450', 'up');
  lab.ip(n.ns, 'addr', 'add', `${vtep(n.block)}/32`, 'dev', 'vxlan.calico');
  lab.ip(n.ns, 'neigh', 'replace', vtep(p.block), 'lladdr', calicoVtepMac(peer), 'dev', 'vxlan.calico', 'nud', 'permanent');
  sh(['bridge', '-n', n.ns, 'fdb', 'replace', calicoVtepMac(peer), 'dev', 'vxlan.calico', 'dst', p.address, 'self', 'permanent']);
  lab.ip(n.ns, 'route', 'replace', p.block, 'via', vtep(p.block), 'dev', 'vxlan.calico', 'onlink');
}

function burrow(mode: 'ipip' | 'vxlan', hook: 'tc' | 'xdp', variant?: { suffix: string; description: string; args: string[]; modes: LinkMode[] }): Scenario {
  return {
    name: `burrow-${mode}-${hook}${variant?.suffix ?? ''}`,
    description: `agentd on both nodes, ${mode === 'ipip' ? 'ipipMode' : 'vxlanMode'} Always, ${hook.toUpperCase()} decap${variant?.description ?? ''}`,
    ...(variant ? { modes: variant.modes } : {}),
    async setup(lab) {
      writeLabManifests(lab, labManifests(lab, { 'pool.yaml': poolManifest(mode === 'ipip' ? { ipipMode: 'Always' } : { vxlanMode: 'Always' }) }));
      await Promise.all([NODE_A, NODE_B].map((n) => startAgent(lab, n, { decapHook: hook, extraArgs: ['--resync', '0', ...(variant?.args ?? [])] })));
    },
  };
}

export const SCENARIOS: Scenario[] = [
  { name: 'routed', description: 'plain routes via the peer node, no encapsulation (the limit)', setup: async (lab) => routedSetup(lab) },
  {
    name: 'routed+xdp-noop',
    description: 'plain routes, xdp_noop on both uplinks (the price of any XDP program on veth)',
    async setup(lab, links) {
      routedSetup(lab);
      const prog = noopObject().program('xdp_noop');
      for (const n of [NODE_A, NODE_B]) links.push(withNetns(`/run/netns/${lab.node(n).ns}`, () => attachXdp(prog, 'eth0', { mode: 'native' })));
    },
  },
  {
    name: 'routed+nft-guard',
    description: "plain routes plus burrow's nft guard table on both nodes (docs/datapath.md, \"Tunnel traffic only from nodes\": a forward-hook chain every forwarded packet passes)",
    async setup(lab) {
      routedSetup(lab);
      for (const n of [NODE_A, NODE_B]) lab.exec(lab.node(n).ns, ['nft', '-f', '-'], renderNatScript(DEFAULT_NAT_TABLE, [], { vxlanPort: BURROW_DEFAULT_VXLAN_PORT }));
    },
  },
  burrow('ipip', 'tc'),
  burrow('ipip', 'xdp'),
  burrow('vxlan', 'tc'),
  // Wire-like only: on GSO veth links `--vxlan-gro auto` is off already.
  burrow('vxlan', 'tc', { suffix: '-nogro', description: ', `--vxlan-gro off` (decapsulated VXLAN up the uplink, not through the tunnel device\'s GRO)', args: ['--vxlan-gro', 'off'], modes: ['wire'] }),
  burrow('vxlan', 'xdp'),
  {
    name: 'kernel-vxlan',
    description: "the kernel's VXLAN device set up as Calico's felix does (vxlan.calico, VNI 4096, port 4789)",
    async setup(lab) {
      felixVxlan(lab, NODE_A, NODE_B);
      felixVxlan(lab, NODE_B, NODE_A);
    },
  },
];

/** A cpuacct cgroup of ours that iperf3 runs in. */
function cpuCgroup(): { path: string; usageNs(): number } {
  const root = '/sys/fs/cgroup/cpuacct';
  const dir = `${root}/burrow-bench-${process.pid}`;
  fs.mkdirSync(dir, { recursive: true });
  onCleanup(`cgroup:${dir}`, () => fs.rmdirSync(dir));
  return { path: dir, usageNs: () => Number(fs.readFileSync(`${dir}/cpuacct.usage`, 'utf8')) };
}

function ksoftirqdNs(): number {
  let sum = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!fs.readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('ksoftirqd/')) continue;
      sum += Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // gone
    }
  }
  return sum;
}

interface IperfRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The CPUs the senders and the receivers run on. This machine's two vCPUs do not run at one speed:
 * measured with the same CPU-bound loop pinned to each, one took 0.56–0.60 s and the other
 * 0.90–0.92 s (another guest on its core, presumably), and a test's rate then depended on which
 * vCPU the scheduler gave the sender — 0.20 or 0.30 Mpps for the same scenario, round to round.
 * Pinned, every scenario's sender (and receiver) runs where the others' do.
 */
export const SENDER_CPU = 0;
export const RECEIVER_CPU = os.availableParallelism() > 1 ? 1 : 0;

export interface PinnedCpus {
  sender: number;
  receiver: number;
}

/** `ip netns exec ns <cmd> ...`, under `taskset -c cpu` unless cpu is undefined. */
export function inNetns(ns: string, argv: readonly string[], cpu?: number): string[] {
  return [...(cpu === undefined ? [] : ['taskset', '-c', String(cpu)]), 'ip', 'netns', 'exec', ns, ...argv];
}

/** Runs `ip netns exec ns <cmd> ...` inside the cgroup, pinned to `cpu` unless it is undefined. */
function inCgroup(cgroup: string, ns: string, argv: string[], timeoutMs: number, cpu: number | undefined): { done: Promise<IperfRun>; kill(): void } {
  const script = `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`;
  const child = spawn('sh', ['-c', script, 'sh', ...inNetns(ns, argv, cpu)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<IperfRun>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { done, kill: () => child.kill('SIGKILL') };
}

interface Measurement {
  rate: number;
  cores: number;
  retransmits: number;
  /** udp64: share of the datagrams sent that arrived. */
  delivered?: number;
  /** Over the test: pod-b's IP packets and segments, node-b's uplink frames. */
  packets: number;
  segments: number;
  frames: number;
  seconds: number;
}

interface ReceiveCounters {
  packets: number;
  segments: number;
  frames: number;
}

function receiveCounters(lab: Lab): ReceiveCounters {
  const { packets, segments } = ipReceive(lab.pod(NODE_B).ns);
  const b = lab.node(NODE_B);
  const link = JSON.parse(lab.ip(b.ns, '-s', '-j', 'link', 'show', b.uplink)) as Array<{ stats64: { rx: { packets: number } } }>;
  return { packets, segments, frames: link[0]!.stats64.rx.packets };
}

const SINK_TABLE = 'burrow_bench_sink';
export const UDP_SINK_PORT = 9;

/** pod-b counts and drops the small-UDP test's datagrams before anything else sees them. */
function installUdpSink(lab: Lab): void {
  lab.exec(lab.pod(NODE_B).ns, ['nft', '-f', '-'], [
    `table ip ${SINK_TABLE} {`,
    '  chain pre {',
    '    type filter hook prerouting priority raw; policy accept;',
    `    udp dport ${UDP_SINK_PORT} counter drop`,
    '  }',
    '}',
  ].join('\n') + '\n');
}

/** The sink rule's packet count. */
export function udpSinkCount(lab: Lab): number {
  const text = lab.exec(lab.pod(NODE_B).ns, ['nft', '-j', 'list', 'table', 'ip', SINK_TABLE]);
  const out = JSON.parse(text) as { nftables: Array<{ rule?: { expr?: Array<{ counter?: { packets: number } }> } }> };
  for (const item of out.nftables) {
    const c = item.rule?.expr?.find((x) => x.counter)?.counter;
    if (c) return c.packets;
  }
  return 0;
}

async function measure(lab: Lab, test: TestName, seconds: number, cg: ReturnType<typeof cpuCgroup>, cpus: PinnedCpus | undefined): Promise<Measurement> {
  const client = lab.pod(NODE_A);
  const server = lab.pod(NODE_B);
  const timeout = (seconds + 30) * 1000;
  const rx0 = receiveCounters(lab);
  const received = (m: Omit<Measurement, 'packets' | 'segments' | 'frames' | 'seconds'>, wallNs: number): Measurement => {
    const rx = receiveCounters(lab);
    return { ...m, packets: rx.packets - rx0.packets, segments: rx.segments - rx0.segments, frames: rx.frames - rx0.frames, seconds: wallNs / 1e9 };
  };
  if (test === 'udp64') {
    const before = udpSinkCount(lab);
    const cpu0 = cg.usageNs();
    const soft0 = ksoftirqdNs();
    const t0 = process.hrtime.bigint();
    const r = await inCgroup(cg.path, client.ns, [udpBlast(), server.address, String(UDP_SINK_PORT), '64', String(seconds)], timeout, cpus?.sender).done;
    const wall = Number(process.hrtime.bigint() - t0);
    const cores = (cg.usageNs() - cpu0 + (ksoftirqdNs() - soft0)) / wall;
    if (r.code !== 0) throw new Error(`udp_blast in lab ${lab.prefix} failed (${r.code}): ${r.stderr.trim()}`);
    const [sent, secs] = r.stdout.trim().split(/\s+/).map(Number);
    await sleep(100); // the last datagrams arrive
    const arrived = udpSinkCount(lab) - before;
    return received({ rate: arrived / secs!, cores, retransmits: 0, delivered: arrived / sent! }, wall);
  }
  const srv = inCgroup(cg.path, server.ns, ['iperf3', '-s', '-1', '-p', '5201'], timeout, cpus?.receiver);
  await sleep(300);
  const args = ['iperf3', '-c', server.address, '-p', '5201', '-t', String(seconds), '-J'];
  if (test === 'tcp4') args.push('-P', '4');
  const cpu0 = cg.usageNs();
  const soft0 = ksoftirqdNs();
  const t0 = process.hrtime.bigint();
  const cli = await inCgroup(cg.path, client.ns, args, timeout, cpus?.sender).done;
  const wall = Number(process.hrtime.bigint() - t0);
  const cores = (cg.usageNs() - cpu0 + (ksoftirqdNs() - soft0)) / wall;
  srv.kill();
  await srv.done;
  if (cli.code !== 0) throw new Error(`iperf3 ${test} in lab ${lab.prefix} failed (${cli.code}): ${cli.stderr.trim() || cli.stdout.slice(-500)}`);
  const j = JSON.parse(cli.stdout) as { end: { sum_received: { bits_per_second: number }; sum_sent?: { retransmits?: number } } };
  return received({ rate: j.end.sum_received.bits_per_second / 1e9, cores, retransmits: j.end.sum_sent?.retransmits ?? 0 }, wall);
}

/**
 * Runs scenario `s`'s setup in `lab` (its links, XDP programs among them, go to `links`), installs
 * the small-UDP sink, and checks that pod-a reaches pod-b.
 */
export async function setUpScenario(lab: Lab, s: Scenario, links: Link[], key = s.name): Promise<void> {
  await s.setup(lab, links);
  installUdpSink(lab);
  const p = await ping(lab.pod(NODE_A).ns, lab.pod(NODE_B).address, { count: 3, interval: 0.05, wait: 2 });
  if (p.received === 0) throw new Error(`scenario ${key}: pod-a cannot reach pod-b (lab ${lab.prefix})\n${p.output}`);
}

/** Closes what scenarios attached, whatever fails: the labs are destroyed next anyway. */
export function closeLinks(links: readonly Link[]): void {
  for (const l of links) {
    try {
      l.close();
    } catch {
      // the lab goes anyway
    }
  }
}

/** One lab per scenario and link mode. */
interface Setup {
  key: string;
  mode: LinkMode;
  scenario: Scenario;
  lab: Lab;
}

export async function runLabThroughput(opts: LabThroughputOptions): Promise<LabThroughputResult> {
  const { log } = opts;
  const modes = opts.modes ?? ['gso', 'wire'];
  const chosen = SCENARIOS.filter((s) => opts.scenarios.includes(s.name));
  const setups: Setup[] = [];
  const links: Link[] = [];
  const offloads = new Map<string, Record<string, string>>();
  const auto: Partial<Record<LinkMode, AutoChoice>> = {};
  const cg = cpuCgroup();
  const cpus = (opts.pin ?? true) ? { sender: SENDER_CPU, receiver: RECEIVER_CPU } : undefined;
  try {
    for (const mode of modes) {
      for (const s of chosen.filter((x) => !x.modes || x.modes.includes(mode))) {
        const lab = Lab.create({ topology: topology(), links: mode });
        const key = `${mode}:${s.name}`;
        setups.push({ key, mode, scenario: s, lab });
        // Before any scenario's programs: what agentd would find on the uplink as the lab made it.
        if (!auto[mode]) {
          auto[mode] = autoChoice(lab, NODE_B);
          const a = auto[mode]!;
          log(`  ${mode}: --decap-hook auto on ${NODE_B}'s uplink chooses ${a.ipip.hook} for IPIP (${a.ipip.reason}), ${a.vxlan.hook} for VXLAN (${a.vxlan.reason}); --vxlan-gro ${a.groHop?.on ? 'on' : 'off'}`);
        }
        await setUpScenario(lab, s, links, key);
        // Read back after the setup: an XDP program on a veth takes TSO from its peer.
        const up = lab.uplinkFeatures();
        const port = lab.segmentPortFeatures();
        const o: Record<string, string> = {};
        for (const n of [NODE_A, NODE_B]) {
          o[`${n} eth0`] = formatFeatures(up[n]!);
          o[`${n}'s bridge port`] = formatFeatures(port[n]!);
        }
        offloads.set(key, o);
        log(`  ${key}: lab ${lab.prefix} up (${s.description})`);
        for (const [k, v] of Object.entries(o)) log(`    ${k}: ${v}`);
      }
    }
    const samples = new Map<string, Map<TestName, Measurement[]>>();
    for (const x of setups) samples.set(x.key, new Map(opts.tests.map((t) => [t, []])));
    for (let round = 0; round < opts.rounds; round++) {
      for (const test of opts.tests) {
        for (const x of setups) {
          const m = await measure(x.lab, test, opts.seconds, cg, cpus);
          samples.get(x.key)!.get(test)!.push(m);
        }
      }
      log(`  round ${round + 1}/${opts.rounds} done`);
    }
    const series = (key: string, test: TestName) => samples.get(key)?.get(test)?.map((m) => m.rate) ?? [];
    const out: ScenarioResult[] = setups.map(({ key, mode, scenario: s }) => {
      const r: ScenarioResult = {
        scenario: s.name, links: mode, description: s.description, rate: {}, cores: {}, cpuPerUnit: {}, vsLimit: {}, vsKernel: {}, retransmits: {}, gro: {},
        offloads: offloads.get(key)!,
      };
      for (const test of opts.tests) {
        const ms = samples.get(key)!.get(test)!;
        r.rate[test] = summarize(ms.map((m) => m.rate));
        r.cores[test] = summarize(ms.map((m) => m.cores));
        r.cpuPerUnit[test] = summarize(ms.map((m) => (test === 'udp64' ? m.cores / (m.rate / 1e6) : m.cores / m.rate)));
        if (samples.has(`${mode}:routed`)) r.vsLimit[test] = pairedRatio(series(key, test), series(`${mode}:routed`, test));
        if (samples.has(`${mode}:kernel-vxlan`)) r.vsKernel[test] = pairedRatio(series(key, test), series(`${mode}:kernel-vxlan`, test));
        r.retransmits[test] = summarize(ms.map((m) => m.retransmits)).median;
        if (test === 'udp64') r.delivered = summarize(ms.map((m) => m.delivered ?? NaN)).median;
        r.gro![test] = {
          segmentsPerPacket: summarize(ms.map((m) => m.segments / m.packets)),
          mergedPerSecond: summarize(ms.map((m) => (m.segments - m.packets) / m.seconds)),
          framesPerPacket: summarize(ms.map((m) => m.frames / m.packets)),
        };
      }
      const fmt = (t: TestName) => (t === 'udp64' ? `${((r.rate[t]?.median ?? NaN) / 1e6).toFixed(3)} Mpps` : `${(r.rate[t]?.median ?? NaN).toFixed(2)} Gbit/s`);
      const gro = (t: TestName) => `${(r.gro![t]!.segmentsPerPacket.median).toFixed(1)} seg/pkt`;
      log(`  ${key.padEnd(21)} ${opts.tests.map((t) => `${t} ${fmt(t)} (${gro(t)})`).join(', ')}`);
      return r;
    });
    return { scenarios: out, seconds: opts.seconds, modes, auto, ...(cpus ? { pinned: cpus } : {}) };
  } finally {
    closeLinks(links);
    for (const x of setups) x.lab.destroy();
  }
}
