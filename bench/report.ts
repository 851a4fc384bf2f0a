/**
 * BENCHMARKS.md from bench/results/latest.json: method, machine, tables, goals, and what limits
 * each figure. Pure: results in, markdown out. The prose states the method and the mechanisms;
 * every number comes from the results.
 */
import type { EngineBenchResult, EngineSizeResult } from './engine.js';
import { etcdTable, type EtcdBenchResult } from './etcd.js';
import type { ControlPlaneResult, SizeResult } from './control-plane.js';
import type { DecapRateResult, RateRow } from './decap-rate.js';
import { GROUP, GROUP_NAMES, groupOf, type LabProfileResult, type ProfileScenario } from './lab-profile.js';
import type { LabThroughputResult, ScenarioResult } from './lab-throughput.js';
import type { LinkMode } from '../src/lab/offloads.js';
import type { MachineFacts } from './machine.js';
import { fmt, fmtRatio, type Summary } from './measure.js';
import type { CostRow, ProgramCostResult } from './program-cost.js';

export interface SectionRecord {
  date: string;
  seconds: number;
  quick: boolean;
  loadBefore: number[];
  loadAfter: number[];
  /** Share of all CPUs busy (everything on the machine) while the section ran. */
  machineBusy: number;
  /** The code measured (git describe --dirty). */
  revision?: string;
  data: unknown;
}

export interface Results {
  machine: MachineFacts;
  sections: Partial<Record<string, SectionRecord>>;
}

const GOAL_RATIO = 1.5;
/** Issue 16's goals for the encap programs with a next hop: against a frame bounced unchanged. */
const NEXTHOP_GOAL = { xdp: 1.5, tc: 1.2 } as const;
const GOAL_RATE = 0.85;
const GOAL_100K_MS = 2000;
const GOAL_VS_RAW = 2;
const GOAL_INCREMENTAL_MS = 50;
const GOAL_RSS_MIB = 120;

const ok = (met: boolean) => (met ? '**met**' : '**missed**');
const med = (s: Summary | undefined) => s?.median ?? NaN;
const pct = (x: number, digits = 0) => `${(x * 100).toFixed(digits)}%`;

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function sectionHeader(r: SectionRecord): string {
  return `_Measured ${r.date.slice(0, 16).replace('T', ' ')} UTC${r.quick ? ' (quick run)' : ''}${r.revision ? ` at ${r.revision}` : ''} in ${r.seconds.toFixed(0)} s; ` +
    `all CPUs were ${pct(r.machineBusy)} busy meanwhile, this benchmark's own work included (load average ${r.loadBefore[0]} before, ${r.loadAfter[0]} after)._`;
}

// ---------------------------------------------------------------------------------------------- §2

function costRows(rows: CostRow[], hook: CostRow['hook']): string[][] {
  return rows.filter((r) => r.hook === hook).map((r) => [
    `${r.program} ${r.mode}${r.nexthop ? ' + next hop' : ''}`,
    r.baseline,
    fmt(r.hookNs, 0),
    fmt(r.baselineHookNs, 0),
    fmtRatio(r.ratio),
    Number.isFinite(med(r.progNs)) ? fmt(r.progNs, 0) : '–',
    Number.isFinite(med(r.addedNs)) ? fmt(r.addedNs, 0) : '–',
    r.offPath === 0 ? '0' : `**${r.offPath}**`,
  ]);
}

function programCost(rec: SectionRecord): string {
  const d = rec.data as ProgramCostResult;
  const head = ['program', 'beside', 'ns/packet', 'baseline ns/packet', 'ratio', 'program alone, ns', 'added by the program, ns', 'runs off path'];
  const primary = d.rows.filter((r) => r.baseline === 'xdp_noop' || r.baseline === 'tc_noop');
  const worst = (hook: CostRow['hook']) => Math.max(...primary.filter((r) => r.hook === hook).map((r) => med(r.ratio)));
  // Without a next hop (the FIB / bpf_redirect_neigh) and with one (docs/datapath.md, "Next hops").
  const encapTx = d.rows.filter((r) => r.program === 'xdp_encap' && r.baseline.startsWith('xdp_tx') && !r.nexthop);
  const bounce = d.rows.filter((r) => r.program === 'tc_encap' && r.baseline.startsWith('tc_bounce') && !r.nexthop);
  const encapTxNh = d.rows.filter((r) => r.program === 'xdp_encap' && r.baseline.startsWith('xdp_tx') && r.nexthop);
  const bounceNh = d.rows.filter((r) => r.program === 'tc_encap' && r.baseline.startsWith('tc_bounce') && r.nexthop);
  const byName = (p: string, hook: CostRow['hook'], base = 'noop', nexthop = false) =>
    primary.filter((r) => r.program === p && r.hook === hook && r.baseline.includes(base) && (r.nexthop ?? false) === nexthop);
  const range = (rows: CostRow[], f: (r: CostRow) => number, digits = 2) => {
    const xs = rows.map(f).filter(Number.isFinite);
    if (!xs.length) return 'n/a';
    const [lo, hi] = [Math.min(...xs).toFixed(digits), Math.max(...xs).toFixed(digits)];
    return lo === hi ? lo : `${lo}–${hi}`;
  };
  return `## 2. Per-program cost

${sectionHeader(rec)}

Goal: each program ≤ ${GOAL_RATIO}× the no-op program on the same hook.

**XDP** — \`BPF_PROG_TEST_RUN\` with \`BPF_F_TEST_XDP_LIVE_FRAMES\`, ${d.xdpRepeat.toLocaleString('en')} repetitions per call (batches of 64), on a veth
in a throwaway namespace (\`xdp_md.ingress_ifindex\` = that veth). The kernel's figure per packet
covers recycling the page, the program, and carrying out its verdict: \`XDP_PASS\` builds an skb and
runs IPv4 receive, which ends at a blackhole route (node addresses for the no-op's outer packet,
pod addresses for the decapsulated inner one — the cheapest place either can go); \`XDP_TX\` sends
into the veth peer, where an \`XDP_DROP\` program takes it.

${table(head, costRows(d.rows, 'xdp'))}

**TC, one run per call** — the kernel's skb test run does not reset the packet between
repetitions: \`bpf_test_run()\` runs the program \`repeat\` times on the same skb. Measured here:
${d.repeatCheck.program} with repeat ${d.repeatCheck.repeat} on one frame counted ${Object.entries(d.repeatCheck.counters).map(([k, v]) => `${v} ${k}`).join(' and ')}: every
repetition after the first saw its own output. So each figure is the median over ${d.tcCalls.toLocaleString('en')}
calls of one repetition each (a fresh skb built from the input every time). The kernel's figure
for one repetition includes two clock reads and the bottom-half toggling around the program,
which is what the no-op's figure almost entirely is, and the program runs cold (a system call
between runs).

${table(head, costRows(d.rows, 'tc'))}

**TC on real skbs** — live XDP frames passed (\`xdp_noop\`, \`XDP_PASS\`) into the stack of the
veth, where the program sits at tcx ingress; figure per packet = building the skb, the TC hook,
and what follows: for \`tc_decap\` IPv4 receive and the blackhole route; for \`tc_encap\` (at TC
ingress, as on a pod's host-side veth) \`bpf_redirect_neigh\` out of the veth into a TC drop on its
peer. \`tc_bounce\` (a bench helper) sends the packet back out unchanged with \`bpf_redirect\`:
the same egress without encapsulation and without the route/neighbour lookup.

${table(head, costRows(d.rows, 'tc-skb-path'))}

"program alone" is the kernel's own accounting (\`bpf_stats\`: run_time_ns / run_cnt), measured in
a second pass because the accounting adds two \`sched_clock()\` reads per run (so it is not a part
of the ns/packet column, which was measured without it): the no-op program's
figure (${range(primary, (r) => med(r.baselineProgNs), 0)} ns) is that overhead, and "added by the program" subtracts it.
"runs off path" counts repetitions whose encap/decap counter did not move (must be 0: it proves
every repetition was a fresh packet that took the full path).

**Fresh packets with live frames.** Live-frame test runs copy the input into a page once per page
and call; a recycled page gets its data pointers reset, not its bytes. A program that rewrites the
packet in place (all four do) would see its own output again: a first attempt counted 64
decapsulations in 1,000,000 \`xdp_decap\` runs (one batch of fresh pages; the rest were "not
ours"). The frames used here are fixed points of each program (bench/frames.ts): the bytes each
program writes equal the bytes already there (for IPIP decap the receiving MAC spells DF, TTL 64,
protocol 4 and the outer checksum, and the node address ends in .8.0). Calling with repeat 1
instead would cost a dispatcher update and two RCU grace periods (~31 ms) per call.

**Goal.** ${ok(worst('xdp') <= GOAL_RATIO)} for XDP against \`xdp_noop\` (worst ${worst('xdp').toFixed(2)}×);
against a frame bounced unchanged (\`xdp_tx\`), \`xdp_encap\` is ${range(encapTx, (r) => med(r.ratio))}×: ${ok(encapTx.every((r) => med(r.ratio) <= GOAL_RATIO))}.
${ok(worst('tc') <= GOAL_RATIO)} for TC one run per call (worst ${worst('tc').toFixed(2)}×); on real skbs \`tc_decap\` is
${range(byName('tc_decap', 'tc-skb-path'), (r) => med(r.ratio))}× \`tc_noop\` (${ok(byName('tc_decap', 'tc-skb-path').every((r) => med(r.ratio) <= GOAL_RATIO))}) and \`tc_encap\` ${range(byName('tc_encap', 'tc-skb-path'), (r) => med(r.ratio))}× \`tc_noop\`,
${range(bounce, (r) => med(r.ratio))}× \`tc_bounce\` (${ok(bounce.every((r) => med(r.ratio) <= GOAL_RATIO))}).

**With a next hop** (agentd's \`nexthops\` entry for the remote: the MACs and device written by the
program, no FIB or neighbour lookup; issue 16's goals): \`xdp_encap\` ${range(encapTxNh, (r) => med(r.ratio))}× \`xdp_tx\`
(goal ≤ ${NEXTHOP_GOAL.xdp}: ${ok(encapTxNh.length > 0 && encapTxNh.every((r) => med(r.ratio) <= NEXTHOP_GOAL.xdp))}; without one ${range(encapTx, (r) => med(r.ratio))}×), \`tc_encap\` on real skbs
${range(bounceNh, (r) => med(r.ratio))}× \`tc_bounce\` (goal ≤ ${NEXTHOP_GOAL.tc}: ${ok(bounceNh.length > 0 && bounceNh.every((r) => med(r.ratio) <= NEXTHOP_GOAL.tc))}; without one ${range(bounce, (r) => med(r.ratio))}×). Program
alone: XDP encap ${range(byName('xdp_encap', 'xdp', 'noop', true), (r) => med(r.addedNs), 0)} ns with a next hop against ${range(byName('xdp_encap', 'xdp'), (r) => med(r.addedNs), 0)} ns without; TC encap on real skbs
${range(byName('tc_encap', 'tc-skb-path', 'noop', true), (r) => med(r.addedNs), 0)} ns against ${range(byName('tc_encap', 'tc-skb-path'), (r) => med(r.addedNs), 0)} ns (its redirect's route and neighbour lookups run after the program).

**What limits these figures.**
- What each program adds over the no-op (bpf_stats, program alone): XDP decap ${range(byName('xdp_decap', 'xdp'), (r) => med(r.addedNs), 0)} ns,
  XDP encap ${range(byName('xdp_encap', 'xdp'), (r) => med(r.addedNs), 0)} ns, TC decap ${range(byName('tc_decap', 'tc-skb-path'), (r) => med(r.addedNs), 0)} ns and TC encap ${range(byName('tc_encap', 'tc-skb-path'), (r) => med(r.addedNs), 0)} ns on real
  skbs. Decap is a hash lookup (peers), bounds checks and a head adjustment, small next to what any
  passed packet costs afterwards (skb, IPv4 receive).
- \`xdp_encap\`: \`perf record\` on this machine puts about two thirds of the program's time in
  \`bpf_fib_lookup()\` (\`bpf_ipv4_fib_lookup\`, \`fib_table_lookup\`, the MTU check, the FIB-rules
  walk), the rest in the LPM lookup and header writes. Against a frame bounced unchanged
  (\`xdp_tx\`: page recycling, the veth transmit and the peer's drop, ~${med(encapTx[0]?.baselineHookNs).toFixed(0)} ns) that is more than ${GOAL_RATIO}×;
  against a packet handed to the stack (\`xdp_noop\`) it is cheaper. With a next hop for the peer
  (agentd's \`nexthops\` map, kept from the kernel's own route and managed neighbour and followed
  by netlink events) the lookup is gone.
- \`tc_encap\` on real skbs: the program body and \`bpf_skb_adjust_room()\` are a small share; the
  difference to \`tc_bounce\` is mostly \`bpf_redirect_neigh()\` doing an \`ip_route_output\` and a
  neighbour lookup per packet (perf: \`ip_route_output_key_hash_rcu\`, \`fib_table_lookup\`,
  \`skb_do_redirect\`), which the kernel's own tunnel devices also do. With a next hop the program
  writes the MACs itself and \`bpf_redirect\`s: the same egress as \`tc_bounce\`.
- Inside the programs (perf samples by offset in the JIT image, read with
  \`BPF_OBJ_GET_INFO_BY_FD\`'s \`jited_prog_insns\`: this machine's bpftool has no disassembler),
  \`tc_encap\` with a next hop spent 27 % of its own time on the VXLAN source port (four chained
  finalizers and a 64-bit \`div\`) and 15 % re-reading the outer header it had just written, in
  bytes, for the checksum (store-forwarding stalls); both are gone since 2026-11-30 (one finalizer
  and a multiply-shift; the checksum summed from the values written: docs/datapath.md, "VXLAN
  source port hash"), which took 7–13 ns off VXLAN encapsulation (bpf_stats, program alone, before
  and after on this machine). What is left is the program's
  entry, its first touch of the packet, the per-CPU counter, and the lookups: one LPM (\`routes\`)
  and two hashes (\`peers\` for the recursion check, \`nexthops\`), three in XDP (\`pmtu\`); with
  \`xdp_tx\` at ~${med(encapTx[0]?.baselineHookNs).toFixed(0)} ns, ${GOAL_RATIO}× leaves less room than one LPM and one hash lookup cost.
- One-run-per-call TC figures are dominated by what the harness does around a single run
  (clock reads, cold caches after the system call): a no-op costs ~${med(byName('tc_encap', 'tc')[0]?.baselineHookNs).toFixed(0)} ns there, far more than
  the no-op program. They bound the cold per-packet cost; the real-skb figures are the warm one.
- The machine is shared and noisy: medians of several rounds, every baseline measured right next to
  its program in each round, ratios taken per round.
`;
}

// ---------------------------------------------------------------------------------------------- §3

function decapRate(rec: SectionRecord): string {
  const d = rec.data as DecapRateResult;
  const rows = d.rows.map((r: RateRow) => [
    `${r.variant} ${r.mode} (${d.frameBytes[r.mode]} B frames)`,
    fmt({ ...r.cpuPps, median: r.cpuPps.median / 1e6, min: r.cpuPps.min / 1e6, max: r.cpuPps.max / 1e6 }, 3),
    fmt({ ...r.pps, median: r.pps.median / 1e6, min: r.pps.min / 1e6, max: r.pps.max / 1e6 }, 3),
    (r.offeredPps.median / 1e6).toFixed(2),
    pct(r.ringDropShare.median),
    r.variant === 'xdp_noop' ? '100%' : `${pct(r.ratio.median, 1)} (${pct(r.ratio.min, 1)}–${pct(r.ratio.max, 1)})`,
    r.variant === 'xdp_noop' ? '100%' : pct(r.wallRatio.median, 1),
    r.variant === 'xdp_noop' ? '–' : String(r.offPath),
  ]);
  const decaps = d.rows.filter((r) => r.variant === 'xdp_decap');
  const worst = Math.min(...decaps.map((r) => r.ratio.median));
  return `## 3. XDP decap packet rate

${sectionHeader(rec)}

Goal: \`xdp_decap\` ≥ ${pct(GOAL_RATE)} of a no-op \`XDP_PASS\` on the same veth.

Method: \`[gen ns] gen0 ── veth ── dut0 [dut ns]\`. The generator test-runs a bench helper that
returns \`XDP_TX\`, with live frames on gen0 (pinned to CPU ${d.cpus.generator}): every repetition is a fresh tunnel
frame sent into dut0 through the veth's \`ndo_xdp_xmit\` (no skb on the way). dut0 runs \`xdp_noop\` or
\`xdp_decap\` natively; its NAPI is ${d.threadedNapi ? `threaded, the kthread pinned to CPU ${d.cpus.dut}` : 'not threaded (shares the CPU with the generator)'}. Both programs pass their packet up the
stack, which drops it at a blackhole route (pod destinations after decap, node destinations for the
no-op) — the cheapest place a passed packet can go, the same for both, so the difference is the
decap. The generator offers far more than dut0 takes (ring drops), so dut0 is the bottleneck.
"per CPU-second" divides the packets dut0 processed by the CPU time its NAPI thread got
(\`/proc/<pid>/schedstat\`): the device's capacity, whatever else ran on that CPU. "wall" divides by
the generator's sending time and shows what the shared machine let it do.

${table(['variant', 'Mpps per CPU-second', 'Mpps wall', 'offered Mpps', 'ring drops', 'of no-op (per CPU-s)', 'of no-op (wall)', 'not decapsulated'], rows)}

**Goal** ${ok(worst >= GOAL_RATE)}: the worst decap is ${pct(worst, 1)} of the no-op.

**What limits it.** Both variants spend most of each packet after the program: building the skb
for \`XDP_PASS\`, GRO, IPv4 receive and the route lookup that ends in the blackhole; the decap adds
one hash lookup and a head adjustment, and shortens the packet the stack then handles. On a NIC
with native XDP the same holds; on veth, every frame also crosses a ptr_ring between the CPUs.
Dividing by the NAPI thread's CPU time removes time-sharing with other jobs, not their effect on
caches: on a busy machine the ratio drops and spreads (one run under load gave 83–84%), which the
range over rounds shows.
`;
}

// ---------------------------------------------------------------------------------------------- §4

const MODE_TITLE: Record<string, string> = {
  gso: 'GSO veth links (veth as it comes: whole 64 KB GSO segments cross the underlay)',
  wire: 'wire-like links (node uplinks: segmentation offloads off, GRO on; MTU-sized frames, as on a NIC)',
};

/** `x` with `digits` decimals, or '–' when there is no figure (a scenario left out of the run). */
const num = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

/** A scenario's result in one link mode (results from before issue 16 have no mode: GSO). */
const scenarioIn = (d: LabThroughputResult, mode: string, name: string) => d.scenarios.find((s) => s.scenario === name && (s.links ?? 'gso') === mode);

/** Which decap hook measured faster for an encapsulation in a link mode (TCP, one stream), with both rates. */
function fasterHook(d: LabThroughputResult, mode: string, encap: 'ipip' | 'vxlan'): { hook: 'tc' | 'xdp'; tc: number; xdp: number } | undefined {
  const tc = med(scenarioIn(d, mode, `burrow-${encap}-tc`)?.rate.tcp1);
  const xdp = med(scenarioIn(d, mode, `burrow-${encap}-xdp`)?.rate.tcp1);
  if (!Number.isFinite(tc) || !Number.isFinite(xdp)) return undefined;
  return { hook: tc >= xdp ? 'tc' : 'xdp', tc, xdp };
}

/** The nft guard's share of the small-UDP gap: \`routed+nft-guard\` ÷ \`routed\` per link mode, per round. */
function guardLine(d: LabThroughputResult, modes: readonly string[]): string {
  const parts = modes.flatMap((m) => {
    const g = scenarioIn(d, m, 'routed+nft-guard')?.vsLimit.udp64;
    const b = med(scenarioIn(d, m, 'burrow-ipip-tc')?.vsLimit.udp64);
    return g ? [`${m === 'wire' ? 'wire-like' : 'GSO veth'} ${fmt(g, 2)}× (burrow IPIP ${num(b, 2)}×)`] : [];
  });
  if (parts.length === 0) return '';
  return `
  Burrow's nft guard (a filter chain on the forward hook, docs/datapath.md, "Tunnel traffic only
  from nodes") runs for every forwarded packet on both nodes, which plain routing does not pay.
  Routing with only that table added (\`routed+nft-guard\`) moved this share of \`routed\`'s
  64-byte datagrams (median and range of the per-round ratios): ${parts.join('; ')}. Where the range
  reaches 1 the guard's cost is within this machine's noise. (A Calico node pays the same kind of
  price in felix's iptables chains, which the \`kernel-vxlan\` scenario leaves out.)`;
}

function labModeTables(d: LabThroughputResult, mode: string): string {
  const list = d.scenarios.filter((s) => (s.links ?? 'gso') === mode);
  const tests = Object.keys(list[0]?.rate ?? {});
  const unit = (t: string) => (t === 'udp64' ? 'Mpps' : 'Gbit/s');
  const scale = (t: string, s: Summary | undefined): Summary | undefined =>
    s && t === 'udp64' ? { ...s, median: s.median / 1e6, min: s.min / 1e6, max: s.max / 1e6 } : s;
  const label: Record<string, string> = { tcp1: 'TCP 1 stream', tcp4: 'TCP 4 streams', udp64: 'UDP 64 B payload' };
  const rows = list.map((s: ScenarioResult) => [
    `\`${s.scenario}\``,
    ...tests.flatMap((t) => [
      `${fmt(scale(t, s.rate[t]), t === 'udp64' ? 3 : 2)}`,
      s.scenario === 'routed' ? '1' : num(med(s.vsLimit[t]), 2),
      s.scenario === 'kernel-vxlan' ? '1' : num(med(s.vsKernel[t]), 2),
      num(med(s.cpuPerUnit[t]), t === 'udp64' ? 2 : 3),
    ]),
  ]);
  const head = ['scenario', ...tests.flatMap((t) => [`${label[t]} ${unit(t)}`, '÷ routed', '÷ kernel VXLAN', `cores per ${unit(t)}`])];
  const tcp = tests.filter((t) => t !== 'udp64');
  const groRows = list.filter((s) => s.gro).map((s) => [
    `\`${s.scenario}\``,
    ...tcp.flatMap((t) => {
      const g = s.gro![t];
      return g ? [fmt(g.segmentsPerPacket, 1), fmt(g.framesPerPacket, 1), num(med(g.mergedPerSecond) / 1e3, 0)] : ['n/a', 'n/a', 'n/a'];
    }),
  ]);
  const groHead = ['scenario', ...tcp.flatMap((t) => [`${label[t]}: segments per packet at pod-b`, 'uplink frames per packet', 'merged, thousands/s'])];
  // Identical settings are listed once, with the scenarios that had them.
  const byOffloads = new Map<string, string[]>();
  for (const s of list) {
    if (!s.offloads) continue;
    const k = Object.entries(s.offloads).map(([n, f]) => `${n}: ${f}`).join('; ');
    byOffloads.set(k, [...(byOffloads.get(k) ?? []), s.scenario]);
  }
  const retrans = list.map((s) => `${s.scenario} ${s.retransmits.tcp1 ?? '–'}`).join(', ');
  const auto = d.auto?.[mode as LinkMode];
  // The hook that measured faster per encapsulation, beside auto's choice.
  const faster = (['ipip', 'vxlan'] as const).flatMap((m) => {
    const f = fasterHook(d, mode, m);
    if (!f) return [];
    return [`${m === 'ipip' ? 'IPIP' : 'VXLAN'}: ${f.hook.toUpperCase()} (TC ${f.tc.toFixed(2)}, XDP ${f.xdp.toFixed(2)} Gbit/s)${auto ? (auto[m].hook === f.hook ? ', as auto chose' : ', **not** what auto chose') : ''}`];
  });
  const autoLine = auto
    ? `\n\`--decap-hook auto\` on node-b's uplink in this mode (bench/decap-choice-child.ts, in the node's namespace as agentd asks): IPIP pools **${auto.ipip.hook.toUpperCase()}** (${auto.ipip.reason}), a VXLAN pool **${auto.vxlan.hook.toUpperCase()}** (${auto.vxlan.reason})${auto.groHop ? `; \`--vxlan-gro auto\` **${auto.groHop.on ? 'on' : 'off'}** (${auto.groHop.reason})` : ''}${auto.offloads ? ` (GRO ${auto.offloads.gro ? 'on' : 'off'}, TSO ${auto.offloads.tso ? 'on' : 'off'}, GSO ${auto.offloads.gso ? 'on' : 'off'})` : ''}. Faster hook measured, TCP 1 stream: ${faster.join('; ')}.\n`
    : '';
  const delivered = list.map((s) => `${s.scenario} ${s.delivered !== undefined ? pct(s.delivered) : '–'}`).join(', ');
  return `### ${MODE_TITLE[mode] ?? mode}

${table(head, rows)}

TCP 1-stream retransmits (median): ${retrans}. Small UDP delivered/sent: ${delivered}.
${autoLine}${groRows.length ? `
What pod-b's IP layer received (GRO; see above for the counters):

${table(groHead, groRows)}
` : ''}${byOffloads.size ? `
Offloads in force after each scenario's setup (\`ethtool -k\`, read back), node uplinks and their
ports on the segment's bridge:

${[...byOffloads].map(([k, names]) => `- ${names.map((n) => `\`${n}\``).join(', ')}: ${k}`).join('\n')}
` : ''}`;
}

/**
 * Issue 16's goals, each on the hook \`--decap-hook auto\` chooses in that link mode for that
 * encapsulation (what a user gets), as paired ratios of one run (medians over the rounds).
 */
function labGoals(d: LabThroughputResult): string {
  const rows: string[][] = [];
  const ratio = (mode: string, name: string, t: string, against: 'vsLimit' | 'vsKernel') => med(scenarioIn(d, mode, name)?.[against][t]);
  const verdict = (v: number, target: number) => (!Number.isFinite(v) ? 'not measured' : v >= target ? 'met' : '**missed**');
  const add = (goal: string, v: number, target: number) => rows.push([goal, num(v, 2), `≥ ${target}`, verdict(v, target)]);
  for (const mode of d.modes ?? ['gso']) {
    const auto = d.auto?.[mode as LinkMode];
    if (!auto) continue;
    const title = mode === 'wire' ? 'wire-like' : 'GSO veth';
    const ih = auto.ipip.hook;
    const vh = auto.vxlan.hook;
    const ipip = `burrow-ipip-${ih}`;
    const vxlan = `burrow-vxlan-${vh}`;
    for (const t of ['tcp1', 'tcp4']) {
      const streams = t === 'tcp1' ? '1 stream' : '4 streams';
      if (mode === 'wire') {
        add(`${title}, TCP ${streams}: IPIP (${ih}) ÷ routed`, ratio(mode, ipip, t, 'vsLimit'), 0.95);
        add(`${title}, TCP ${streams}: VXLAN (${vh}) ÷ kernel VXLAN`, ratio(mode, vxlan, t, 'vsKernel'), 1.15);
        add(`${title}, TCP ${streams}: VXLAN (${vh}) ÷ routed`, ratio(mode, vxlan, t, 'vsLimit'), 0.93);
      } else {
        add(`${title}, TCP ${streams}: IPIP (${ih}) ÷ routed`, ratio(mode, ipip, t, 'vsLimit'), 0.93);
        add(`${title}, TCP ${streams}: VXLAN (${vh}) ÷ kernel VXLAN`, ratio(mode, vxlan, t, 'vsKernel'), 1.1);
      }
    }
    for (const [m, name, h] of [['IPIP', ipip, ih], ['VXLAN', vxlan, vh]] as const) add(`${title}, UDP 64 B: ${m} (${h}) ÷ routed`, ratio(mode, name, 'udp64', 'vsLimit'), 0.9);
    const picks = [fasterHook(d, mode, 'ipip')?.hook, fasterHook(d, mode, 'vxlan')?.hook];
    const pickedRight = picks[0] === undefined || picks[1] === undefined ? 'not measured' : picks[0] === ih && picks[1] === vh ? 'met' : '**missed**';
    rows.push([`${title}: auto picks the faster hook (TCP 1 stream; IPIP, VXLAN)`, `${ih}, ${vh} (faster: ${picks.map((p) => p ?? '–').join(', ')})`, 'the faster', pickedRight]);
  }
  if (rows.length === 0) return '';
  return `**Issue 16's goals** (each on the hook \`--decap-hook auto\` chose in that mode; paired ratios, medians):

${table(['goal', 'measured', 'target', ''], rows)}

`;
}

function labThroughput(rec: SectionRecord): string {
  const d = rec.data as LabThroughputResult;
  const modes = d.modes ?? ['gso'];
  const get = (name: string, t: string) => med(scenarioIn(d, 'gso', name)?.rate[t]);
  const names = [...new Set(d.scenarios.map((s) => s.scenario))];
  const describe = names.map((n) => `- \`${n}\`: ${d.scenarios.find((s) => s.scenario === n)!.description}`).join('\n');
  const pending = modes.includes('wire')
    ? ''
    : `
**Wire-like links (issue 16): figures pending a quiet machine.** \`npm run bench -- --only lab\`
measures every scenario in both link modes side by side (\`--links gso wire\`, the default); the
figures below are from before that, GSO veth links only. \`--quick --only lab --seconds 1\` is a
smoke run of the harness (its figures mean nothing; it writes build/bench/quick.json only).
`;
  return `## 4. Lab throughput, pod → pod

${sectionHeader(rec)}

One node pair of the namespace lab (src/lab: node-a and node-b on one bridged segment, a pod on
each), one lab per scenario and link mode, all up at once, and every scenario measured back to
back in each of the rounds (${d.seconds} s per test). Scenarios:

${describe}

Link modes (src/lab/offloads.ts, issue 16): **GSO veth** leaves the veths as they come, so whole
64 KB GSO segments cross the underlay, nothing is segmented and no GRO runs, which no NIC offers;
**wire-like** switches every segmentation offload of the node uplinks off (the kernel segments in
software before a frame leaves the node) and GRO on (the receiving node aggregates), so the
underlay carries only MTU-sized frames (test/e2e/wire.test.ts counts them). Pods and the tunnel
device keep their defaults in both.
${d.pinned ? `
Senders (iperf3 -c, udp_blast) run on CPU ${d.pinned.sender}, receivers (iperf3 -s) on CPU ${d.pinned.receiver}: this machine's two
vCPUs do not run at one speed (the same CPU-bound loop took 0.56–0.60 s on one and 0.90–0.92 s on the
other when measured), and unpinned, a test's rate depended on which one the sender got.
` : ''}${pending}
TCP: iperf3, Gbit/s received. Small UDP: 64-byte payloads from one core, 64 datagrams per
\`sendmmsg()\` (bench/tools/udp_blast.c), counted and dropped by an nftables rule at pod-b's
prerouting hook; packets/s that arrived. (\`iperf3 -u -l 64 -b 0\` writes one datagram per system
call and measured ~60 kpps in every scenario alike: this VM's system-call cost, not the path.)
CPU: the senders and receivers run in a cpuacct cgroup of the benchmark's; its usage includes the
softirq work done in their context (this kernel has no IRQ time accounting), plus the ksoftirqd
threads' time; divided by the rate ("cores per Gbit/s": 0.1 = a tenth of a core for each Gbit/s).
GRO: pod-b's namespace counters over each test: segments (\`IpExt\` \`InNoECTPkts\` + \`InECT0Pkts\` +
\`InECT1Pkts\` + \`InCEPkts\`, to which \`ip_rcv\` adds each packet's \`gso_segs\`) per packet
(\`Ip\` \`InReceives\`, one per skb), node-b's uplink \`rx_packets\` (frames as they arrived) per
packet, and segments − packets per second (merged before pod-b). On wire-like links only node-b's
GRO merges; on GSO links the sender's GSO segments arrive whole, so there the figure shows GSO
passing through, not GRO.

${modes.map((m) => labModeTables(d, m)).join('\n')}
${labGoals(d)}**What limits these figures.**
- Everything runs on 2 shared CPUs: sender, receiver, both nodes' stacks and the bridge. The limit
  (\`routed\`) is the cost of the veth/bridge path itself${Number.isFinite(get('routed', 'tcp1')) ? ` (${get('routed', 'tcp1').toFixed(1)} Gbit/s, one stream, GSO veth)` : ''}.
- With TC decap, burrow keeps GSO/GRO end to end (TC encap on the tunnel device's egress,
  \`bpf_redirect\` to the uplink with the next hop's MACs from the \`nexthops\` map agentd keeps,
  TC decap with \`FIXED_GSO\`), so large TCP segments cross the path whole; what it adds per
  segment is the tunnel device hop and the two programs.
- XDP on a veth strips GSO from its peer (the kernel does this for any XDP program, \`xdp_noop\`
  included: compare \`routed+xdp-noop\`): every TCP segment then crosses the path MTU-sized, and on
  6.18 the veth's own GRO stays off, so pod-b gets one packet per segment (docs/datapath.md, "Which
  hook keeps GRO"); the XDP decap figures on GSO veth links are bounded by that, not by the
  program. On a NIC with native XDP this does not apply; \`--decap-hook auto\` picks TC on veth for
  this reason.
- On wire-like links every hook sees MTU-sized frames; what the receiver's GRO merges (the GRO
  table) decides how many packets the rest of its stack handles. The uplink's UDP GRO merges VXLAN
  only for a socket with a GRO hook (the kernel's VXLAN device has one, burrow has none), so
  \`burrow-vxlan-tc-nogro\` reaches pod-b one packet per segment. With \`--vxlan-gro\` (auto: on
  for links that segment) \`tc_decap\` sends the decapsulated frame through the tunnel device's
  peer, and the tunnel device's NAPI GRO merges it again (docs/datapath.md, tc_decap step 16):
  \`burrow-vxlan-tc\` gets the kernel's segments per packet back. What still separates it from the
  kernel's device is per-segment work before that GRO (the uplink's receive, \`tc_decap\`, the veth
  transmit, once per segment), where the kernel's device merges at the uplink already: \`perf record
  -a -g\` over 8 s of one stream each (wire-like, 2026-11-30) puts \`tc_decap\`'s body at 1.5 % of the
  busy CPU, its two LPM lookups per segment (inner source and destination, step 12) 1.5 %, the peers
  hash 0.7 %, the extra transmit and receive (\`__dev_queue_xmit\`, \`__netif_receive_skb_core\`,
  \`veth_xmit\`) 2.5 % and \`bpf_skb_adjust_room\`'s move of the MAC header 0.6 % more than the kernel
  device's run, which spends ~2.3 % on its UDP tunnel GRO instead (\`udp4_gro_receive\`,
  \`eth_gro_receive\`, \`csum_partial\`). XDP decap runs
  before GRO and merges too, but on a veth the frame is copied into a page for XDP (a
  software-segmented frame is not one linear page); a NIC's native XDP has the frame in a page
  already, which this lab cannot show. IPIP is merged by GRO before TC decap, so TC is the faster
  hook for it here (no copy). On the encapsulation side the per-packet route and
  neighbour lookups of \`bpf_redirect_neigh\` are gone (agentd's next hops; §2 measures
  \`tc_encap\` on real skbs with and without one); the tunnel device hop
  (the veth pair \`burrow0\`: one more device transmit per packet) remains, but it is not what
  separates burrow from \`routed\`: \`tc_encap\` at the uplink's egress, which skips it, measured no
  faster, and at a pod veth's ingress, which skips the sending node's whole forward path, faster
  than \`routed\` (docs/datapath.md, "Where the encapsulation runs (measured)", for why agentd
  does neither).
- Small UDP is per-packet cost on one sending core (softirq of every hop runs in the sender's
  context); the ratios there are the per-packet price of the encapsulation path, which the next
  part ("Where a small packet's time goes") splits by kernel function.${guardLine(d, modes)}
`;
}

// ---------------------------------------------------------------------------------------------- §5

function controlPlane(rec: SectionRecord): string {
  const d = rec.data as ControlPlaneResult;
  const ms = (s: SizeResult, p: string) => fmt(s.ms[p], 0);
  const rows = d.sizes.map((s) => [
    `${s.routes.toLocaleString('en')} (${s.nodes - 1} × ${s.blocksPerNode})`,
    ms(s, 'load'),
    ms(s, 'compile'),
    `${ms(s, 'encode')} / ${ms(s, 'check')} / ${ms(s, 'plan')} / ${ms(s, 'apply')}`,
    fmt(s.compileApplyMs, 0),
    fmt(s.totalMs, 0),
    fmt(s.rawApplyMs, 0),
    fmtRatio(s.compileApplyVsRaw, 1),
    fmt(s.rssAfterLoadMiB, 0),
    fmt(s.rssAfterApplyMiB, 0),
    fmt(s.peakRssMiB, 0),
  ]);
  const inc = d.sizes.map((s) => [
    s.routes.toLocaleString('en'),
    ms(s, 'resync'),
    ms(s, 'incremental.add'),
    ms(s, 'incremental.remove'),
    s.agentd ? s.agentd.readyMs.toFixed(0) : '–',
    s.agentd ? `${s.agentd.addMs.toFixed(0)} / ${s.agentd.removeMs.toFixed(0)}` : '–',
    s.agentd ? s.agentd.peakRssMiB.toFixed(0) : '–',
    s.syscalls ? `${s.syscalls.applyBpf} (${s.syscalls.bpfPerRoute.toPrecision(2)} per route)` : '–',
  ]);
  const big = d.sizes.find((s) => s.routes >= 99_000);
  const goals = big
    ? `- 100k routes compile + apply ≤ ${GOAL_100K_MS} ms: ${ok(med(big.compileApplyMs) <= GOAL_100K_MS)} (${med(big.compileApplyMs).toFixed(0)} ms; with loading the manifests ${med(big.totalMs).toFixed(0)} ms).
- ≤ ${GOAL_VS_RAW}× the raw baseline: ${ok(med(big.compileApplyVsRaw) <= GOAL_VS_RAW)} (${med(big.compileApplyVsRaw).toFixed(1)}× for compile + apply; the reconciler's own part, encode … apply, ${med(big.applyVsRaw).toFixed(1)}×).
- Incremental ≤ ${GOAL_INCREMENTAL_MS} ms: ${d.sizes.map((s) => `${s.routes.toLocaleString('en')}: ${ok(med(s.ms['incremental.add']) <= GOAL_INCREMENTAL_MS)} (${med(s.ms['incremental.add']).toFixed(0)} ms)`).join('; ')}.
- RSS ≤ ${GOAL_RSS_MIB} MB at 100k: ${ok(med(big.peakRssMiB) <= GOAL_RSS_MIB / 1.048576)} (${med(big.rssAfterApplyMiB).toFixed(0)} MiB after the first apply, ${med(big.peakRssMiB).toFixed(0)} MiB peak over the run).`
    : '_(no 100k run in these results)_';
  return `## 5. Control plane

${sectionHeader(rec)}

Manifests: N BlockAffinities (/26 from one IPIP pool 10.0.0.0/8) over nodes in 172.16.0.0/12,
as one NodeList and one BlockAffinityList in JSON (as \`kubectl get -o json\` dumps them); the
local node is node-0, every other node's block is one tunnel route. Each measurement runs in its
own process (\`unshare --mount\`: its bpffs and pins vanish with it) into empty maps of a private pin
root:

- load: read, parse and validate the manifests (src/config); compile: Model → DesiredState;
  then the reconciler's steps as \`reconcile()\` takes them: encode the desired map entries, read
  the maps, check every entry encodes and fits, plan, apply (make-before-break batches).
- raw: the same entries encoded beforehand, written with \`BpfMap.setBatch\` (byte codecs).
- resync: \`reconcile()\` again with nothing to change (what agentd's periodic resync costs).
- incremental: one node with its blocks written into (then removed from) the manifest directory,
  then load + compile + \`reconcile()\`: file write → maps updated, through the reconciler.
- agentd: the daemon in a throwaway namespace (veth uplink, TC decap, \`--debounce 0\`), manifest
  write → the first new route visible in its pinned map; its cycles also reconcile kernel routes
  (\`ip -batch\`, listed back with \`ip -j route\`) and nft.
- syscalls: \`strace -f -c\` of the run up to the apply, minus the same run stopping before it. The
  apply's \`bpf()\` calls are exact; the other system calls differ between the two runs by a few
  hundred either way (garbage collection threads, memory mapping), more than the apply makes.
- RSS: VmHWM of the process after loading the manifests and after the first apply, and \`maxRSS\`
  at its end (after the resync and the incremental cycles).

${table(['routes (nodes × blocks)', 'load ms', 'compile ms', 'encode / check / plan / apply ms', 'compile + apply ms', 'total ms', 'raw ms', 'compile + apply ÷ raw', 'RSS after load MiB', 'RSS after apply MiB', 'peak RSS MiB'], rows)}

${table(['routes', 'resync ms', '+1 node ms', '−1 node ms', 'agentd start → ready ms', 'agentd +1 / −1 node ms', 'agentd peak RSS MiB', 'bpf() calls of the apply'], inc)}

**Goals.**
${goals}

**What limits it.**
- The raw baseline is the kernel inserting N LPM-trie nodes (\`NO_PREALLOC\`: one allocation each)
  in one \`BPF_MAP_UPDATE_BATCH\` call; the apply makes the same single call (3 \`bpf()\` calls in
  all: peers, config, routes), so syscalls are not the cost. The cost is JavaScript: every entry
  exists as several objects on its way (resource → Model block → TunnelRoute → map entry → plan
  change) and is encoded twice (the check, then the batch), each through generic field codecs
  (regexes for addresses and MACs).
- Loading is parsing and validating every resource (zod, CIDR parsing with BigInt, block
  ownership checks) — as much as everything else together at 100k.
- Every change (agentd's cycle, \`agentctl apply\`) recomputes everything: re-read and re-validate
  all manifests, compile all routes, read the whole routes map back and diff. The incremental
  figure therefore grows with N, like a resync; a 50 ms change at 10k+ routes needs incremental
  state (parse only changed files, keep the last applied entries in memory, diff those) instead.
- RSS: the Node process starts at ~60 MiB; at 100k, loading the manifests alone brings it to
  ${big ? med(big.rssAfterLoadMiB).toFixed(0) : '–'} MiB (the JSON text, the parsed documents, the validated resources and the Model are
  alive together), and every later cycle builds its generations anew before the old ones are
  collected (V8 grows its heap rather than collect eagerly), hence the peak after the resync and
  the incremental cycles. Staying under ${GOAL_RSS_MIB} MB at 100k needs streaming the manifests and compact
  (typed-array) entries instead of one object per resource and per entry at each stage.
`;
}

// ---------------------------------------------------------------------------------------------- page

export function renderReport(r: Results): string {
  const m = r.machine;
  const s = r.sections;
  const parts = [
    `# Benchmarks

Generated by \`npm run bench\` (bench/run.ts) from bench/results/latest.json; do not edit by hand.
\`npm run bench -- --quick\` is a one-minute smoke check (writes build/bench/quick.json only);
\`--only program-cost|decap-rate|lab|control-plane\` runs single sections (the others keep their last
results, each with its own date); \`--rounds N\` overrides the rounds.

**Machine**: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, kernel ${m.kernel}, Node ${m.node}, ${m.iperf3}.
A shared VM: other jobs ran during these measurements (each section says how busy the whole machine
was). Every comparison is measured side by side within each round, over several rounds; tables show
the median and, in parentheses, the range over rounds; ratios are taken within each round.
`,
  ];
  if (s['program-cost']) parts.push(programCost(s['program-cost']));
  if (s['decap-rate']) parts.push(decapRate(s['decap-rate']));
  if (s.lab) parts.push(labThroughput(s.lab));
  if (s['lab-profile']) parts.push(labProfile(s['lab-profile']));
  if (s['control-plane']) parts.push(controlPlane(s['control-plane']));
  if (s.engine) parts.push(engineSection(s.engine));
  if (s.etcd) parts.push(`\n## 7. The etcd datastore (issue 10)\n\n${sectionHeader(s.etcd)}\n\n${etcdTable(s.etcd.data as EtcdBenchResult)}\n`);
  return parts.join('\n') + '\n';
}

// ------------------------------------------------------------------------------------- §4 profile

/** The range of the per-round speed scaling, e.g. "0.71–1.22". */
function fmtScale(d: LabProfileResult): string {
  const raw = d.scenarios.find((x) => x.scenario === 'routed')?.rawBusyNs;
  if (!raw || raw.n < 2) return 'one round: none';
  return `factors ${(raw.median / raw.max).toFixed(2)}–${(raw.median / raw.min).toFixed(2)}`;
}

function labProfile(rec: SectionRecord): string {
  const d = rec.data as LabProfileResult;
  const base = d.scenarios.find((x) => x.scenario === 'routed');
  const order = [...(base ? [base] : []), ...d.scenarios.filter((x) => x !== base)];
  const ns = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
  const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(0)}` : 'n/a');
  const cell = (v: Summary | undefined, dv: Summary | undefined) => (dv ? `${ns(med(v))} (${signed(med(dv))})` : ns(med(v)));
  const signedRange = (x: Summary) => (x.n > 1 ? `${signed(x.median)} (${signed(x.min)} to ${signed(x.max)} over the rounds)` : signed(x.median));
  const rows = [
    ['packets/s at pod-b under perf', ...order.map((sc) => `${(med(sc.rate) / 1e6).toFixed(3)} M`)],
    ['**CPU per packet, all of it**', ...order.map((sc) => `**${cell(sc.busyNs, sc.vsRouted?.busyNs)}**`)],
    ...GROUP_NAMES.map((g) => [g, ...order.map((sc) => cell(sc.groups[g], sc.vsRouted?.groups[g]))]),
  ];
  const short = (g: string) => g.replace(/ \(.*$/, '').replace(/:.*$/, '');
  const added = (sc: ProfileScenario) => {
    const fns = Object.entries(sc.vsRouted?.functions ?? {})
      .filter(([, x]) => x >= 3)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 14);
    return `- \`${sc.scenario}\`: ${fns.map(([fn, x]) => `\`${fn}\` +${x.toFixed(0)} (${short(groupOf(fn))})`).join(', ')}`;
  };
  const dg = (sc: ProfileScenario | undefined, ...names: string[]) => names.reduce((sum, n) => sum + med(sc?.vsRouted?.groups[n]), 0);
  const burrows = order.filter((x) => x.scenario.startsWith('burrow-'));
  const guard = order.find((x) => x.scenario === 'routed+nft-guard');
  const share = (sc: ProfileScenario) => med(sc.vsRouted?.busyNs) / (med(sc.busyNs) - med(sc.vsRouted?.busyNs));
  const summary = burrows.filter((sc) => sc.vsRouted).map((sc) =>
    `- \`${sc.scenario}\` spends ${ns(med(sc.vsRouted!.busyNs))} ns more CPU per packet than routed (+${(share(sc) * 100).toFixed(0)} %; ${signedRange(sc.vsRouted!.busyNs)}): ` +
    `${ns(dg(sc, GROUP.programs, GROUP.maps, GROUP.helpers))} in the BPF programs, their map lookups and helpers; ` +
    `${ns(dg(sc, GROUP.headroom))} reallocating the packet for the outer header; ` +
    `${ns(dg(sc, GROUP.netfilter))} in netfilter; ` +
    `${ns(dg(sc, GROUP.devices))} in device transmit and receive; ${ns(dg(sc, GROUP.gro))} in GRO.`,
  ).join('\n');
  const guardAlone = guard?.vsRouted
    ? `\nThe nft guard alone (\`routed+nft-guard\` − routed): ${signedRange(guard.vsRouted.busyNs)} ns per packet in all, ` +
      `${signed(dg(guard, GROUP.netfilter))} ns in netfilter.\n`
    : '';
  return `
### Where a small packet's time goes (perf, ${d.mode === 'wire' ? 'wire-like' : 'GSO veth'} links)

${sectionHeader(rec)}

The small-UDP test of the table above (64-byte datagrams, pod-a → pod-b), ${d.mode} links, one lab per
scenario, all up at once, each scenario in turn under \`perf record -a -F ${d.frequency}\` for ${d.seconds} s
in each of ${d.rounds} rounds (bench/lab-profile.ts). One sample is ${(1e6 / d.frequency).toFixed(0)} µs of one CPU, so a
function's cost per packet is its samples × ${(1e6 / d.frequency).toFixed(0)} µs ÷ the packets pod-b counted in that window.
The whole path of a packet — both nodes, both pods, the lab's bridge — runs in the sender's system
call and the softirqs it raises, on one CPU, so CPU per packet is what the rate pays; only samples
in those contexts count (agentd, perf and the bench are left out), idle ones not. Functions are grouped by name
(GROUPS in bench/lab-profile.ts). The sender runs on one pinned CPU, whose speed drifts on this
shared machine from round to round and moves every function alike: each round's figures are
scaled by routed's median CPU per packet over that round's (${fmtScale(d)}), then the medians over
rounds are taken; in parentheses the difference from \`routed\`, paired within each round. With
this virtual machine's timer-based sampling, time spent with interrupts off lands on
\`pvm_irq_enable\` (kernel plumbing).

${table(['ns per packet', ...order.map((sc) => `\`${sc.scenario}\``)], rows)}

${summary}
${guardAlone}
The functions that add the most per packet against \`routed\` (ns, paired medians, ≥ 3 ns):

${burrows.map(added).join('\n')}
`;
}

// ---------------------------------------------------------------------------------------------- §6

function engineSection(rec: SectionRecord): string {
  const d = rec.data as EngineBenchResult;
  const ev = (s: EngineSizeResult, name: string) => fmt(s.events[name], 1);
  const rows = d.sizes.map((s) => [
    `${s.routes.toLocaleString('en')} (${s.nodes - 1} × ${s.blocksPerNode})`,
    `${s.format} ${s.fileMiB.toFixed(1)} MiB`,
    `${fmt(s.coldMs, 0)} (${fmt(s.coldSourceMs, 0)}${s.coldDeriveMs ? `, derive ${fmt(s.coldDeriveMs, 0)}` : ''} / ${fmt(s.coldAdoptMs, 0)} / ${fmt(s.coldFlushMs, 0)})`,
    `${fmt(s.rawWriteMs, 0)} (${(s.coldFlushMs.median / s.rawWriteMs.median).toFixed(1)}×)`,
    ev(s, 'node added'),
    ev(s, 'node removed'),
    ev(s, 'block added'),
    ev(s, 'block removed'),
    `${ev(s, 'pool mode flipped')} (${(s.eventChanges['pool mode flipped'] ?? 0).toLocaleString('en')} routes)`,
    fmt(s.resyncMs, 0),
    fmt(s.rssAfterColdMiB, 0),
    fmt(s.peakRssMiB, 0),
    s.validate ? `${s.validate.seconds.toFixed(1)} s, ${s.validate.maxRssMiB.toFixed(0)} MiB${s.validate.ok ? '' : ' (failed)'}` : '',
  ]);
  const agentds = d.agentds ?? (d.agentd ? [d.agentd] : []);
  const agentdRows = agentds.map((a) => [
    a.routes.toLocaleString('en'), a.readyMs.toFixed(0), a.rssReadyMiB.toFixed(0), a.rssIdleMiB.toFixed(0), a.peakRssMiB.toFixed(0), a.cpuMsPerMinute.toFixed(0),
  ]);
  const big = d.sizes.filter((s) => s.routes >= 100_000);
  const json = big.find((s) => s.format === 'json');
  const yaml = big.find((s) => s.format === 'yaml');
  const a100 = agentds.find((a) => a.routes >= 100_000);
  const a10 = agentds.find((a) => a.routes === 10_000);
  const med = (s: Summary | undefined) => s?.median ?? NaN;
  const worst = (...xs: number[]) => Math.max(...xs.filter((x) => Number.isFinite(x)));
  const goal = (what: string, before: string, now: number, unit: string, limit: number, digits = 0) =>
    [what, before, `${Number.isFinite(now) ? now.toFixed(digits) : '-'} ${unit}`, `≤ ${limit} ${unit}`, Number.isFinite(now) ? (now <= limit ? 'met' : '**missed**') : '-'];
  const events = json ? ['node added', 'node removed', 'block added', 'block removed'].map((e) => med(json.events[e])) : [];
  const goals = [
    goal('one node or block event → maps (median, worst of the four kinds)', '2,696 ms (+1 node, §5)', worst(...events), 'ms', 20, 1),
    goal('pool mode flipped (100k routes change)', '—', worst(med(json?.events['pool mode flipped']), med(yaml?.events['pool mode flipped'])), 'ms', 500),
    goal('cold start, JSON lists', '1,957 ms load+compile+apply (§5)', med(json?.coldMs), 'ms', 1500),
    goal('cold start, multi-document YAML', '16.5 s (`agentctl apply --no-kernel`)', med(yaml?.coldMs), 'ms', 4000),
    goal('`agentctl validate` of the 16 MB YAML', '13.7 s / 709 MB', yaml?.validate?.seconds ?? NaN, 's', 4, 1),
    goal('resync with nothing to change (maps)', '2,286 ms (§5)', worst(med(json?.resyncMs), med(yaml?.resyncMs)), 'ms', 300),
    goal('agentd CPU per idle minute', '~4 s at 10k routes (2 s per 30 s resync)', a100?.cpuMsPerMinute ?? NaN, 'ms', 1000),
    goal('agentd steady RSS (after a minute idle)', '769 MiB peak (§5)', a100?.rssIdleMiB ?? NaN, 'MiB', 150),
    goal('agentd peak RSS', '769 MiB', a100?.peakRssMiB ?? NaN, 'MiB', 300),
    goal('agentd at 10k routes, peak (DaemonSet limit 256Mi)', '367 MB', a10?.peakRssMiB ?? NaN, 'MiB', 256),
    goal('derive + flush ÷ raw batch write (cold, 100k)', '9.3× compile+apply ÷ raw (§5)', json && json.coldDeriveMs ? (json.coldDeriveMs.median + json.coldFlushMs.median) / json.rawWriteMs.median : NaN, '×', 2, 1),
  ];
  return `
## 6. Incremental control plane (src/engine)

${sectionHeader(rec)}

The engine of issue 9 (docs/control-plane.md): sources hand in events, the store validates
through indexes, the derived state recomputes only what a change can affect, and a flush writes
only what changed. Each size runs in its own process (\`bench/engine-child.ts\`, private mount
namespace, maps only, no kernel routes): **cold** = the file source reads the directory, the engine
validates and derives, adopts the empty maps and flushes (file read → maps written); **events** =
one event → maps updated (engine.apply + flush, median of the rounds; node added/removed: a file
with a Node and its blocks; block: a one-block file; pool flip: the pool's own file rewritten
IPIP → VXLAN, every route changes); **resync** = the routes, peers and config maps read back and
compared with what was written, nothing to write; **raw write** = the same entries pre-encoded and
written in one BPF_MAP_UPDATE_BATCH into the emptied map (the flush's floor); RSS after the cold
start and peak (the peak includes the events and resyncs); **validate** =
\`agentctl validate -f\` of the multi-document YAML under GNU time (one-shot path).

${table(['routes (nodes × blocks)', 'input', 'cold ms (read+validate+derive / adopt / flush)', 'raw write ms (flush ÷ raw)', 'node added ms', 'node removed ms', 'block added ms', 'block removed ms', 'pool flip ms', 'resync ms', 'RSS after cold MiB', 'peak RSS MiB', 'agentctl validate'], rows)}

**agentd** (JSON lists, kernel routes and nft too, veth uplink in a throwaway namespace, default
30 s resync and 90 s route refresh): start → ready, RSS when ready, after a minute idle, peak, and
CPU over the idle minute (utime + stime from /proc).

${table(['routes', 'start → ready ms', 'RSS ready MiB', 'RSS idle MiB', 'peak RSS MiB', 'CPU ms per idle minute'], agentdRows)}

**Issue 9's goals** (100k routes unless said; "before" from §5 above, measured 2026-11-23 on the
one-shot path, and from the issue's own measurements):

${table(['goal', 'before', 'now', 'target', ''], goals)}
`;
}
