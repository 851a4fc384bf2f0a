/**
 * Path MTU across the underlay (docs/datapath.md, "Path MTU"): the decap programs record in the
 * `pmtu` map the path MTU a router's ICMP frag-needed named for one of our outer packets to a
 * peer; this poller turns each entry into kernel routes that tell the inner senders, and expires it.
 *
 *   every pollMs      read `pmtu`; delete entries older than expiryMs (learned_ns, CLOCK_MONOTONIC,
 *                     the clock of bpf_ktime_get_ns and of process.hrtime) or about a node that is
 *                     no longer a peer
 *   for each entry    one route per tunnelled block of that peer, more specific than the pool's:
 *                       <block> via 169.254.1.1 dev burrow0 onlink mtu lock <path − 20 | − 50>
 *                       [src <tunnel address>] proto 212
 *                     so the kernel's forward path answers a DF inner packet too big for the path
 *                     with ICMP frag-needed naming the inner MTU, and fragments a non-DF one
 *                     before it reaches tc_encap (every outer packet then fits the path)
 *   routes            written and removed as the pools' are (kernel-routes.ts, proto 212, not the reconciler's 211:
 *                     its drift check leaves them alone); all removed when agentd cleans up
 */
import type { Logger } from 'pino';

import type { Engine } from '../engine/engine.js';
import type { UplinkFacts } from '../engine/derive.js';
import { applyKernelRoutes, listKernelRoutes, routeReplaceLine, type KernelRoute } from './kernel-routes.js';
import type { DatapathMaps } from './datapath.js';

/** The routing protocol number of path MTU routes (the pools' routes are 211). */
export const PMTU_ROUTE_PROTO = 212;
/** As the kernel's PMTU cache (net.ipv4.route.mtu_expires, 600 s). */
export const DEFAULT_PMTU_EXPIRY_MS = 600_000;
export const DEFAULT_PMTU_POLL_MS = 250;

/** Removes every path MTU route (cleanup); returns their destinations. */
export async function removePmtuRoutes(): Promise<string[]> {
  const routes = await listKernelRoutes(PMTU_ROUTE_PROTO);
  await applyKernelRoutes([], routes, PMTU_ROUTE_PROTO);
  return routes.map((r) => r.dst);
}

export interface PmtuPollerOptions {
  maps: () => DatapathMaps | undefined;
  engine: Engine;
  uplink: () => UplinkFacts | undefined;
  /** Peers now (the derived ones): an entry about anyone else is removed. */
  peers: () => ReadonlySet<string>;
  log: Logger;
  expiryMs?: number;
  pollMs?: number;
  /** Called after each change of the learned set, with it (metrics, tests). */
  onChange?: (learned: ReadonlyMap<string, number>) => void;
}

export class PmtuPoller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** The route lines last written, by destination. */
  private readonly written = new Map<string, string>();
  private learnedKey = '';
  private readonly expiryNs: bigint;

  constructor(private readonly opts: PmtuPollerOptions) {
    this.expiryNs = BigInt(Math.round((opts.expiryMs ?? DEFAULT_PMTU_EXPIRY_MS) * 1e6));
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.poll()
        .catch((e: unknown) => this.opts.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'path MTU poll failed; retrying'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.opts.pollMs ?? DEFAULT_PMTU_POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One round: expire, then make the routes match the entries left. */
  async poll(): Promise<void> {
    const maps = this.opts.maps();
    if (!maps) return;
    const now = process.hrtime.bigint();
    const entries = maps.pmtu.entriesBatch();
    // The peer set only when something was learned (nearly every poll reads an empty map).
    const peers = entries.length > 0 ? this.opts.peers() : undefined;
    const learned = new Map<string, number>();
    for (const [peer, v] of entries) {
      const expired = now - v.learned_ns > this.expiryNs;
      if (expired || !peers!.has(peer)) {
        maps.pmtu.delete(peer);
        this.opts.log.info({ peer, mtu: v.mtu, reason: expired ? 'expired' : 'no longer a peer' }, 'path MTU forgotten');
        continue;
      }
      learned.set(peer, v.mtu);
    }
    const key = JSON.stringify([...learned].sort());
    if (key !== this.learnedKey) {
      for (const [peer, mtu] of learned) this.opts.log.info({ peer, mtu }, 'path MTU learned');
    }
    const routes = new Map(this.opts.engine.pathMtuRoutes(learned, this.opts.uplink()).map((r) => [r.dst, r]));
    const want = new Map([...routes].map(([d, r]) => [d, routeReplaceLine(r, PMTU_ROUTE_PROTO)]));
    const changed = key !== this.learnedKey || [...want].some(([d, l]) => this.written.get(d) !== l) || this.written.size !== want.size;
    if (!changed) return;
    const present = await listKernelRoutes(PMTU_ROUTE_PROTO);
    const presentDsts = new Set(present.map((r) => r.dst));
    const replace: KernelRoute[] = [...routes].filter(([d]) => this.written.get(d) !== want.get(d) || !presentDsts.has(d)).map(([, r]) => r);
    await applyKernelRoutes(replace, present.filter((r) => !want.has(r.dst)), PMTU_ROUTE_PROTO);
    this.written.clear();
    for (const [d, l] of want) this.written.set(d, l);
    this.learnedKey = key;
    this.opts.onChange?.(learned);
  }
}
