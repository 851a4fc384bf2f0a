// ECN at decapsulation: the RFC 6040 §4.2 table, as docs/datapath.md step 14 states it.
import { ECN_CE, ECN_ECT0, ECN_ECT1, ECN_NOT_ECT } from './ipv4.js';

export type EcnDecapDecision =
  | { readonly action: 'drop' }
  | { readonly action: 'forward'; readonly innerEcn: number };

/**
 * outer CE: inner Not-ECT → drop, otherwise inner becomes CE;
 * outer ECT(1) on inner ECT(0) → inner becomes ECT(1); everything else leaves the inner as is.
 *
 *                 outer Not-ECT  ECT(0)   ECT(1)   CE
 *   inner Not-ECT   Not-ECT      Not-ECT  Not-ECT  drop
 *   inner ECT(0)    ECT(0)       ECT(0)   ECT(1)   CE
 *   inner ECT(1)    ECT(1)       ECT(1)   ECT(1)   CE
 *   inner CE        CE           CE       CE       CE
 */
export function decapEcn(outerEcn: number, innerEcn: number): EcnDecapDecision {
  const outer = outerEcn & 3;
  const inner = innerEcn & 3;
  if (outer === ECN_CE) {
    return inner === ECN_NOT_ECT ? { action: 'drop' } : { action: 'forward', innerEcn: ECN_CE };
  }
  if (outer === ECN_ECT1 && inner === ECN_ECT0) return { action: 'forward', innerEcn: ECN_ECT1 };
  return { action: 'forward', innerEcn: inner };
}
