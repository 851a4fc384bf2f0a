/**
 * §4, last part: where a small packet's time goes. The lab's 64-byte UDP test
 * (bench/tools/udp_blast.c, pod-a → pod-b, counted and dropped at pod-b's prerouting hook) under
 * `perf record -a` (system-wide, fixed frequency, no call graphs), one scenario at a time, each in
 * its own two-node lab (all up at once, every scenario in each round). Each sample stands for
 * 1/frequency s of one CPU, so a kernel function's cost per packet is
 *
 *   samples × (1 / frequency) ÷ packets counted by pod-b's sink while perf recorded
 *
 * and the scenarios' figures subtract: `burrow − routed`, paired within each round (the pinned
 * sender's vCPU changes speed between rounds on this shared machine, every function alike; each
 * round is also scaled to one speed, see runLabProfile), is what burrow adds to each packet, by
 * function. Only the packet path's contexts count (PATH_COMM: the sender, softirq threads,
 * softirqs on an otherwise idle CPU), idle functions (the hypervisor halt, cpuidle) left out:
 * agentd, perf and this bench are not in the figures.
 * The functions are grouped by what they do (GROUPS below, by name) so the table reads as a budget;
 * the per-function deltas are listed too, so the grouping can be checked.
 *
 * Needs `perf` (Debian's linux-perf, installed by the setup). perf slows what it watches by a few
 * per cent: the rates here are lower than §4's; the comparison is within this section.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { Link } from '../src/bpf/index.js';
import { Lab } from '../src/lab/lab.js';
import type { LinkMode } from '../src/lab/offloads.js';
import { closeLinks, inNetns, NODE_A, NODE_B, SCENARIOS, SENDER_CPU, setUpScenario, topology, UDP_SINK_PORT, udpSinkCount } from './lab-throughput.js';
import { sleep, summarize, type Summary } from './measure.js';
import { udpBlast } from './objects.js';
import { onCleanup } from './scratch.js';

export interface LabProfileOptions {
  scenarios: string[];
  mode: LinkMode;
  rounds: number;
  /** Seconds perf records (the sender runs 2 s longer: 1 s before, 1 s after). */
  seconds: number;
  /** perf's sampling frequency per CPU, Hz. */
  frequency: number;
  log: (line: string) => void;
}

/** The groups' names, as the report prints them (and the results file keys them). */
export const GROUP = {
  programs: 'BPF programs (their own instructions)',
  maps: 'BPF map lookups',
  helpers: 'BPF helpers, program entry',
  headroom: 'headroom: reallocating the packet',
  netfilter: 'netfilter hooks (nftables, bridge netfilter)',
  gro: 'GRO',
  bridge: "the lab's bridge (the wire between the nodes)",
  devices: 'device transmit and receive (veth, queues, softirq)',
  ip: 'IP forwarding, routing, neighbours',
  plumbing: 'kernel plumbing (RCU, interrupts off/on, clocks, user copies, locks)',
  udp: 'UDP and the sending socket',
  other: 'everything else',
} as const;

/** Groups, in the order they are tried; the first whose pattern matches a function's name wins. */
export const GROUPS: ReadonlyArray<readonly [string, RegExp]> = [
  [GROUP.programs, /^bpf_prog_/],
  [GROUP.maps, /^(trie_lookup_elem|__htab_map_lookup_elem|htab_map_hash|lookup_nulls_elem_raw|htab_|array_map_|percpu_array_|bpf_map_)/],
  [GROUP.helpers, /^(bpf_|__bpf_|skb_do_redirect|skb_headers_offset_update|skb_postpush_rcsum|skb_postpull_rcsum)/],
  [GROUP.headroom, /^(pskb_expand_head|__kmalloc_node_track_caller|kmalloc_size_roundup|__memmove|kfree$|skb_free_head|skb_release_data|__check_heap_object|is_vmalloc_addr)/],
  [GROUP.netfilter, /^(nft_|nf_|__nf_|ipt_|br_nf_|ip_sabotage|nf_hook)/],
  [GROUP.gro, /gro_(receive|complete)|^(napi_gro|dev_gro|skb_gro|gro_|napi_skb_finish)/],
  [GROUP.bridge, /^(br_|fdb_|__br_)/],
  [GROUP.devices, /^(veth_|__dev_queue_xmit|dev_queue_xmit|dev_hard_start_xmit|__netif_receive|netif_|__netif_|process_backlog|enqueue_to_backlog|net_rx_action|napi_|__napi|eth_type_trans|netdev_|validate_xmit|sch_handle|tcx_|skb_csum_hwoffload_help|passthru_features_check|handle_softirqs|__local_bh|do_softirq|__do_softirq|__raise_softirq|raise_softirq|skb_network_protocol|dev_get_by_index|skb_defer|__skb_ext|skb_ext_)/],
  [GROUP.ip, /^(ip_|fib_|__fib|ipv4_|dst_|__ip_|rt_|neigh_|__neigh|inet_|ip4_|iptunnel_|ipip_|vxlan_|udp_tunnel|udp4_lib_lookup|__udp4_lib)/],
  [GROUP.plumbing, /^(pvm_irq_|__raw_callee_save_pvm_|__rcu_read_|rcu_|_find_next_bit|_find_first_bit|pvclock_|kvm_clock_|ktime_get|__virt_addr_valid|copy_|_copy_|__copy_|memcmp|__list_|_raw_spin_|raw_spin_|map_id_range_down|__put_user|__get_user|fdget|import_|__import_|__check_object_size|check_heap_object|kmalloc_reserve|__pi_memcpy|__pi_memset|memcpy|memset)/],
  [GROUP.udp, /^(udp|__udp|sock_|__sock|__sys_|___sys_|____sys_|__x64_sys|x64_sys|do_syscall|entry_SYSCALL|syscall_|sendmmsg|__skb_|skb_|kmem_cache_|__alloc_skb|alloc_skb|consume_skb|kfree_skb|__kfree_skb|__copy_skb|memcg|__memcg)/],
];
/** Every group's name, in the report's order. */
export const GROUP_NAMES: readonly string[] = [...GROUPS.map(([g]) => g), GROUP.other];

/** Functions that only ever run on an idle CPU. */
const IDLE = /(^|_)(safe_halt|halt|idle|mwait|poll_idle|cpuidle|do_idle|cpu_startup_entry)|^pvm_safe_halt_hc$/;

export interface ProfileRun {
  /** Packets pod-b counted per second while perf recorded. */
  rate: number;
  /** Busy CPU time per packet (every non-idle sample), ns. */
  busyNs: number;
  /** ns per packet by function (only functions with ≥ 0.5 ns). */
  functions: Record<string, number>;
  /** ns per packet by group (every function). */
  groups: Record<string, number>;
}

export interface ProfileScenario {
  scenario: string;
  description: string;
  /** Packets/s at pod-b while perf recorded, as measured. */
  rate: Summary;
  /** CPU per packet, each round scaled to one machine speed (see runLabProfile); rawBusyNs unscaled. */
  busyNs: Summary;
  rawBusyNs: Summary;
  /** ns per packet by group, scaled as busyNs. */
  groups: Record<string, Summary>;
  /** Against `routed` (when measured), paired within each round: this scenario − routed. */
  vsRouted?: {
    busyNs: Summary;
    groups: Record<string, Summary>;
    /** Median over rounds of the per-round difference. */
    functions: Record<string, number>;
  };
}

export interface LabProfileResult {
  mode: LinkMode;
  seconds: number;
  frequency: number;
  rounds: number;
  scenarios: ProfileScenario[];
}

export function groupOf(fn: string): string {
  for (const [name, re] of GROUPS) if (re.test(fn)) return name;
  return GROUP.other;
}

/** The contexts a packet's path runs in: the sender's system call and the softirqs it raises, softirq
 * threads, and softirqs that interrupted an idle CPU. Not the bench, agentd, perf or other daemons. */
const PATH_COMM = /^(udp_blast|ksoftirqd\/\d+|swapper(\/\d+)?)$/;

/**
 * Samples by function from `perf report --stdio -n --sort comm,sym -F sample,comm,sym -t '\t'` text:
 * only the packet path's contexts (PATH_COMM), idle functions left out, and a BPF program's symbol
 * without its tag (bpf_prog_<tag>_<name> → bpf_prog_<name>: the tag changes with the code).
 */
export function parsePerfReport(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const [n, comm, sym] = line.split('\t');
    const samples = Number(n);
    if (!Number.isFinite(samples) || comm === undefined || sym === undefined || !PATH_COMM.test(comm.trim())) continue;
    const fn = sym.replace(/^\s*\[[^\]]*\]\s*/, '').trim().replace(/^bpf_prog_[0-9a-f]{16}_/, 'bpf_prog_');
    if (!fn || IDLE.test(fn)) continue;
    out.set(fn, (out.get(fn) ?? 0) + samples);
  }
  return out;
}

function samplesByFunction(file: string): Map<string, number> {
  return parsePerfReport(
    execFileSync('perf', ['report', '-i', file, '--stdio', '--no-children', '-n', '--sort', 'comm,sym', '-F', 'sample,comm,sym', '-t', '\t', '-g', 'none'], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );
}

async function profileOnce(lab: Lab, opts: LabProfileOptions, file: string): Promise<ProfileRun> {
  const a = lab.pod(NODE_A);
  const b = lab.pod(NODE_B);
  const total = opts.seconds + 2;
  const [cmd, ...args] = inNetns(a.ns, [udpBlast(), b.address, String(UDP_SINK_PORT), '64', String(total)], SENDER_CPU);
  const blast = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  blast.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number | null>((resolve) => blast.on('close', resolve));
  try {
    await sleep(1000);
    const c0 = udpSinkCount(lab);
    const t0 = process.hrtime.bigint();
    execFileSync('perf', ['record', '-a', '-F', String(opts.frequency), '-o', file, '--', 'sleep', String(opts.seconds)], { stdio: 'ignore' });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const packets = udpSinkCount(lab) - c0;
    const code = await done;
    if (code !== 0) throw new Error(`udp_blast in lab ${lab.prefix} failed (${code}): ${stderr.trim()}`);
    if (packets <= 0) throw new Error(`lab ${lab.prefix}: pod-b counted no packets while perf recorded`);
    const perSample = 1e9 / opts.frequency;
    const functions: Record<string, number> = {};
    const groups: Record<string, number> = {};
    let busy = 0;
    for (const [fn, n] of samplesByFunction(file)) {
      const ns = (n * perSample) / packets;
      const g = groupOf(fn);
      busy += ns;
      groups[g] = (groups[g] ?? 0) + ns;
      if (ns >= 0.5) functions[fn] = ns;
    }
    return { rate: packets / wall, busyNs: busy, functions, groups };
  } finally {
    blast.kill('SIGKILL');
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.old`, { force: true });
  }
}

export async function runLabProfile(opts: LabProfileOptions): Promise<LabProfileResult> {
  const { log } = opts;
  const chosen = opts.scenarios.map((name) => {
    const s = SCENARIOS.find((x) => x.name === name);
    if (!s) throw new Error(`lab-profile: no scenario ${name}`);
    return s;
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `burrow-bench-${process.pid}-perf-`));
  onCleanup(`dir:${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  const runs = new Map<string, ProfileRun[]>(chosen.map((s) => [s.name, []]));
  const labs: Array<{ name: string; lab: Lab }> = [];
  const links: Link[] = [];
  try {
    // All labs up first (as §4 does), then every scenario in turn in each round: rounds close in
    // time share the machine's conditions, and the report pairs them.
    for (const s of chosen) {
      const lab = Lab.create({ topology: topology(), links: opts.mode });
      labs.push({ name: s.name, lab });
      await setUpScenario(lab, s, links);
      log(`  ${s.name}: lab ${lab.prefix} up`);
    }
    for (let round = 0; round < opts.rounds; round++) {
      for (const { name, lab } of labs) {
        const r = await profileOnce(lab, opts, path.join(dir, `${name}.data`));
        runs.get(name)!.push(r);
        log(`  round ${round + 1} ${name.padEnd(18)} ${(r.rate / 1e6).toFixed(3)} Mpps under perf, ${r.busyNs.toFixed(0)} ns of CPU per packet`);
      }
    }
  } finally {
    closeLinks(links);
    for (const { lab } of labs) lab.destroy();
  }
  const routedRuns = runs.get('routed');
  // Each round's figures scaled to one machine speed: by the median of routed's CPU per packet over
  // that round's. Within a round every scenario ran on the same vCPU under the same conditions; from
  // round to round the vCPU's speed drifted (routed: 2.3 µs per packet in one round, 3.5 in the next,
  // every function slower alike).
  const routedMedian = routedRuns ? summarize(routedRuns.map((r) => r.busyNs)).median : NaN;
  const scale = routedRuns?.map((r) => routedMedian / r.busyNs) ?? [];
  const scaled = (r: ProfileRun, i: number): ProfileRun => {
    const k = scale[i] ?? 1;
    const mul = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([key, v]) => [key, v * k]));
    return { rate: r.rate, busyNs: r.busyNs * k, functions: mul(r.functions), groups: mul(r.groups) };
  };
  const routed = routedRuns?.map(scaled);
  const scenarios = chosen.map((s): ProfileScenario => {
    const raw = runs.get(s.name)!;
    const rs = raw.map(scaled);
    const groups: Record<string, Summary> = {};
    for (const g of GROUP_NAMES) groups[g] = summarize(rs.map((r) => r.groups[g] ?? 0));
    const out: ProfileScenario = {
      scenario: s.name, description: s.description, rate: summarize(raw.map((r) => r.rate)), busyNs: summarize(rs.map((r) => r.busyNs)),
      rawBusyNs: summarize(raw.map((r) => r.busyNs)), groups,
    };
    if (routed && s.name !== 'routed') {
      const paired = (f: (r: ProfileRun) => number) => summarize(rs.map((r, i) => f(r) - f(routed[i]!)));
      const vs: NonNullable<ProfileScenario['vsRouted']> = { busyNs: paired((r) => r.busyNs), groups: {}, functions: {} };
      for (const g of GROUP_NAMES) vs.groups[g] = paired((r) => r.groups[g] ?? 0);
      for (const fn of new Set([...rs, ...routed].flatMap((r) => Object.keys(r.functions)))) vs.functions[fn] = paired((r) => r.functions[fn] ?? 0).median;
      out.vsRouted = vs;
    }
    return out;
  });
  return { mode: opts.mode, seconds: opts.seconds, frequency: opts.frequency, rounds: opts.rounds, scenarios };
}
