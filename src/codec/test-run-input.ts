// Which frames BPF_PROG_TEST_RUN accepts (docs/datapath.md, Notation): the differential tests can
// only run the C programs on those; the model itself is defined for every byte string.
import { readU16 } from './address.js';
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6 } from './ethernet.js';
import type { Hook } from './verdict.js';

/**
 * At least 14 bytes for both hooks; for TC, kernel 6.18 also refuses (EINVAL) EtherType 0x0800
 * frames shorter than 34 bytes and 0x86dd frames shorter than 54.
 */
export function acceptedByTestRun(frame: Uint8Array, hook: Hook): boolean {
  if (frame.length < ETH_HLEN) return false;
  if (hook === 'tc') {
    const etherType = readU16(frame, 12);
    if (etherType === ETH_P_IP && frame.length < ETH_HLEN + 20) return false;
    if (etherType === ETH_P_IPV6 && frame.length < ETH_HLEN + 40) return false;
  }
  return true;
}
