// The codec's model of which frames a test run takes whole (acceptedByTestRun, TC_TEST_RUN_MAX,
// XDP_TEST_RUN_LINEAR_MAX), against the running kernel: build/bpf/noop.bpf.o, whose programs
// only return, run on frames around each limit. TC: refused (EINVAL) or not. XDP: the xdp_md
// copied back says how much of the frame the program saw (data_end); longer frames are taken,
// the rest in fragments it does not see.
import path from 'node:path';

import { Collection } from '../../src/bpf/index.js';
import { TC_TEST_RUN_MAX, XDP_TEST_RUN_LINEAR_MAX, acceptedByTestRun } from '../arbitraries/test-run-input.js';
import { repoRoot } from '../helpers/paths.js';
import { privileged } from '../helpers/privileged.js';

let noop: Collection;
privileged.before(() => {
  noop = Collection.load(path.join(repoRoot, 'build/bpf/noop.bpf.o'));
});
privileged.afterAlways(() => noop?.close());

/** `length` bytes of EtherType `etherType`, an IPv4 version/IHL byte after it. */
function frame(length: number, etherType: number): Uint8Array {
  const f = new Uint8Array(length);
  f[12] = etherType >> 8;
  f[13] = etherType & 0xff;
  if (length > 14) f[14] = 0x45;
  return f;
}

const ETHER_TYPES = [0x0800, 0x86dd, 0x0806];

privileged('tc: the test run takes exactly the frames acceptedByTestRun says, at both ends', (t) => {
  const lengths = [0, 13, 14, 33, 34, 53, 54, TC_TEST_RUN_MAX - 1, TC_TEST_RUN_MAX, TC_TEST_RUN_MAX + 1, 4096, 9000];
  for (const etherType of ETHER_TYPES) {
    for (const length of lengths) {
      const f = frame(length, etherType);
      let taken = true;
      try {
        noop.program('tc_noop').run({ data: f, dataOutSize: length + 64 });
      } catch (e) {
        if (!/EINVAL/.test(String(e))) throw e;
        taken = false;
      }
      t.is(taken, acceptedByTestRun(f, 'tc'), `EtherType 0x${etherType.toString(16)}, ${length} bytes`);
    }
  }
});

privileged('xdp: the program sees the whole frame exactly when acceptedByTestRun says so', (t) => {
  const lengths = [13, 14, 34, XDP_TEST_RUN_LINEAR_MAX - 1, XDP_TEST_RUN_LINEAR_MAX, XDP_TEST_RUN_LINEAR_MAX + 1, TC_TEST_RUN_MAX + 1, 9000];
  for (const etherType of ETHER_TYPES) {
    for (const length of lengths) {
      const f = frame(length, etherType);
      // struct xdp_md: data 0, data_end = the frame length (the kernel insists), the rest 0.
      const md = Buffer.alloc(24);
      md.writeUInt32LE(length, 4);
      let seen: number | undefined;
      try {
        const r = noop.program('xdp_noop').run({ data: f, dataOutSize: length + 64, ctx: md, ctxOutSize: md.length });
        t.is(r.data.length, length, 'the whole frame comes back, fragments included');
        seen = r.ctx?.readUInt32LE(4);
      } catch (e) {
        if (!/EINVAL/.test(String(e))) throw e;
      }
      t.is(seen === length, acceptedByTestRun(f, 'xdp'), `EtherType 0x${etherType.toString(16)}, ${length} bytes: the program saw ${seen ?? 'nothing (EINVAL)'}`);
      if (length > XDP_TEST_RUN_LINEAR_MAX) t.is(seen, XDP_TEST_RUN_LINEAR_MAX, `${length} bytes: linear part`);
    }
  }
});
