// The fuzz campaign in the test suite: a small campaign through its command line (fixed seed,
// seconds), the same seed giving the same campaign, the ledger's counter check (a counter moved
// that no case accounts for; a case whose counter moved twice), and the replay with full counter
// readings that names the frame behind a mismatch — against runners with a planted fault (an
// extra BPF_PROG_TEST_RUN the cases do not know about: real counter moves in the kernel).
// It lives beside test/bpf, not in it: the kernel guests' `bpf` tier runs the differential
// properties on each kernel, while this checks the harness's own logic (test/bpf/README.md).
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import type { EncapOptions } from '../../src/codec/index.js';
import { repoRoot } from '../helpers/paths.js';
import { privileged } from '../helpers/privileged.js';
import { NODE, ROUTES, podTcp } from '../bpf/cases/world.js';
import { campaign, report, type Settings } from '../bpf/harness/campaign.js';
import { ProgramUnderTest, type ProgramName } from '../bpf/harness/datapath.js';
import { DifferentialRunner, type CaseOutcome, type CounterCheck } from '../bpf/harness/differential.js';
import { createFibLab } from '../bpf/harness/fib-lab.js';

const settings = (program: ProgramName, cases: number, seed: number): Settings =>
  ({ cases, seed, batch: 64, perCase: false, programs: [program], progressSeconds: 0 });

/** A runner that calls `fault` before every encap case, knowing the counter check in force. */
class FaultyRunner extends DifferentialRunner {
  mode: CounterCheck = 'every-case';
  calls = 0;

  constructor(target: ProgramUnderTest, private readonly fault: (runner: FaultyRunner, frame: Uint8Array) => void) {
    super(target);
  }

  override setCounterCheck(mode: CounterCheck): void {
    this.mode = mode;
    super.setCounterCheck(mode);
  }

  override checkEncap(frame: Uint8Array, options: EncapOptions): CaseOutcome {
    this.calls++;
    this.fault(this, frame);
    return super.checkEncap(frame, options);
  }
}

/** An ARP frame: every encap program passes it (PASS). */
const ARP = Uint8Array.from([...new Array(12).fill(0x02), 0x08, 0x06, ...new Array(28).fill(0)]);

/** Cases per program of the small campaign. */
const SMALL = 1500;

privileged.serial(`fuzz command line: a ${SMALL}-case campaign per program (seed 42) exits 0 and reports 0 mismatches for all four`, (t) => {
  const out = execFileSync(process.execPath, [path.join(repoRoot, 'dist/test/bpf/fuzz.js'), '--cases', String(SMALL), '--seed', '42', '--progress', '0'], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000,
  });
  t.log(out.split('\n').slice(0, 9).join('\n'));
  t.regex(out, new RegExp(`burrow fuzz: seed 42, ${SMALL} cases per program`));
  for (const program of ['tc_encap', 'xdp_encap', 'tc_decap', 'xdp_decap']) {
    const row = new RegExp(`^${program}\\s+(\\d+)\\s+(\\d+)\\s`, 'm').exec(out);
    t.truthy(row, `no report row for ${program}`);
    t.is(row?.[1], String(SMALL), `${program}: cases`);
    t.is(row?.[2], '0', `${program}: mismatches`);
    t.regex(out, new RegExp(`${program} counters:\\n(  \\w+ +\\d+ +[\\d.]+%\\n)+  verdicts: `), `${program}: counter distribution`);
  }
  t.notRegex(out, /MISMATCH/);
});

privileged.serial('fuzz: the same seed replays the same campaign (tables, map writes, counters and verdicts)', (t) => {
  const runs = [1, 2].map(() => {
    const runner = new DifferentialRunner(ProgramUnderTest.load('tc_decap'));
    try {
      const r = campaign('tc_decap', settings('tc_decap', 1200, 7), runner, undefined);
      return { cases: r.cases, batches: r.batches, mapWrites: r.mapWrites, counters: r.tally.entries(), verdicts: [...r.verdicts.counts], failure: r.failure };
    } finally {
      runner.target.close();
    }
  });
  t.is(runs[0]?.failure, undefined);
  t.is(runs[0]?.cases, 1200);
  t.true((runs[0]?.counters.length ?? 0) > 3, 'the campaign moved several counters');
  t.deepEqual(runs[1], runs[0]);
});

privileged.serial('ledger: a counter moved outside the cases is named at the checkpoint; a case whose counter moved twice is a problem', (t) => {
  const runner = new DifferentialRunner(ProgramUnderTest.load('tc_encap'));
  t.teardown(() => runner.target.close());
  const options: EncapOptions = { hook: 'tc', config: NODE, routes: ROUTES };
  const frame = podTcp({ dst: '10.244.3.7' }); // ENCAP_IPIP
  runner.setCounterCheck('ledger');
  t.deepEqual(runner.checkEncap(frame, options).problems, []);
  t.deepEqual(runner.checkpoint(), [], 'every move accounted for');
  runner.target.runRaw(ARP); // PASS +1, no case knows
  t.deepEqual(runner.checkEncap(frame, options).problems, [], 'the case reads only its own counter');
  t.deepEqual(runner.checkpoint(), [{ counter: 'PASS', packets: 1, bytes: ARP.length }]);
  t.deepEqual(runner.checkpoint(), [], 'the ledger restarts from the reading');
  runner.target.runRaw(frame); // ENCAP_IPIP +1 before the case
  const twice = runner.checkEncap(frame, options).problems;
  t.deepEqual(twice, [`counters: bpf moved ENCAP_IPIP +2 packet(s) +${2 * frame.length} bytes; codec expects exactly ENCAP_IPIP +1 packet +${frame.length} bytes`]);
  t.deepEqual(runner.checkpoint(), []);
});

privileged.serial('fuzz: a fault on some frames stops the campaign; the replay names the frame and the failing seed replays it', (t) => {
  // Every frame of a length divisible by 5 runs twice: its counter moves by 2 (every time).
  const fault = (r: FaultyRunner, frame: Uint8Array): void => {
    if (frame.length % 5 === 0) r.target.runRaw(frame);
  };
  const run = (seed: number) => {
    const runner = new FaultyRunner(ProgramUnderTest.load('tc_encap'), fault);
    const lab = createFibLab(); // tc_encap asks the FIB for configs with UPLINK_FIB
    try {
      return lab.run(() => campaign('tc_encap', settings('tc_encap', 20_000, seed), runner, lab));
    } finally {
      runner.target.close();
      lab.destroy();
    }
  };
  const first = run(11);
  t.truthy(first.failure, 'the campaign found the fault');
  t.true(first.cases < 20_000, 'the campaign stopped at the mismatch');
  t.regex(first.failure ?? '', /tc_encap and the codec disagree:\n {2}- counters: bpf moved \w+ \+2 packet\(s\)/);
  t.regex(first.failure ?? '', /input frame \(hex\): ([0-9a-f]{2})+/);
  const hex = /input frame \(hex\): ([0-9a-f]+)/.exec(first.failure ?? '')?.[1] ?? '';
  t.is((hex.length / 2) % 5, 0, 'the frame named is one the fault hits');
  const text = report(settings('tc_encap', 20_000, 11), [first]);
  t.regex(text, new RegExp(`MISMATCH in tc_encap \\(replay: npm run fuzz -- --program tc_encap --seed ${first.failingSeed} --batch 64\\)`));
  const again = run(first.failingSeed ?? 0);
  t.truthy(again.failure, 'the printed seed replays the failure');
  t.is(again.failingSeed, first.failingSeed, 'in its first round');
  t.is(/input frame \(hex\): ([0-9a-f]+)/.exec(again.failure ?? '')?.[1], hex, 'on the same (shrunk) frame');
});

privileged.serial('fuzz: a counter moved between cases (only while the ledger is in force) is reported as not reproducible case by case', (t) => {
  const runner = new FaultyRunner(ProgramUnderTest.load('tc_encap'), (r) => {
    if (r.mode === 'ledger' && r.calls === 300) r.target.runRaw(ARP);
  });
  t.teardown(() => runner.target.close());
  const lab = createFibLab(); // tc_encap asks the FIB for configs with UPLINK_FIB
  t.teardown(() => lab.destroy());
  const result = lab.run(() => campaign('tc_encap', settings('tc_encap', 5000, 3), runner, lab));
  t.truthy(result.failure, 'the stray move was found');
  t.regex(result.failure ?? '', /but no single case reproduces it when replayed with full counter readings/);
  t.true(result.cases < 5000);
});

privileged.serial('fuzz command line: --seconds bounds a campaign whose --cases it cannot reach', (t) => {
  const out = execFileSync(process.execPath, [path.join(repoRoot, 'dist/test/bpf/fuzz.js'), '--program', 'tc_decap', '--cases', '1000000000', '--seconds', '1', '--seed', '9', '--progress', '0'], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000,
  });
  t.regex(out, /1000000000 cases per program, up to 64 frames per table, at most 1 s per program/);
  const row = /^tc_decap\s+(\d+)\s+0\s/m.exec(out);
  t.truthy(row, out);
  t.true(Number(row?.[1]) > 0 && Number(row?.[1]) < 1e9, `cases done: ${row?.[1]}`);
});
