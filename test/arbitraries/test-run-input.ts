// Which frames BPF_PROG_TEST_RUN accepts (docs/datapath.md, Notation): the differential tests can
// only run the C programs on those; the model itself is defined for every byte string.
import { readU16 } from '../../src/codec/address.js';
import { XDP_PACKET_HEADROOM } from '../../src/codec/encap.js';
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6 } from '../../src/codec/ethernet.js';
import type { Hook } from '../../src/codec/verdict.js';

// The long end, kernel 6.18 x86_64 (4 KiB pages), measured with Program.run on build/bpf/noop.bpf.o
// (test/bpf/test-run-limits.test.ts keeps checking it). Both test runs put the frame in one page,
// after their headroom and before the skb_shared_info at its end:
// SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) = 320 bytes.
const PAGE_SIZE = 4096;
const SKB_SHARED_INFO_SIZE = 320;
/** The headroom before a TC test run's frame: NET_SKB_PAD (64) + NET_IP_ALIGN (0 on x86). */
const TC_TEST_RUN_HEADROOM = 64;

/**
 * The longest frame an XDP test run keeps linear: PAGE_SIZE − XDP_PACKET_HEADROOM −
 * skb_shared_info = 3520 (net/bpf/test_run.c, bpf_prog_test_run_xdp: max_data_sz). Longer frames
 * are accepted, but the rest goes into fragments that a program without xdp.frags never sees
 * (data_end stops at 3520), so its view and the codec's differ for no fault of either.
 */
export const XDP_TEST_RUN_LINEAR_MAX = PAGE_SIZE - XDP_PACKET_HEADROOM - SKB_SHARED_INFO_SIZE;

/**
 * The longest frame a TC test run takes: PAGE_SIZE − its headroom − skb_shared_info = 3712
 * (net/bpf/test_run.c, bpf_test_init); longer ones fail with EINVAL.
 */
export const TC_TEST_RUN_MAX = PAGE_SIZE - TC_TEST_RUN_HEADROOM - SKB_SHARED_INFO_SIZE;

/**
 * Whether a test run of a `hook` program takes `frame` whole, so that the program's answer can
 * be compared with the codec's. The short end: at least 14 bytes for both hooks; for TC, kernel
 * 6.18 also refuses (EINVAL) EtherType 0x0800 frames shorter than 34 bytes and 0x86dd frames
 * shorter than 54. The long end: TC_TEST_RUN_MAX (refused beyond), XDP_TEST_RUN_LINEAR_MAX (the
 * program would see only part of a longer frame).
 */
export function acceptedByTestRun(frame: Uint8Array, hook: Hook): boolean {
  if (frame.length < ETH_HLEN) return false;
  if (hook === 'xdp') return frame.length <= XDP_TEST_RUN_LINEAR_MAX;
  if (frame.length > TC_TEST_RUN_MAX) return false;
  const etherType = readU16(frame, 12);
  if (etherType === ETH_P_IP && frame.length < ETH_HLEN + 20) return false;
  if (etherType === ETH_P_IPV6 && frame.length < ETH_HLEN + 40) return false;
  return true;
}
