#!/usr/bin/env node
/**
 * burrow's benchmarks (issue 6). `npm run bench` runs setup, then this:
 *
 *   node dist/bench/run.js [--quick] [--only SECTION...] [--rounds N] [--seconds N] [--links MODE...]
 *                          [--no-pin] [--no-report] [--report-only]
 *
 * Sections: program-cost (§2), decap-rate (§3), lab (§4), lab-profile (§4's last part: where a
 * small packet's time goes, by kernel function, under perf), control-plane (§5), engine (§6),
 * etcd (§7). A full run writes bench/results/latest.json (sections run now replace their old
 * results; the others are kept, each with its own date) and BENCHMARKS.md from it. --quick
 * (about a minute, smaller figures) writes build/bench/quick.json only (not committed). Needs
 * root; creates only `burrow-bench-<pid>-*` namespaces, bpffs mounts and directories, and `bl-*`
 * labs, and removes them on exit.
 */
import fs from 'node:fs';
import path from 'node:path';

import { Command, Option } from 'commander';

import { useSystemToolPath } from '../src/agent/exec.js';
import { runControlPlane } from './control-plane.js';
import { runDecapRate } from './decap-rate.js';
import { runEngine } from './engine.js';
import { runEtcd } from './etcd.js';
import { runLabProfile } from './lab-profile.js';
import { runLabThroughput, SCENARIOS, type TestName } from './lab-throughput.js';
import { LINK_MODES, type LinkMode } from '../src/lab/offloads.js';
import { busyShare, cpuSnapshot, loadAverage, machineFacts } from './machine.js';
import { ROOT } from './objects.js';
import { runProgramCost } from './program-cost.js';
import { renderReport, type Results, type SectionRecord } from './report.js';
import { cleanupAll, removeStale } from './scratch.js';

export const SECTIONS = ['program-cost', 'decap-rate', 'lab', 'lab-profile', 'control-plane', 'engine', 'etcd'] as const;
export type SectionName = (typeof SECTIONS)[number];

interface Options {
  quick: boolean;
  reportOnly?: boolean;
  only?: SectionName[];
  rounds?: number;
  /** Lab section: seconds per test (default 5, quick 2). */
  seconds?: number;
  /** Lab section: link modes (default both). */
  links?: LinkMode[];
  /** Lab section: pin senders and receivers to CPUs (default; --no-pin lets the scheduler place them). */
  pin: boolean;
  report: boolean;
}

const RESULTS_DIR = path.join(ROOT, 'bench/results');

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function runSection(name: SectionName, o: Options): Promise<unknown> {
  const q = o.quick;
  const rounds = (full: number, quick: number) => o.rounds ?? (q ? quick : full);
  switch (name) {
    case 'program-cost':
      return runProgramCost({ rounds: rounds(5, 2), xdpRepeat: q ? 50_000 : 500_000, tcCalls: q ? 1000 : 5000, log });
    case 'decap-rate':
      return runDecapRate({ rounds: rounds(7, 2), packets: q ? 1_000_000 : 5_000_000, log });
    case 'lab': {
      const scenarios = q ? ['routed', 'burrow-ipip-tc', 'burrow-vxlan-tc', 'burrow-vxlan-xdp', 'kernel-vxlan'] : SCENARIOS.map((s) => s.name);
      const tests: TestName[] = q ? ['tcp1', 'udp64'] : ['tcp1', 'tcp4', 'udp64'];
      return runLabThroughput({ rounds: rounds(3, 1), seconds: o.seconds ?? (q ? 2 : 5), scenarios, tests, modes: o.links ?? [...LINK_MODES], pin: o.pin, log });
    }
    case 'lab-profile':
      return runLabProfile({
        scenarios: q ? ['routed', 'burrow-ipip-tc'] : ['routed', 'routed+nft-guard', 'burrow-ipip-tc', 'burrow-vxlan-tc', 'kernel-vxlan'],
        mode: 'wire',
        rounds: rounds(8, 1),
        seconds: o.seconds ?? 2,
        frequency: 1999,
        log,
      });
    case 'control-plane':
      return runControlPlane({
        sizes: q ? [1000, 10_000] : [1000, 10_000, 100_000],
        rounds: rounds(3, 1),
        syscalls: !q,
        agentdSizes: q ? [1000] : [1000, 10_000, 100_000],
        log,
      });
    case 'engine':
      return runEngine({
        sizes: q ? [1000, 10_000] : [1000, 10_000, 100_000],
        rounds: rounds(2, 1),
        agentdSizes: q ? [10_000] : [10_000, 100_000],
        idleSeconds: q ? 10 : 60,
        log,
      });
    case 'etcd':
      return runEtcd({ nodes: q ? 500 : 5000, blocksPerNode: 20, rounds: rounds(3, 1), churnCount: q ? 2000 : 20_000, latencyRounds: q ? 5 : 20, log });
  }
}

function readResults(file: string): Results | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Results;
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<void> {
  useSystemToolPath();
  const cmd = new Command('bench')
    .description("burrow's benchmarks: per-program cost, XDP decap rate, lab throughput, control plane")
    .option('--quick', 'smaller and shorter (about a minute): a smoke check; writes build/bench/quick.json only')
    .addOption(new Option('--only <section...>', 'run only these sections').choices([...SECTIONS]))
    .option('--rounds <n>', 'rounds per comparison (default 5 / 3, quick 2 / 1)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error('--rounds takes a positive integer');
      return n;
    })
    .option('--seconds <n>', 'lab: seconds per test (default 5, quick 2); short for a smoke run', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error('--seconds takes a positive integer');
      return n;
    })
    .addOption(new Option('--links <mode...>', 'lab: link modes, each scenario in each (default: gso wire)').choices([...LINK_MODES]))
    .option('--no-pin', 'lab: let the scheduler place senders and receivers (default: pinned to CPU 0 and 1)')
    .option('--no-report', 'do not rewrite BENCHMARKS.md (full runs)')
    .option('--report-only', 'measure nothing: rewrite BENCHMARKS.md from bench/results/latest.json')
    .parse(argv);
  const o = cmd.opts<Options>();
  if (o.reportOnly) {
    const saved = readResults(path.join(RESULTS_DIR, 'latest.json'));
    if (!saved) throw new Error('bench: no bench/results/latest.json to render');
    fs.writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), renderReport(saved));
    log('report: BENCHMARKS.md');
    return;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (network namespaces, BPF, bpffs mounts)\n');
    process.exit(1);
  }
  for (const r of removeStale()) log(`removed leftover ${r}`);
  const sections = o.only ?? [...SECTIONS];
  const file = o.quick ? path.join(ROOT, 'build/bench/quick.json') : path.join(RESULTS_DIR, 'latest.json');
  const previous = o.quick ? undefined : readResults(file);
  const results: Results = {
    machine: machineFacts(),
    sections: { ...(previous?.sections ?? {}) },
  };
  log(`burrow bench (${o.quick ? 'quick' : 'full'}): ${sections.join(', ')} on ${results.machine.nproc} CPUs, ${results.machine.cpuModel}, kernel ${results.machine.kernel}`);
  let failed = false;
  for (const name of sections) {
    log(`\n== ${name}`);
    const started = new Date();
    const cpu0 = cpuSnapshot();
    const load0 = loadAverage();
    try {
      const data = await runSection(name, o);
      const record: SectionRecord = {
        date: started.toISOString(),
        seconds: (Date.now() - started.getTime()) / 1000,
        quick: o.quick,
        loadBefore: load0,
        loadAfter: loadAverage(),
        machineBusy: busyShare(cpu0, cpuSnapshot()),
        revision: results.machine.revision,
        data,
      };
      results.sections[name] = record;
      log(`  (${record.seconds.toFixed(0)} s; whole machine ${(record.machineBusy * 100).toFixed(0)}% busy, load ${record.loadBefore[0]} → ${record.loadAfter[0]})`);
    } catch (e) {
      failed = true;
      log(`  FAILED: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    } finally {
      cleanupAll();
    }
  }
  results.machine = machineFacts();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(results, null, 1) + '\n');
  fs.renameSync(`${file}.tmp`, file);
  log(`\nresults: ${path.relative(ROOT, file)}`);
  if (!o.quick && o.report) {
    const md = path.join(ROOT, 'BENCHMARKS.md');
    fs.writeFileSync(md, renderReport(results));
    log(`report:  ${path.relative(ROOT, md)}`);
  }
  process.exit(failed ? 1 : 0);
}

await main(process.argv);
