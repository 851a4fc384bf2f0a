// Program verdicts and their numeric return codes, and the result shape of every model program.
import { statIndex, type StatName } from './stats.js';

export type Hook = 'tc' | 'xdp';
export type Verdict = 'pass' | 'drop' | 'redirect' | 'tx';

/** linux/pkt_cls.h. */
export const TC_ACT_OK = 0;
export const TC_ACT_SHOT = 2;
export const TC_ACT_REDIRECT = 7;
/** enum xdp_action. */
export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;
export const XDP_REDIRECT = 4;

/** The return code a program at `hook` uses for `verdict`. TC has no TX. */
export function retvalOf(hook: Hook, verdict: Verdict): number {
  if (hook === 'tc') {
    switch (verdict) {
      case 'pass': return TC_ACT_OK;
      case 'drop': return TC_ACT_SHOT;
      case 'redirect': return TC_ACT_REDIRECT;
      case 'tx': throw new RangeError('TC programs have no TX verdict');
    }
  }
  switch (verdict) {
    case 'pass': return XDP_PASS;
    case 'drop': return XDP_DROP;
    case 'redirect': return XDP_REDIRECT;
    case 'tx': return XDP_TX;
  }
}

/** What one run of a program does to one frame. */
export interface DatapathResult {
  readonly verdict: Verdict;
  /** The program's return code (TC_ACT_* or XDP_*). */
  readonly retval: number;
  /** The one counter moved (by 1 packet and the input length in bytes). */
  readonly counter: StatName;
  /** Its index in the `stats` map. */
  readonly counterIndex: number;
  /** The frame after the program: a fresh copy, equal to the input unless encap/decap happened. */
  readonly output: Uint8Array;
  /**
   * Side counters moved besides `counter` (each by 1 packet and the input length): MSS_CLAMPED or
   * MSS_MALFORMED for an encapsulated SYN (docs/datapath.md "MSS clamping"). Absent: none.
   */
  readonly also?: readonly StatName[];
}

export function resultOf(hook: Hook, verdict: Verdict, counter: StatName, output: Uint8Array): DatapathResult {
  return { verdict, retval: retvalOf(hook, verdict), counter, counterIndex: statIndex(counter), output };
}
