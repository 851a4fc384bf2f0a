// xdp_encap against the reference codec, inside a throwaway network namespace whose FIB the codec
// models (harness/fib-lab.ts): generated scenarios arriving on lo, ua or ub (XDP_TX when the FIB
// sends them back out of the ingress device, XDP_REDIRECT otherwise, PASS_FIB when it has no
// answer), and the table of encapsulation rules (cases/encap-cases.ts).
import fc from 'fast-check';

import { arbEncapScenario } from '../arbitraries/index.js';
import { privileged } from '../helpers/privileged.js';
import { ENCAP_CASES } from './cases/encap-cases.js';
import { NODE, ROUTES } from './cases/world.js';
import { ProgramUnderTest } from './harness/datapath.js';
import { CounterTally, DifferentialRunner, assertAgreement } from './harness/differential.js';
import { LAB_FATES, createFibLab, labFate, type FibLab } from './harness/fib-lab.js';
import { batchProperty } from './harness/batches.js';
import { BATCH_RUNS, BATCH_SIZE, coverageExpected, describeTally, propertyRuns, propertySeed, uniqueDescriptions } from './harness/property.js';
import { runEncapCase } from './harness/table-cases.js';

let runner: DifferentialRunner;
let lab: FibLab;
privileged.before(() => {
  lab = createFibLab();
  runner = new DifferentialRunner(ProgramUnderTest.load('xdp_encap'));
});
privileged.afterAlways(() => {
  runner?.target.close();
  lab?.destroy();
});

/** Every counter xdp_encap can move in a test run (DROP_ENCAP_FAILED needs < 90 bytes of headroom). */
const REACHABLE = ['PASS', 'PASS_TUNNEL_ENDPOINT', 'ENCAP_IPIP', 'ENCAP_VXLAN', 'PASS_TOO_BIG', 'PASS_PMTU', 'PASS_FIB', 'DROP_ALREADY_ENCAP', 'MSS_CLAMPED', 'MSS_MALFORMED'];

privileged.serial(`xdp_encap equals the codec on ${propertyRuns()} generated scenarios (real FIB in a netns)`, (t) => {
  const seed = propertySeed();
  const tally = new CounterTally();
  const verdicts = new CounterTally();
  const fates = new CounterTally();
  const scenario = fc.tuple(
    arbEncapScenario({ hook: 'xdp', testRunnable: true, fib: lab.fib }),
    fc.constantFrom(...lab.ingressIfindexes),
  );
  lab.run(() => fc.assert(
    fc.property(scenario, ([s, ingressIfindex]) => {
      const outcome = runner.checkEncap(s.frame, { ...s.options, ingressIfindex });
      assertAgreement({
        program: 'xdp_encap', frame: s.frame, config: s.config, routes: s.routes, ingressIfindex,
        notes: [`scenario kind: ${s.kind}`, `lab ifindexes: ua ${lab.ifindex.ua}, ub ${lab.ifindex.ub}`],
      }, outcome);
      tally.add(outcome.model.counter);
      for (const side of outcome.model.also ?? []) tally.addSide(side);
      verdicts.add(outcome.model.verdict);
      const asked = (outcome.model as { fibQuery?: { dst: string } }).fibQuery;
      if (asked) fates.add(labFate(asked.dst));
    }),
    { numRuns: propertyRuns(), seed, includeErrorInReport: true },
  ));
  t.log(`seed ${seed}: ${describeTally(tally)}; verdicts ${[...verdicts.counts].map(([v, n]) => `${v} ${n}`).join(', ')}`);
  t.log(`FIB lookups by the lab's answer: ${[...fates.counts].map(([f, n]) => `${f} ${n}`).join(', ')}`);
  t.is(tally.total, propertyRuns(), 'every generated case ran and agreed with the codec');
  if (!coverageExpected()) return; // too few cases to insist on coverage
  for (const counter of REACHABLE) t.true(tally.counts.has(counter), `no generated case moved ${counter}`);
  for (const verdict of ['tx', 'redirect', 'pass', 'drop']) t.true(verdicts.counts.has(verdict), `no generated case ended in ${verdict}`);
  for (const fate of LAB_FATES) t.true(fates.counts.has(fate), `no generated case asked the FIB about a remote with ${fate}`);
});

privileged.serial(`xdp_encap equals the codec on ${BATCH_RUNS} generated tables with up to ${BATCH_SIZE} frames each (one in eight with map values across their C ranges)`, (t) => {
  const seed = propertySeed();
  t.log(`seed ${seed}`);
  t.notThrows(() => lab.run(() => fc.assert(batchProperty(runner, { size: BATCH_SIZE, lab }), { numRuns: BATCH_RUNS, seed, includeErrorInReport: true })));
});

for (const c of uniqueDescriptions(ENCAP_CASES.filter((row) => row.xdp))) {
  privileged.serial(`table: ${c.description} (${c.rule})`, (t) => {
    const ifindex = { lo: 1, ua: lab.ifindex.ua, ub: lab.ifindex.ub };
    const report = lab.run(() => runEncapCase(runner, c, { config: NODE, routes: ROUTES, fib: lab.fib, ifindex }));
    t.deepEqual(report.problems, [], report.problems.join('\n'));
  });
}
