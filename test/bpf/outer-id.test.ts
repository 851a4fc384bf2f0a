// The random outer IPv4 ID (docs/datapath.md, "Outer IPv4: DF and ID"): when the inner DF bit is
// clear the outer packet may be fragmented, so its ID must vary (RFC 6864), not only be non-zero.
// The differential cases take each ID as the codec's parameter and check it is not 0; here the
// same frame goes through tc_encap and xdp_encap 256 times and the IDs must be (nearly) all
// different: 256 draws from 65535 values collide about 0.5 times on average, so fewer than 240
// distinct IDs means the IDs do not vary (a constant gives 1).
import { readU16, type EncapResult } from '../../src/codec/index.js';
import { privileged } from '../helpers/privileged.js';
import { NODE, ROUTES, podTcp } from './cases/world.js';
import { ProgramUnderTest } from './harness/datapath.js';
import { DifferentialRunner, assertAgreement } from './harness/differential.js';
import { createFibLab } from './harness/fib-lab.js';

/** 64 runs where the bpf tier runs reduced (BURROW_BPF_CASES: the kernel guests under TCG); at least 48 distinct then (64 draws collide ~0.03 times on average). */
const RUNS = process.env.BURROW_BPF_CASES ? 64 : 256;
const MIN_DISTINCT = RUNS - 16;

// IPIP to 10.0.2.2 (ub in the FIB lab) and VXLAN to 10.0.1.2 (ua), inner DF clear.
const FRAMES = {
  ipip: podTcp({ dst: '10.244.3.7', df: false, id: 0x5555 }),
  vxlan: podTcp({ dst: '10.244.2.7', df: false, id: 0x5555 }),
};

for (const program of ['tc_encap', 'xdp_encap'] as const) {
  for (const [mode, frame] of Object.entries(FRAMES)) {
    privileged.serial(`${program} (${mode}, inner DF clear): the outer ID varies — at least ${MIN_DISTINCT} distinct IDs in ${RUNS} runs of one frame`, (t) => {
      const runner = new DifferentialRunner(ProgramUnderTest.load(program));
      t.teardown(() => runner.target.close());
      const lab = program === 'xdp_encap' ? createFibLab() : undefined;
      t.teardown(() => lab?.destroy());
      const ids: number[] = [];
      const runAll = (): void => {
        for (let i = 0; i < RUNS; i++) {
          const outcome = runner.checkEncap(frame, { hook: runner.target.hook, config: NODE, routes: ROUTES, ...(lab ? { fib: lab.fib, ingressIfindex: 1 } : {}) });
          assertAgreement({ program, frame, config: NODE, routes: ROUTES }, outcome);
          if (!(outcome.model as EncapResult).outerIdRandom) throw new Error(`the codec does not call this frame's outer ID random (verdict ${outcome.model.verdict})`);
          ids.push(readU16(outcome.bpf.output, 14 + 4));
        }
      };
      if (lab) lab.run(runAll);
      else runAll();
      const distinct = new Set(ids).size;
      t.log(`${distinct} distinct outer IDs in ${RUNS} runs; first ones: ${ids.slice(0, 8).map((id) => `0x${id.toString(16)}`).join(' ')}`);
      t.is(ids.length, RUNS);
      t.false(ids.includes(0), 'an outer ID of 0');
      t.true(distinct >= MIN_DISTINCT, `only ${distinct} distinct outer IDs in ${RUNS} runs: the ID does not vary`);
    });
  }
}
