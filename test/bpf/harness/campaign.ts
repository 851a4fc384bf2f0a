// The fuzz campaign's engine (test/bpf/fuzz.ts is its command line): one program's campaign in
// batches with the ledger's counter check, the replay with full readings that names the frame
// behind a mismatch, and the report. Exported so that test/fuzz/fuzz.test.ts runs small campaigns
// (and campaigns against a faulty runner) in the test suite.
import fc from 'fast-check';

import { STAT_NAMES } from '../../../src/codec/index.js';
import { arbProgramBatch, batchMismatch, checkBatchFrame, type Batch, type BatchFrame } from './batches.js';
import { ProgramUnderTest, type ProgramName } from './datapath.js';
import { CounterTally, DifferentialRunner } from './differential.js';
import { createFibLab, type FibLab } from './fib-lab.js';
import { MismatchError } from './report.js';

export interface Settings {
  readonly cases: number;
  readonly seed: number;
  readonly batch: number;
  readonly perCase: boolean;
  readonly programs: readonly ProgramName[];
  readonly progressSeconds: number;
  /**
   * A time budget per program (seconds): the campaign stops at --cases or when it is spent,
   * whichever comes first, in rounds of at most 256 batches (each round's seed replays it).
   */
  readonly seconds?: number;
}

export interface CampaignResult {
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

export function campaign(name: ProgramName, settings: Settings, runner: DifferentialRunner, lab: FibLab | undefined): CampaignResult {
  const tally = new CounterTally();
  const verdicts = new CounterTally();
  const arbitrary = arbProgramBatch(name, { size: settings.batch, perCase: settings.perCase, ...(lab ? { lab } : {}) });
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const spent = (): boolean => settings.seconds !== undefined && performance.now() - started >= settings.seconds * 1000;
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
      if (!failing && (cases >= settings.cases || spent())) break;
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
  for (let round = 0; cases < settings.cases && failure === undefined && !spent(); round++) {
    const perBatch = batches > 0 ? Math.max(1, cases / batches) : Math.max(1, settings.batch / 2);
    const wanted = Math.max(1, Math.ceil((settings.cases - cases) / perBatch));
    const numRuns = settings.seconds !== undefined ? Math.min(256, wanted) : wanted;
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

export function runProgram(name: ProgramName, settings: Settings): CampaignResult {
  const runner = new DifferentialRunner(ProgramUnderTest.load(name));
  let lab: FibLab | undefined;
  try {
    if (name === 'xdp_encap' || name === 'tc_encap') {
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

export function report(settings: Settings, results: readonly CampaignResult[]): string {
  const lines = [
    '',
    `burrow fuzz: seed ${settings.seed}, ${settings.cases} cases per program, ${settings.perCase ? 'fresh tables per case' : `up to ${settings.batch} frames per table`}${settings.seconds !== undefined ? `, at most ${settings.seconds} s per program` : ''}`,
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

