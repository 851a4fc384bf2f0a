// The tests tc_decap and xdp_decap share (same rules, same counters; only the return codes
// differ): generated scenarios against the codec, and the table of decapsulation rules.
import fc from 'fast-check';

import { arbDecapScenario } from '../arbitraries/index.js';
import { privileged } from '../helpers/privileged.js';
import { DECAP_CASES } from './cases/decap-cases.js';
import { DECAP_ROUTES, NODE, PEERS } from './cases/world.js';
import { ProgramUnderTest, hookOf } from './harness/datapath.js';
import { CounterTally, DifferentialRunner, assertAgreement } from './harness/differential.js';
import { batchProperty } from './harness/batches.js';
import { BATCH_RUNS, BATCH_SIZE, coverageExpected, describeTally, propertyRuns, propertySeed, uniqueDescriptions } from './harness/property.js';
import { runDecapCase } from './harness/table-cases.js';

/** Every counter a decap program can move in a test run (adjust failures cannot happen there). */
const REACHABLE = [
  'PASS', 'PASS_FRAGMENT', 'DECAP_IPIP', 'DECAP_VXLAN', 'DROP_UNKNOWN_PEER', 'DROP_BAD_VNI', 'DROP_MALFORMED',
  'DROP_ECN', 'DROP_TTL', 'DROP_SPOOFED', 'DROP_OUTSIDE_POOL', 'PMTU_LEARNED', 'DROP_PMTU_FORGED', 'DROP_PMTU_TOO_SMALL',
];

export function decapSuite(name: 'tc_decap' | 'xdp_decap'): void {
  const hook = hookOf(name);
  let runner: DifferentialRunner;
  privileged.before(() => {
    runner = new DifferentialRunner(ProgramUnderTest.load(name));
  });
  privileged.afterAlways(() => runner?.target.close());

  privileged.serial(`${name} equals the codec on ${propertyRuns()} generated scenarios`, (t) => {
    const seed = propertySeed();
    const tally = new CounterTally();
    fc.assert(
      fc.property(arbDecapScenario({ hook, testRunnable: true }), (s) => {
        const outcome = runner.checkDecap(s.frame, s.options);
        assertAgreement({ program: name, frame: s.frame, config: s.config, peers: s.peers, routes: s.routes, notes: [`scenario kind: ${s.kind}`] }, outcome);
        tally.add(outcome.model.counter);
      }),
      { numRuns: propertyRuns(), seed, includeErrorInReport: true },
    );
    t.log(`seed ${seed}: ${describeTally(tally)}`);
    t.is(tally.total, propertyRuns(), 'every generated case ran and agreed with the codec');
    if (!coverageExpected()) return; // too few cases to insist on coverage
    for (const counter of REACHABLE) t.true(tally.counts.has(counter), `no generated case moved ${counter}`);
  });

  privileged.serial(`${name} equals the codec on ${BATCH_RUNS} generated tables with up to ${BATCH_SIZE} frames each (one in eight with map values across their C ranges)`, (t) => {
    const seed = propertySeed();
    t.log(`seed ${seed}`);
    t.notThrows(() => fc.assert(batchProperty(runner, { size: BATCH_SIZE }), { numRuns: BATCH_RUNS, seed, includeErrorInReport: true }));
  });

  for (const c of uniqueDescriptions(DECAP_CASES)) {
    privileged.serial(`table: ${c.description} (${c.rule})`, (t) => {
      const report = runDecapCase(runner, c, { config: NODE, peers: PEERS, routes: DECAP_ROUTES });
      if (!report.ranProgram) t.log(`BPF_PROG_TEST_RUN refuses this frame at ${hook === 'tc' ? 'TC' : 'XDP'}: checked against the codec only`);
      t.deepEqual(report.problems, [], report.problems.join('\n'));
    });
  }
}
