/**
 * Switching tunnel modes across nodes without dropping traffic. Every agentd reconciles on its
 * own, so after a manifest change the nodes switch at slightly different moments (debounce plus
 * reconcile: tens to hundreds of milliseconds apart). A node that starts sending VXLAN before its
 * peer accepts VXLAN from it loses packets; so does a node that stops accepting IPIP while a peer
 * still sends it. Hence three phases, driven by time:
 *
 *   accepting  (accept-ahead, default 1 s)  keep sending as before; peers accept old ∪ new modes
 *   grace      (default 5 s)                send the new way; peers still accept old ∪ new
 *   steady                                  the new state alone (peers narrowed)
 *
 * Only a change of the modes a peer may use starts a switch; any other change applies at once.
 * Pure apart from the clock it is given: the daemon applies `apply` and runs again after `wakeInMs`.
 */
import { withTransitionalPeers, type PeerSet } from './plan.js';

export type SwitchPhase = 'steady' | 'accepting' | 'grace';

export interface SwitchDecision<S extends PeerSet = PeerSet> {
  apply: S;
  phase: SwitchPhase;
  /** Run again after this long (the next phase boundary); undefined when steady. */
  wakeInMs: number | undefined;
}

interface Transition<S extends PeerSet> {
  /** What the datapath was sending with when the switch began. */
  sending: S;
  /** Whose peer modes stay accepted until the end of the grace period. */
  accepted: PeerSet;
  switchAt: number;
  until: number;
}

export function peerModesChanged(a: PeerSet, b: PeerSet): boolean {
  const modes = (s: PeerSet) => new Map(s.peers.map((p) => [p.address, p.modes.join(',')]));
  const before = modes(a);
  return [...modes(b)].some(([address, m]) => before.has(address) && before.get(address) !== m);
}

export class TunnelModeSwitch<S extends PeerSet = PeerSet> {
  private transition: Transition<S> | undefined;

  constructor(
    private readonly acceptAheadMs: number,
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get phase(): SwitchPhase {
    const t = this.transition;
    if (!t) return 'steady';
    return this.now() < t.switchAt ? 'accepting' : 'grace';
  }

  /** What to apply now, given the last compiled state (`previous`, if any) and the new one. */
  decide(previous: S | undefined, next: S): SwitchDecision<S> {
    const now = this.now();
    if (previous && this.acceptAheadMs + this.graceMs > 0 && peerModesChanged(previous, next)) {
      const t = this.transition;
      const sending = t && now < t.switchAt ? t.sending : previous;
      const accepted = t ? withTransitionalPeers(previous, t.accepted) : previous;
      this.transition = { sending, accepted, switchAt: now + this.acceptAheadMs, until: now + this.acceptAheadMs + this.graceMs };
    }
    const t = this.transition;
    if (!t || now >= t.until) {
      this.transition = undefined;
      return { apply: next, phase: 'steady', wakeInMs: undefined };
    }
    if (now < t.switchAt) {
      const apply = withTransitionalPeers(withTransitionalPeers(t.sending, next), t.accepted);
      return { apply, phase: 'accepting', wakeInMs: t.switchAt - now };
    }
    const apply = withTransitionalPeers(withTransitionalPeers(next, t.accepted), t.sending);
    return { apply, phase: 'grace', wakeInMs: t.until - now };
  }
}
