// Kernel features, each probed once per process by asking the kernel a question whose answer
// cannot be mistaken (docs/kernels.md, "Fallbacks"), never guessed from a failed operation. Tests
// can make a probe answer otherwise (overrideFeature) to run a fallback on a kernel that has the
// feature.
import { AttachType, MapType } from './constants.js';
import { BpfError, nativeCall } from './errors.js';
import { addon } from './native.js';

export type Feature = 'tcx' | 'xdpLink' | 'batchApi';
const overrides = new Map<Feature, boolean>();

/**
 * A yes/no question to the kernel, asked once per process: a success or the errno `yes` means yes,
 * the errno `no` means no, any other answer is an error (e.g. EPERM without CAP_BPF).
 */
function probeOnce(feature: Feature, ask: () => void, yes: string, no: string): () => boolean {
  let answer: boolean | undefined;
  return () => {
    const forced = overrides.get(feature);
    if (forced !== undefined) return forced;
    if (answer !== undefined) return answer;
    try {
      ask();
      answer = true;
    } catch (e) {
      if (!(e instanceof BpfError) || (e.code !== yes && e.code !== no)) throw e;
      answer = e.code === yes;
    }
    return answer;
  };
}

/**
 * Whether this kernel has tcx (6.6+): BPF_PROG_QUERY for a tcx attach type on ifindex 0. A kernel
 * with tcx looks for the device and answers ENODEV; one without does not know the attach type and
 * answers EINVAL.
 */
export const haveTcx = probeOnce('tcx', () => nativeCall(() => addon().progQuery(0, AttachType.tcx_ingress)), 'ENODEV', 'EINVAL');

/**
 * Whether this kernel has XDP bpf_links (5.9+): BPF_LINK_CREATE for the XDP attach type with a
 * program fd that is not open. A kernel with XDP links gets as far as the program and answers
 * EBADF; one without refuses the attach type first, EINVAL.
 */
export const haveXdpLink = probeOnce('xdpLink', () => addon().closeFd(nativeCall(() => addon().linkCreate(0x7fffffff, 0, AttachType.xdp, 0))), 'EBADF', 'EINVAL');

/**
 * Whether this kernel has the map batch commands (5.6+): BPF_MAP_LOOKUP_BATCH on a fresh, empty
 * one-entry hash map. A kernel with them answers with zero entries (or ENOENT, "nothing left");
 * one without does not know the command, EINVAL. Map types without a batch operation answer
 * ENOTSUPP on a kernel that has the commands (src/bpf/map-batch.ts).
 */
export const haveBatchApi = probeOnce('batchApi', () => {
  const n = addon();
  const fd = nativeCall(() => n.mapCreate(MapType.hash, 4, 4, 1, { name: 'burrow_probe' }));
  const h = new n.MapHandle(fd);
  try {
    nativeCall(() => h.lookupBatch(null, Buffer.alloc(8), Buffer.alloc(4), Buffer.alloc(4), 1));
  } finally {
    h.close();
  }
}, 'ENOENT', 'EINVAL');

/**
 * Makes a probe answer `answer` in this process until the returned function is called: how a
 * test on a kernel with tcx runs the clsact path as a kernel without it would (every caller of
 * haveTcx/tcAttachKind, agentd's attach included, follows the probe).
 */
export function overrideFeature(feature: Feature, answer: boolean): () => void {
  const before = overrides.get(feature);
  overrides.set(feature, answer);
  return () => {
    if (before === undefined) overrides.delete(feature);
    else overrides.set(feature, before);
  };
}
