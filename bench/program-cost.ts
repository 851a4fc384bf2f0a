/**
 * §2 Per-program cost: nanoseconds per packet of each datapath program beside the no-op program
 * on the same hook, with a fresh packet on every run.
 *
 * XDP (xdp_decap, xdp_encap): BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on a veth in a
 * throwaway namespace (xdp_md.ingress_ifindex = the veth), R repetitions per call. The kernel's
 * figure covers, per packet: resetting the page, the program, and its verdict for real — XDP_PASS
 * builds an skb and runs the IPv4 receive path, which ends at a blackhole route for both the
 * outer (node) and the inner (pod) destination; XDP_TX sends into the veth peer, where an XDP_DROP
 * program takes it. Frames are fixed points of the program (frames.ts), and the counters prove
 * every repetition took the full path.
 *
 * TC (tc_encap, tc_decap): the kernel's skb test run does NOT reset the packet between repetitions
 * (net/bpf/test_run.c: bpf_test_run() runs the program `repeat` times on the same skb; measured:
 * tc_encap with repeat 1000 counted 1 encap and 999 "pass" on its own output). So two methods:
 *   per-call   one repetition per BPF_PROG_TEST_RUN call, a fresh skb built from the input each
 *              time; the kernel's figure for one run includes reading the clock twice and
 *              bottom-half toggling (the no-op shows how much);
 *   skb path   (tc_decap) real skbs: live XDP frames passed into the stack of the veth, where the
 *              program sits at tcx ingress, against tc_noop and no program at the same hook.
 *
 * Program-only time comes from the kernel's own accounting (bpf_stats run_time_ns / run_cnt), in
 * a separate pass because the accounting itself costs two clock reads per run.
 */
import {
  attachTc,
  attachXdp,
  BurrowStat,
  ifindexOf,
  type Link,
  type Program,
} from '../src/bpf/index.js';
import { enableBpfStats, nsPerRun, progStats } from './bpf-stats.js';
import {
  decapConfig,
  decapDeviceMac,
  decapFrame,
  decapPeer,
  decapRoutes,
  encapConfig,
  encapFrame,
  encapRoutes,
  ENCAP_LOCAL_IP,
  ENCAP_REMOTE_IP,
  ENCAP_REMOTE_MAC,
  type TunnelMode,
} from './frames.js';
import { median, pairedRatio, summarize, type Summary } from './measure.js';
import { DatapathObject, helpersObject, loadObject, noopObject, retryEintr, xdpMd } from './objects.js';
import { scratchNetns, type ScratchNetns } from './scratch.js';

export interface ProgramCostOptions {
  rounds: number;
  /** Repetitions per live-frame call. */
  xdpRepeat: number;
  /** Calls per TC per-call measurement. */
  tcCalls: number;
  log: (line: string) => void;
}

export interface CostRow {
  hook: 'xdp' | 'tc' | 'tc-skb-path';
  program: string;
  /** The encap program had a `nexthops` entry for the remote (no FIB / neighbour lookup). */
  nexthop?: boolean;
  mode: TunnelMode | '-';
  verdict: string;
  baseline: string;
  frameBytes: number;
  /** Kernel test-run figure per packet (see the method): program and its hook's fixed work. */
  hookNs: Summary;
  baselineHookNs: Summary;
  ratio: Summary;
  /** bpf_stats run_time_ns / run_cnt: the program alone (+ two clock reads). */
  progNs: Summary;
  baselineProgNs: Summary;
  /** progNs − baselineProgNs, per round. */
  addedNs: Summary;
  /** Repetitions that did not take the full encap/decap path (must be 0). */
  offPath: number;
}

export interface ProgramCostResult {
  rows: CostRow[];
  repeatCheck: { program: string; repeat: number; counters: Record<string, number> };
  xdpRepeat: number;
  tcCalls: number;
  rounds: number;
}

interface Case {
  hook: CostRow['hook'];
  program: string;
  nexthop?: boolean;
  mode: TunnelMode | '-';
  verdict: string;
  baseline: string;
  frame: Uint8Array;
  /** One measurement: the kernel's ns/packet. */
  measure(): number;
  /** Program whose bpf_stats are read (the one under test). */
  statsProgram: Program;
  /** The counter every repetition must move (undefined: no counter, e.g. no-op). */
  counter?: { object: DatapathObject; stat: number };
}

const statName = (i: number) => Object.entries(BurrowStat).find(([, v]) => v === i)?.[0] ?? String(i);

/** The XDP side: one namespace, veth dut (receives) ↔ dutp (sink for XDP_TX). */
function xdpBed(ns: ScratchNetns) {
  const dmac = decapDeviceMac();
  ns.ip('link', 'add', 'dut', 'type', 'veth', 'peer', 'name', 'dutp');
  ns.ip('link', 'set', 'dut', 'address', dmac, 'up');
  ns.ip('link', 'set', 'dutp', 'address', ENCAP_REMOTE_MAC, 'up');
  ns.ip('addr', 'add', `${ENCAP_LOCAL_IP}/16`, 'dev', 'dut'); // the encap remote's subnet
  ns.ip('neigh', 'replace', ENCAP_REMOTE_IP, 'lladdr', ENCAP_REMOTE_MAC, 'dev', 'dut', 'nud', 'permanent');
  // Passed packets end at a blackhole: node addresses (outer) and pod addresses (inner).
  ns.ip('route', 'add', 'blackhole', '10.0.0.0/16');
  ns.ip('route', 'add', 'blackhole', '10.1.0.0/16');
  ns.ip('route', 'add', 'blackhole', '192.168.0.0/16');
  // bpf_fib_lookup (xdp_encap) refuses without forwarding; rp_filter stays off for the blackholed.
  ns.sysctl('net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.dut.rp_filter=0');
  const dut = ns.run(() => ifindexOf('dut'));
  return { dmac, dut };
}

function liveRun(ns: ScratchNetns, prog: Program, frame: Uint8Array, ifindex: number, repeat: number): number {
  const ctx = xdpMd(frame.length, ifindex);
  const r = retryEintr(() => ns.run(() => prog.run({ data: frame, ctx, ctxOutSize: 0, repeat, batchSize: 64, xdpLiveFrames: true })));
  return r.duration;
}

/** Median of the kernel's per-run figure over `calls` single-repetition calls (fresh skb each). */
function perCallRun(prog: Program, frame: Uint8Array, calls: number): number {
  const d = new Array<number>(calls);
  for (let i = 0; i < calls; i++) d[i] = prog.run({ data: frame, dataOutSize: frame.length + 128 }).duration;
  return median(d);
}

export async function runProgramCost(opts: ProgramCostOptions): Promise<ProgramCostResult> {
  const { log } = opts;
  const ns = scratchNetns('cost');
  const links: Link[] = [];
  const objects: DatapathObject[] = [];
  try {
    const { dmac, dut } = xdpBed(ns);
    const noop = noopObject();
    const helpers = loadObject(helpersObject(), 'bench_helpers');
    // XDP_TX'd frames land on dutp: a veth takes ndo_xdp_xmit frames only when its peer runs XDP.
    const xdpSink = ns.run(() => attachXdp(helpers.program('xdp_drop'), 'dutp', { mode: 'native' }));
    links.push(xdpSink);

    const xdpDecap = new DatapathObject('xdp_decap');
    const xdpEncap = new DatapathObject('xdp_encap');
    const tcDecap = new DatapathObject('tc_decap');
    const tcEncap = new DatapathObject('tc_encap');
    // The same programs with agentd's next hop for the remote (docs/datapath.md, "Next hops"):
    // the MACs the FIB answers (so the output bytes are the same), dut as the device.
    const xdpEncapNh = new DatapathObject('xdp_encap');
    const tcEncapNh = new DatapathObject('tc_encap');
    objects.push(xdpDecap, xdpEncap, tcDecap, tcEncap, xdpEncapNh, tcEncapNh);
    for (const o of [xdpDecap, tcDecap]) {
      o.config.set(0, decapConfig());
      o.peers.set(...decapPeer);
      o.routes.setBatch(decapRoutes());
    }
    for (const o of [xdpEncap, tcEncap, xdpEncapNh, tcEncapNh]) {
      o.config.set(0, encapConfig(dut, dmac));
      o.routes.setBatch(encapRoutes());
    }
    for (const o of [xdpEncapNh, tcEncapNh]) o.nexthops.set(ENCAP_REMOTE_IP, { ifindex: dut, dmac: ENCAP_REMOTE_MAC, smac: dmac, mtu: 0 });

    const repeatCheck = checkTcRepeat(tcEncap, encapFrame('ipip', dmac));
    log(`  tc_encap with repeat ${repeatCheck.repeat}: ${JSON.stringify(repeatCheck.counters)} (the skb is not reset between repetitions)`);

    const R = opts.xdpRepeat;
    const xdpNoop = noop.program('xdp_noop');
    const tcNoop = noop.program('tc_noop');
    const live = (p: Program, f: Uint8Array) => () => liveRun(ns, p, f, dut, R);
    const cases: [Case, Case][] = [];
    const pair = (c: Case, base: Omit<Case, 'hook' | 'program' | 'mode' | 'verdict' | 'baseline' | 'frame'>) => {
      cases.push([c, { ...c, ...base, program: c.baseline, counter: undefined }]);
    };
    for (const mode of ['ipip', 'vxlan'] as const) {
      const f = decapFrame(mode);
      const stat = mode === 'ipip' ? BurrowStat.decap_ipip : BurrowStat.decap_vxlan;
      pair(
        { hook: 'xdp', program: 'xdp_decap', mode, verdict: 'XDP_PASS → stack → blackhole', baseline: 'xdp_noop', frame: f, measure: live(xdpDecap.program, f), statsProgram: xdpDecap.program, counter: { object: xdpDecap, stat } },
        { measure: live(xdpNoop, f), statsProgram: xdpNoop },
      );
    }
    for (const [object, nexthop] of [[xdpEncap, false], [xdpEncapNh, true]] as const) {
      for (const mode of ['ipip', 'vxlan'] as const) {
        const f = encapFrame(mode, dmac);
        const stat = mode === 'ipip' ? BurrowStat.encap_ipip : BurrowStat.encap_vxlan;
        const c: Case = { hook: 'xdp', program: 'xdp_encap', nexthop, mode, verdict: 'XDP_TX → veth peer (XDP_DROP)', baseline: 'xdp_noop', frame: f, measure: live(object.program, f), statsProgram: object.program, counter: { object, stat } };
        pair(c, { measure: live(xdpNoop, f), statsProgram: xdpNoop });
        // Same verdict without the work: bounce the frame unchanged.
        pair({ ...c, baseline: 'xdp_tx (bench helper)' }, { measure: live(helpers.program('xdp_tx'), f), statsProgram: helpers.program('xdp_tx') });
      }
    }
    const perCall = (p: Program, f: Uint8Array) => () => perCallRun(p, f, opts.tcCalls);
    for (const [object, nexthop] of [[tcEncap, false], [tcEncapNh, true]] as const) {
      for (const mode of ['ipip', 'vxlan'] as const) {
        const f = encapFrame(mode, dmac);
        const stat = mode === 'ipip' ? BurrowStat.encap_ipip : BurrowStat.encap_vxlan;
        const how = nexthop ? 'bpf_redirect with the next hop\'s MACs' : 'bpf_redirect_neigh';
        pair(
          { hook: 'tc', program: 'tc_encap', nexthop, mode, verdict: `TC_ACT_REDIRECT (${how}; not carried out by a test run)`, baseline: 'tc_noop', frame: f, measure: perCall(object.program, f), statsProgram: object.program, counter: { object, stat } },
          { measure: perCall(tcNoop, f), statsProgram: tcNoop },
        );
      }
    }
    for (const mode of ['ipip', 'vxlan'] as const) {
      const f = decapFrame(mode);
      const stat = mode === 'ipip' ? BurrowStat.decap_ipip : BurrowStat.decap_vxlan;
      pair(
        { hook: 'tc', program: 'tc_decap', mode, verdict: 'TC_ACT_OK', baseline: 'tc_noop', frame: f, measure: perCall(tcDecap.program, f), statsProgram: tcDecap.program, counter: { object: tcDecap, stat } },
        { measure: perCall(tcNoop, f), statsProgram: tcNoop },
      );
    }

    const rows = new Map<Case, { hook: number[]; base: number[]; prog: number[]; baseProg: number[]; offPath: number }>();
    for (const [c] of cases) rows.set(c, { hook: [], base: [], prog: [], baseProg: [], offPath: 0 });

    const runOne = (c: Case): number => {
      const before = c.counter?.object.counted(c.counter.stat) ?? 0;
      const ns = c.measure();
      if (c.counter) {
        const reps = c.hook === 'xdp' ? R : opts.tcCalls;
        rows.get(c)!.offPath += reps - (c.counter.object.counted(c.counter.stat) - before);
      }
      return ns;
    };

    log(`  XDP live frames: ${R} repetitions per call; TC: ${opts.tcCalls} calls of one repetition; ${opts.rounds} rounds`);
    for (let round = 0; round < opts.rounds; round++) {
      for (const [c, base] of cases) {
        const r = rows.get(c)!;
        r.base.push(runOne(base));
        r.hook.push(runOne(c));
      }
    }
    // Program-only time, with the kernel's accounting on (fewer repetitions: it is a mean).
    const stats = await enableBpfStats();
    try {
      for (let round = 0; round < opts.rounds; round++) {
        for (const [c, base] of cases) {
          const r = rows.get(c)!;
          for (const [which, cc] of [['baseProg', base], ['prog', c]] as const) {
            const id = cc.statsProgram.info().id;
            const before = progStats(id);
            runOne(cc);
            r[which].push(nsPerRun(before, progStats(id)).ns);
          }
        }
      }
    } finally {
      stats.close();
    }

    // skbs transmitted into dutp: dropped at its TC ingress instead (see bench_helpers.bpf.c).
    xdpSink.close();
    links.push(ns.run(() => attachTc(helpers.program('tc_drop'), 'dutp', 'ingress')));
    const skbPath = await runTcSkbPath(ns, dut, { tcDecap, tcEncap, tcEncapNh, noop: tcNoop, bounce: helpers.program('tc_bounce'), xdpNoop, dmac }, opts, links);
    const out: CostRow[] = [...rows].map(([c, r]) => ({
      hook: c.hook,
      program: c.program,
      ...(c.nexthop ? { nexthop: true } : {}),
      mode: c.mode,
      verdict: c.verdict,
      baseline: c.baseline,
      frameBytes: c.frame.length,
      hookNs: summarize(r.hook),
      baselineHookNs: summarize(r.base),
      ratio: pairedRatio(r.hook, r.base),
      progNs: summarize(r.prog),
      baselineProgNs: summarize(r.baseProg),
      addedNs: summarize(r.prog.map((x, i) => x - (r.baseProg[i] ?? NaN))),
      offPath: r.offPath,
    }));
    out.push(...skbPath);
    for (const row of out) {
      log(`  ${row.hook.padEnd(11)} ${(row.program + (row.nexthop ? '+nh' : '')).padEnd(12)} ${row.mode.padEnd(5)} ${row.hookNs.median.toFixed(0).padStart(5)} ns vs ${row.baseline} ${row.baselineHookNs.median.toFixed(0)} ns = ${row.ratio.median.toFixed(2)}x; program alone ${row.progNs.median.toFixed(1)} ns (no-op ${row.baselineProgNs.median.toFixed(1)})${row.offPath ? `; OFF PATH ${row.offPath}` : ''}`);
    }
    return { rows: out, repeatCheck, xdpRepeat: R, tcCalls: opts.tcCalls, rounds: opts.rounds };
  } finally {
    for (const l of links) {
      try {
        l.close();
      } catch {
        // the namespace goes anyway
      }
    }
    for (const o of objects) o.close();
    ns.destroy();
  }
}

/** Evidence for the method: tc_encap with repeat N on one frame, and the counters that moved. */
function checkTcRepeat(o: DatapathObject, frame: Uint8Array): ProgramCostResult['repeatCheck'] {
  const before = o.countersNonZero();
  const repeat = 1000;
  o.program.run({ data: frame, repeat });
  const after = o.countersNonZero();
  const counters: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[Number(k)] ?? 0);
    if (d) counters[statName(Number(k))] = d;
  }
  return { program: o.name, repeat, counters };
}

/**
 * The TC programs on real skbs: xdp_noop test-runs live frames into dut's stack (XDP_PASS builds
 * an skb and runs the receive path), where tcx ingress runs nothing, tc_noop or the program.
 * tc_decap: then IPv4 receive and the blackhole route. tc_encap (as at TC ingress of a pod's
 * veth, a placement datapath.md allows): encapsulated and redirected out of dut by
 * bpf_redirect_neigh, into a TC drop on its peer. The figure is the whole path per packet.
 */
async function runTcSkbPath(
  ns: ScratchNetns,
  dut: number,
  p: { tcDecap: DatapathObject; tcEncap: DatapathObject; tcEncapNh: DatapathObject; noop: Program; bounce: Program; xdpNoop: Program; dmac: string },
  opts: ProgramCostOptions,
  links: Link[],
): Promise<CostRow[]> {
  const R = opts.xdpRepeat;
  const rows: CostRow[] = [];
  const withProgram = <T>(prog: Program | undefined, fn: () => T): T => {
    const link = prog ? ns.run(() => attachTc(prog, 'dut', 'ingress')) : undefined;
    if (link) links.push(link);
    try {
      return fn();
    } finally {
      link?.close();
    }
  };
  const variants = [
    { object: p.tcDecap, verdict: 'TC_ACT_OK → IPv4 receive → blackhole', frame: decapFrame, stat: { ipip: BurrowStat.decap_ipip, vxlan: BurrowStat.decap_vxlan } },
    { object: p.tcEncap, verdict: 'TC_ACT_REDIRECT → out of dut → TC drop on its peer', frame: (m: TunnelMode) => encapFrame(m, p.dmac), stat: { ipip: BurrowStat.encap_ipip, vxlan: BurrowStat.encap_vxlan } },
    { object: p.tcEncapNh, nexthop: true, verdict: 'TC_ACT_REDIRECT (next hop: bpf_redirect) → out of dut → TC drop on its peer', frame: (m: TunnelMode) => encapFrame(m, p.dmac), stat: { ipip: BurrowStat.encap_ipip, vxlan: BurrowStat.encap_vxlan } },
  ];
  for (const v of variants) {
    for (const mode of ['ipip', 'vxlan'] as const) {
      const f = v.frame(mode);
      const stat = v.stat[mode];
      const series = { none: [] as number[], noop: [] as number[], bounce: [] as number[], prog: [] as number[], noopProg: [] as number[], progProg: [] as number[] };
      const encap = v.object !== p.tcDecap;
      let offPath = 0;
      const once = () => liveRun(ns, p.xdpNoop, f, dut, R);
      const counted = (fn: () => number): number => {
        const before = v.object.counted(stat);
        const d = fn();
        offPath += R - (v.object.counted(stat) - before);
        return d;
      };
      for (let round = 0; round < opts.rounds; round++) {
        series.none.push(withProgram(undefined, once));
        series.noop.push(withProgram(p.noop, once));
        if (encap) series.bounce.push(withProgram(p.bounce, once));
        series.prog.push(counted(() => withProgram(v.object.program, once)));
      }
      const stats = await enableBpfStats();
      try {
        for (let round = 0; round < opts.rounds; round++) {
          for (const [prog, into] of [[p.noop, series.noopProg], [v.object.program, series.progProg]] as const) {
            const id = prog.info().id;
            const before = progStats(id);
            if (prog === p.noop) withProgram(prog, once);
            else counted(() => withProgram(prog, once));
            into.push(nsPerRun(before, progStats(id)).ns);
          }
        }
      } finally {
        stats.close();
      }
      const common = { hook: 'tc-skb-path' as const, program: v.object.name, ...('nexthop' in v ? { nexthop: true } : {}), mode, verdict: v.verdict, frameBytes: f.length, progNs: summarize(series.progProg), offPath };
      rows.push({
        ...common, baseline: 'tc_noop', hookNs: summarize(series.prog), baselineHookNs: summarize(series.noop),
        ratio: pairedRatio(series.prog, series.noop), baselineProgNs: summarize(series.noopProg),
        addedNs: summarize(series.progProg.map((x, i) => x - (series.noopProg[i] ?? NaN))),
      });
      if (encap) {
        rows.push({
          ...common, baseline: 'tc_bounce (bench helper: bpf_redirect back out, no work)', hookNs: summarize(series.prog),
          baselineHookNs: summarize(series.bounce), ratio: pairedRatio(series.prog, series.bounce), baselineProgNs: summarize([]), addedNs: summarize([]),
        });
      }
      rows.push({
        ...common, baseline: 'no TC program', hookNs: summarize(series.prog), baselineHookNs: summarize(series.none),
        ratio: pairedRatio(series.prog, series.none), baselineProgNs: summarize([]), addedNs: summarize([]),
      });
    }
  }
  return rows;
}
