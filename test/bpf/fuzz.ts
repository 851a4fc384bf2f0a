// The fuzz campaign (`npm run fuzz`): each datapath program against the reference codec on a
// million generated cases (by default), through BPF_PROG_TEST_RUN, with the same comparison as
// the differential tests (return code, output bytes, exactly one counter by 1 packet and the
// frame length). Needs root.
//
// Cases come in batches: one node config and route table (or peer list), then up to --batch frames
// against it (harness/batch-*.ts), so the maps are written once per batch. --per-case draws every
// case from the codec's own scenario arbitraries instead (fresh tables each time; slower).
// xdp_encap runs in the FIB lab namespace (harness/fib-lab.ts), arriving on lo, ua or ub.
//
// The first mismatch stops that program's campaign: fast-check shrinks the batch, the report
// shows the seed, the shrunk counterexample and the readable difference, and the exit status
// is 1. Progress goes to stderr, the report to stdout.
import { parseArgs } from 'node:util';
import fc from 'fast-check';

import { STAT_NAMES } from '../../src/codec/index.js';
import { arbProgramBatch, batchMismatch, checkBatchFrame, type Batch, type BatchFrame } from './harness/batches.js';
import { PROGRAM_NAMES, ProgramUnderTest, isProgramName, type ProgramName } from './harness/datapath.js';
import { CounterTally, DifferentialRunner } from './harness/differential.js';
import { createFibLab, type FibLab } from './harness/fib-lab.js';
import { MismatchError } from './harness/report.js';

const USAGE = `usage: node dist/test/bpf/fuzz.js [options]   (npm run fuzz -- [options])

  --cases N        cases per program (default 1000000)
  --seed S         fast-check seed (default: random; printed)
  --program NAME   tc_encap, xdp_encap, tc_decap or xdp_decap; repeat or comma-separate (default: all four)
  --batch K        frames per generated table (default 64)
  --per-case       fresh tables for every case, from the codec's scenario arbitraries
  --progress SEC   seconds between progress lines on stderr (default 15; 0: none)
  -h, --help`;

interface Settings {
  readonly cases: number;
  readonly seed: number;
  readonly batch: number;
  readonly perCase: boolean;
  readonly programs: readonly ProgramName[];
  readonly progressSeconds: number;
}

interface CampaignResult {
  readonly program: ProgramName;
  readonly cases: number;
  readonly batches: number;
  readonly mapWrites: number;
  readonly seconds: number;
  /** CPU time of this process (user + system) during the campaign: wall time varies with load. */
  readonly cpuSeconds: number;
  readonly tally: CounterTally;
  readonly verdicts: CounterTally;
  /** fast-check's report of the first mismatch (seed, shrunk counterexample, difference). */
  readonly failure?: string;
  /** The seed that replays it as round 0. */
  readonly failingSeed?: number;
}

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      cases: { type: 'string' },
      seed: { type: 'string' },
      program: { type: 'string', multiple: true },
      batch: { type: 'string' },
      'per-case': { type: 'boolean' },
      progress: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, text: string | undefined, fallback: number, min: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text.replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${text}"`);
    return n;
  };
  const programs = (values.program ?? []).flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
  for (const p of programs) if (!isProgramName(p)) throw new UsageError(`--program ${p}: not one of ${PROGRAM_NAMES.join(', ')}`);
  return {
    cases: int('cases', values.cases, 1_000_000, 1),
    seed: values.seed !== undefined ? int('seed', values.seed, 0, -(2 ** 31)) | 0 : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0,
    batch: int('batch', values.batch, 64, 1),
    perCase: values['per-case'] ?? false,
    programs: programs.length ? (programs as ProgramName[]) : PROGRAM_NAMES,
    progressSeconds: int('progress', values.progress, 15, 0),
  };
}

class UsageError extends Error {}

function campaign(name: ProgramName, settings: Settings, runner: DifferentialRunner, lab: FibLab | undefined): CampaignResult {
  const tally = new CounterTally();
  const verdicts = new CounterTally();
  const arbitrary = arbProgramBatch(name, { size: settings.batch, perCase: settings.perCase, ...(lab ? { lab } : {}) });
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let cases = 0;
  let batches = 0;
  let mapWrites = 0;
  let failing = false;
  let nextProgress = started + settings.progressSeconds * 1000;

  // Replays frames with a full counter reading around each, and throws for the first that disagrees.
  const replay = (batch: Batch, frames: readonly BatchFrame[], why: string): never => {
    runner.setCounterCheck('every-case');
    for (const f of frames) {
      const outcome = checkBatchFrame(runner, batch, f, lab);
      if (outcome.problems.length) throw batchMismatch(runner, batch, f, outcome, lab);
    }
    throw new MismatchError(`${why}, but no single case reproduces it when replayed with full counter readings`);
  };

  const property = fc.property(arbitrary, (batch) => {
    // Shrinking (after a mismatch) checks every case with full readings; the campaign itself
    // reads one counter per case and all of them once per batch (DifferentialRunner 'ledger').
    runner.setCounterCheck(failing ? 'every-case' : 'ledger');
    if (!failing) batches++;
    const checked: BatchFrame[] = [];
    for (const f of batch.frames) {
      if (!failing && cases >= settings.cases) break;
      const outcome = checkBatchFrame(runner, batch, f, lab);
      checked.push(f);
      if (outcome.problems.length) {
        if (failing) throw batchMismatch(runner, batch, f, outcome, lab);
        failing = true;
        replay(batch, checked, `${name} disagreed with the codec on a ${f.kind} frame`);
      }
      if (failing) continue;
      cases++;
      mapWrites += outcome.tableChanges;
      tally.add(outcome.model.counter);
      for (const side of outcome.model.also ?? []) tally.addSide(side);
      verdicts.add(outcome.model.verdict);
      if (settings.progressSeconds > 0 && (cases & 1023) === 0 && performance.now() >= nextProgress) {
        const s = (performance.now() - started) / 1000;
        process.stderr.write(`[${name}] ${cases} / ${settings.cases} cases, ${Math.round(cases / s)} cases/s, ${s.toFixed(0)} s\n`);
        nextProgress += settings.progressSeconds * 1000;
      }
    }
    const stray = runner.checkpoint();
    if (stray.length && !failing) {
      failing = true;
      replay(batch, checked, `counters moved that the batch's cases do not account for: ${stray.map((m) => `${m.counter} +${m.packets}/+${m.bytes}B`).join(', ')}`);
    }
  });

  // fast-check runs a fixed number of batches; rounds continue (seed + round) until --cases are done.
  let failure: string | undefined;
  let failingSeed: number | undefined;
  for (let round = 0; cases < settings.cases && failure === undefined; round++) {
    const perBatch = batches > 0 ? Math.max(1, cases / batches) : Math.max(1, settings.batch / 2);
    const numRuns = Math.max(1, Math.ceil((settings.cases - cases) / perBatch));
    const seed = (settings.seed + round) | 0;
    try {
      fc.assert(property, { seed, numRuns, includeErrorInReport: true });
    } catch (e) {
      failure = e instanceof Error ? e.message : String(e);
      failingSeed = seed;
    }
  }
  return {
    program: name, cases, batches, mapWrites, seconds: (performance.now() - started) / 1000,
    cpuSeconds: ((cpu) => (cpu.user + cpu.system) / 1e6)(process.cpuUsage(cpuStart)), tally, verdicts,
    ...(failure !== undefined ? { failure, failingSeed } : {}),
  };
}

function runProgram(name: ProgramName, settings: Settings): CampaignResult {
  const runner = new DifferentialRunner(ProgramUnderTest.load(name));
  let lab: FibLab | undefined;
  try {
    if (name === 'xdp_encap') {
      lab = createFibLab();
      const inLab = lab;
      return inLab.run(() => campaign(name, settings, runner, inLab));
    }
    return campaign(name, settings, runner, undefined);
  } finally {
    runner.target.close();
    lab?.destroy();
  }
}

function report(settings: Settings, results: readonly CampaignResult[]): string {
  const lines = [
    '',
    `burrow fuzz: seed ${settings.seed}, ${settings.cases} cases per program, ${settings.perCase ? 'fresh tables per case' : `up to ${settings.batch} frames per table`}`,
    '',
    `${'program'.padEnd(10)} ${'cases'.padStart(9)} ${'mismatches'.padStart(10)} ${'seconds'.padStart(8)} ${'cases/s'.padStart(8)} ${'cpu s'.padStart(8)} ${'cases/cpu s'.padStart(11)} ${'tables'.padStart(8)} ${'map writes'.padStart(10)}`,
  ];
  for (const r of results) {
    lines.push([
      r.program.padEnd(10), String(r.cases).padStart(9), String(r.failure ? 1 : 0).padStart(10), r.seconds.toFixed(1).padStart(8),
      String(Math.round(r.cases / r.seconds)).padStart(8), r.cpuSeconds.toFixed(1).padStart(8),
      String(Math.round(r.cases / r.cpuSeconds)).padStart(11), String(r.batches).padStart(8), String(r.mapWrites).padStart(10),
    ].join(' '));
  }
  const total = results.reduce((a, r) => ({ cases: a.cases + r.cases, seconds: a.seconds + r.seconds, cpu: a.cpu + r.cpuSeconds }), { cases: 0, seconds: 0, cpu: 0 });
  if (results.length > 1) {
    lines.push(`${'total'.padEnd(10)} ${String(total.cases).padStart(9)} ${String(results.filter((r) => r.failure).length).padStart(10)} ${total.seconds.toFixed(1).padStart(8)} ${String(Math.round(total.cases / total.seconds)).padStart(8)} ${total.cpu.toFixed(1).padStart(8)} ${String(Math.round(total.cases / total.cpu)).padStart(11)}`);
  }
  for (const r of results) {
    lines.push('', `${r.program} counters:`);
    for (const name of STAT_NAMES) {
      const n = r.tally.counts.get(name);
      if (n) lines.push(`  ${name.padEnd(20)} ${String(n).padStart(9)}  ${(100 * n / r.cases).toFixed(2).padStart(6)}%`);
    }
    lines.push(`  verdicts: ${[...r.verdicts.counts].map(([v, n]) => `${v} ${n}`).join(', ')}`);
  }
  for (const r of results) {
    if (!r.failure) continue;
    const replay = `npm run fuzz -- --program ${r.program} --seed ${r.failingSeed} ${settings.perCase ? '--per-case' : `--batch ${settings.batch}`}`;
    lines.push('', `MISMATCH in ${r.program} (replay: ${replay}):`, r.failure);
  }
  return `${lines.join('\n')}\n`;
}

function main(): number {
  let settings: Settings;
  try {
    settings = parseSettings(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('the fuzz campaign needs root (BPF_PROG_TEST_RUN, bpffs, network namespaces)\n');
    return 2;
  }
  process.stderr.write(`burrow fuzz: seed ${settings.seed}, programs ${settings.programs.join(', ')}\n`);
  const results: CampaignResult[] = [];
  for (const name of settings.programs) {
    const r = runProgram(name, settings);
    process.stderr.write(`[${name}] done: ${r.cases} cases in ${r.seconds.toFixed(1)} s${r.failure ? ', MISMATCH' : ''}\n`);
    results.push(r);
  }
  process.stdout.write(report(settings, results));
  return results.some((r) => r.failure) ? 1 : 0;
}

process.exitCode = main();
