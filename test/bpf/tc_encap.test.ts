// tc_encap against the reference codec: generated scenarios through BPF_PROG_TEST_RUN (fast-check)
// and the table of encapsulation rules (cases/encap-cases.ts), inside the FIB lab's namespace
// (harness/fib-lab.ts), whose FIB the codec models for configs with UPLINK_FIB (step 8b).
import fc from 'fast-check';

import { arbEncapScenario } from '../arbitraries/index.js';
import { privileged } from '../helpers/privileged.js';
import { ENCAP_CASES } from './cases/encap-cases.js';
import { NODE, ROUTES } from './cases/world.js';
import { ProgramUnderTest } from './harness/datapath.js';
import { CounterTally, DifferentialRunner, assertAgreement } from './harness/differential.js';
import { batchProperty } from './harness/batches.js';
import { createFibLab, type FibLab } from './harness/fib-lab.js';
import { BATCH_RUNS, BATCH_SIZE, coverageExpected, describeTally, propertyRuns, propertySeed, uniqueDescriptions } from './harness/property.js';
import { runEncapCase } from './harness/table-cases.js';

let runner: DifferentialRunner;
let lab: FibLab;
privileged.before(() => {
  lab = createFibLab();
  runner = new DifferentialRunner(ProgramUnderTest.load('tc_encap'));
});
privileged.afterAlways(() => {
  runner?.target.close();
  lab?.destroy();
});

/** Every counter tc_encap can move in a test run (DROP_ENCAP_FAILED needs a frame over 64 KiB). */
const REACHABLE = ['PASS', 'PASS_TUNNEL_ENDPOINT', 'ENCAP_IPIP', 'ENCAP_VXLAN', 'DROP_NO_ROUTE', 'DROP_TOO_BIG', 'DROP_ALREADY_ENCAP', 'MSS_CLAMPED', 'MSS_MALFORMED'];

privileged.serial(`tc_encap equals the codec on ${propertyRuns()} generated scenarios`, (t) => {
  const seed = propertySeed();
  const tally = new CounterTally();
  lab.run(() => fc.assert(
    fc.property(arbEncapScenario({ hook: 'tc', testRunnable: true, fib: lab.fib }), (s) => {
      const outcome = runner.checkEncap(s.frame, s.options);
      assertAgreement({ program: 'tc_encap', frame: s.frame, config: s.config, routes: s.routes, notes: [`scenario kind: ${s.kind}`] }, outcome);
      tally.add(outcome.model.counter);
      for (const side of outcome.model.also ?? []) tally.addSide(side);
    }),
    { numRuns: propertyRuns(), seed, includeErrorInReport: true },
  ));
  t.log(`seed ${seed}: ${describeTally(tally)}`);
  t.is(tally.total, propertyRuns(), 'every generated case ran and agreed with the codec');
  if (!coverageExpected()) return; // too few cases to insist on coverage
  for (const counter of REACHABLE) t.true(tally.counts.has(counter), `no generated case moved ${counter}`);
});

privileged.serial(`tc_encap equals the codec on ${BATCH_RUNS} generated tables with up to ${BATCH_SIZE} frames each (one in eight with map values across their C ranges)`, (t) => {
  const seed = propertySeed();
  t.log(`seed ${seed}`);
  t.notThrows(() => lab.run(() => fc.assert(batchProperty(runner, { size: BATCH_SIZE, lab }), { numRuns: BATCH_RUNS, seed, includeErrorInReport: true })));
});

for (const c of uniqueDescriptions(ENCAP_CASES.filter((row) => row.tc))) {
  privileged.serial(`table: ${c.description} (${c.rule})`, (t) => {
    const report = lab.run(() => runEncapCase(runner, c, { config: NODE, routes: ROUTES, fib: lab.fib }));
    if (!report.ranProgram) t.log('BPF_PROG_TEST_RUN refuses this frame at TC: checked against the codec only');
    t.deepEqual(report.problems, [], report.problems.join('\n'));
  });
}
