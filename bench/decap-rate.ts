/**
 * §3 XDP decap packet rate on a veth fed by a generator, against a no-op XDP_PASS on the same veth.
 *
 *   [gen ns] gen0 ──veth── dut0 [dut ns]: xdp_noop | xdp_decap (native XDP), blackhole routes
 *
 * The generator (xdp-generator.ts, pinned to CPU 0) test-runs the bench helper xdp_tx with live
 * frames on gen0: each repetition sends a fresh tunnel frame into dut0 (veth ndo_xdp_xmit, no
 * skb). dut0's NAPI runs threaded, its kthread pinned to CPU 1, so the generator and the device
 * under test do not share a CPU. The program's XDP_PASS builds an skb and runs IPv4 receive,
 * which drops it at a blackhole route (pod destinations after decap, node destinations for the
 * no-op): the cheapest place a passed packet can go, the same for both. The rate is what dut0
 * processed (its rx packets: XDP-received frames) over the generator's sending time (the kernel's
 * ns per packet × repetitions); frames the generator offered beyond that were dropped at dut0's
 * ring (rx_dropped), which shows the generator was not the bottleneck.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { attachXdp, BurrowStat, type Link, type Program } from '../src/bpf/index.js';
import { decapConfig, decapDeviceMac, decapFrame, decapPeer, decapRoutes, type TunnelMode } from './frames.js';
import { pairedRatio, runJsonChild, sleep, summarize, type Summary } from './measure.js';
import { DatapathObject, noopObject } from './objects.js';
import { scratchNetns, type ScratchNetns } from './scratch.js';

const GENERATOR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'xdp-generator.js');

export interface DecapRateOptions {
  rounds: number;
  /** Frames per generator run. */
  packets: number;
  log: (line: string) => void;
}

export interface RateRow {
  variant: string;
  mode: TunnelMode;
  /** Packets per second processed by dut0's XDP program (wall clock: shares CPU 1 with whatever runs there). */
  pps: Summary;
  /** Packets per CPU-second of dut0's NAPI thread: its capacity, whatever else ran on its CPU. */
  cpuPps: Summary;
  /** Offered by the generator, per second. */
  offeredPps: Summary;
  /** Share of offered frames dut0 dropped for a full ring. */
  ringDropShare: Summary;
  /** Against xdp_noop on the same frames, per round: of cpuPps (pps when NAPI is not threaded). */
  ratio: Summary;
  wallRatio: Summary;
  /** Frames xdp_decap counted under anything but its decap counter (must be 0). */
  offPath: number;
}

export interface DecapRateResult {
  rows: RateRow[];
  threadedNapi: boolean;
  cpus: { generator: string; dut: string };
  frameBytes: Record<TunnelMode, number>;
}

interface LinkStats {
  rx: number;
  dropped: number;
}

function linkStats(ns: ScratchNetns, dev: string): LinkStats {
  const j = JSON.parse(ns.ip('-s', '-j', 'link', 'show', dev)) as { stats64: { rx: { packets: number; dropped: number } } }[];
  return { rx: j[0]!.stats64.rx.packets, dropped: j[0]!.stats64.rx.dropped };
}

/**
 * Threaded NAPI for `dev`, its kthread pinned to `cpu`; returns the kthread's pids (none: NAPI
 * is not threaded). Re-done after each attach: veth re-creates its NAPI instance.
 */
function pinNapi(ns: ScratchNetns, dev: string, cpu: number, before: ReadonlySet<string>): string[] {
  try {
    ns.exec(['sh', '-c', `echo 1 > /sys/class/net/${dev}/threaded`]);
  } catch {
    return [];
  }
  // The new kthreads named for dev (another namespace may have a dut0 too: not ours if it was there before).
  const pids = napiThreads(dev).filter((p) => !before.has(p));
  for (const pid of pids) execFileSync('taskset', ['-pc', String(cpu), pid], { stdio: 'ignore' });
  return pids;
}

function napiThreads(dev: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,comm='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, comm]) => comm?.startsWith(`napi/${dev}-`))
    .map(([pid]) => pid!);
}

/** CPU time the threads have run, in ns (/proc/<pid>/schedstat, first field). */
function runtimeNs(pids: readonly string[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // thread gone
    }
  }
  return sum;
}

/** Packets xdp_decap counted under every counter but `stat` (pass, drops...). */
function otherCounters(decap: DatapathObject, stat: number): number {
  return Object.entries(decap.countersNonZero()).reduce((sum, [i, n]) => (Number(i) === stat ? sum : sum + n), 0);
}

async function runGenerator(gen: ScratchNetns, frame: Uint8Array, packets: number, cpu: string): Promise<number> {
  const argv = ['taskset', '-c', cpu, process.execPath, GENERATOR, gen.path, 'gen0', Buffer.from(frame).toString('hex'), String(packets)];
  return (await runJsonChild<{ nsPerPacket: number }>(argv, 'xdp-generator')).nsPerPacket;
}

export async function runDecapRate(opts: DecapRateOptions): Promise<DecapRateResult> {
  const { log } = opts;
  const gen = scratchNetns('gen');
  const dut = scratchNetns('dut');
  const decap = new DatapathObject('xdp_decap');
  let link: Link | undefined;
  try {
    gen.ip('link', 'add', 'gen0', 'type', 'veth', 'peer', 'name', 'dut0', 'netns', dut.name);
    gen.ip('link', 'set', 'gen0', 'up');
    dut.ip('link', 'set', 'dut0', 'address', decapDeviceMac(), 'up');
    for (const net of ['10.0.0.0/16', '10.1.0.0/16', '192.168.0.0/16']) dut.ip('route', 'add', 'blackhole', net);
    dut.sysctl('net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0');
    decap.config.set(0, decapConfig());
    decap.peers.set(...decapPeer);
    decap.routes.setBatch(decapRoutes());
    const noop = noopObject().program('xdp_noop');
    const twoCpus = (await import('node:os')).cpus().length >= 2;
    const cpus = { generator: '0', dut: twoCpus ? '1' : '0' };
    let napi: string[] = [];
    let threaded = false;
    const attach = (prog: Program) => {
      link?.close();
      const before = new Set(napiThreads('dut0'));
      link = dut.run(() => attachXdp(prog, 'dut0', { mode: 'native' }));
      napi = pinNapi(dut, 'dut0', Number(cpus.dut), before);
      threaded = napi.length > 0;
    };

    const variants: { name: string; prog: Program; counter?: number }[] = [];
    type Series = { mode: TunnelMode; variant: string; pps: number[]; cpuPps: number[]; offered: number[]; drops: number[]; offPath: number };
    const rows = new Map<string, Series>();
    const frames = { ipip: decapFrame('ipip'), vxlan: decapFrame('vxlan') };
    for (const mode of ['ipip', 'vxlan'] as const) {
      for (const variant of ['xdp_noop', 'xdp_decap']) rows.set(`${variant}/${mode}`, { mode, variant, pps: [], cpuPps: [], offered: [], drops: [], offPath: 0 });
    }
    variants.push({ name: 'xdp_noop', prog: noop }, { name: 'xdp_decap', prog: decap.program });
    log(`  generator on CPU ${cpus.generator}, dut0 NAPI on CPU ${cpus.dut}; ${opts.packets} frames per run, ${opts.rounds} rounds`);

    for (let round = 0; round < opts.rounds; round++) {
      // Alternate which variant goes first, so a drift within a round does not favour either.
      for (const v of round % 2 ? [...variants].reverse() : variants) {
        attach(v.prog);
        for (const mode of ['ipip', 'vxlan'] as const) {
          const row = rows.get(`${v.name}/${mode}`)!;
          const stat = mode === 'ipip' ? BurrowStat.decap_ipip : BurrowStat.decap_vxlan;
          const before = linkStats(dut, 'dut0');
          const otherBefore = otherCounters(decap, stat);
          const cpuBefore = runtimeNs(napi);
          const nsPerPacket = await runGenerator(gen, frames[mode], opts.packets, cpus.generator);
          await sleep(50); // dut0 drains its ring (at most 256 frames)
          const after = linkStats(dut, 'dut0');
          const cpuNs = runtimeNs(napi) - cpuBefore;
          const seconds = (nsPerPacket * opts.packets) / 1e9;
          const processed = after.rx - before.rx;
          row.pps.push(processed / seconds);
          row.cpuPps.push(threaded ? processed / (cpuNs / 1e9) : NaN);
          row.offered.push(opts.packets / seconds);
          row.drops.push((after.dropped - before.dropped) / opts.packets);
          if (v.name === 'xdp_decap') row.offPath += otherCounters(decap, stat) - otherBefore;
        }
      }
    }
    const out: RateRow[] = [];
    for (const mode of ['ipip', 'vxlan'] as const) {
      const base = rows.get(`xdp_noop/${mode}`)!;
      for (const r of [base, rows.get(`xdp_decap/${mode}`)!]) {
        out.push({
          variant: r.variant, mode, pps: summarize(r.pps), cpuPps: summarize(r.cpuPps), offeredPps: summarize(r.offered), ringDropShare: summarize(r.drops),
          ratio: pairedRatio(threaded ? r.cpuPps : r.pps, threaded ? base.cpuPps : base.pps), wallRatio: pairedRatio(r.pps, base.pps), offPath: r.offPath,
        });
      }
    }
    for (const r of out) {
      log(`  ${r.variant.padEnd(9)} ${r.mode.padEnd(5)} ${(r.cpuPps.median / 1e6).toFixed(3)} Mpps per NAPI CPU-second, ${(r.pps.median / 1e6).toFixed(3)} Mpps wall (offered ${(r.offeredPps.median / 1e6).toFixed(2)}, ring drops ${(r.ringDropShare.median * 100).toFixed(0)}%) = ${(r.ratio.median * 100).toFixed(1)}% of no-op${r.offPath ? `; OFF PATH ${r.offPath}` : ''}`);
    }
    return { rows: out, threadedNapi: threaded, cpus, frameBytes: { ipip: frames.ipip.length, vxlan: frames.vxlan.length } };
  } finally {
    link?.close();
    decap.close();
    dut.destroy();
    gen.destroy();
  }
}
