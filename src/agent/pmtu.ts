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
 *   routes            written and removed with `ip -batch` (proto 212, not the reconciler's 211:
 *                     its drift check leaves them alone); all removed when agentd cleans up
 */
import type { Logger } from 'pino';

import type { Engine } from '../engine/engine.js';
import type { UplinkFacts } from '../engine/derive.js';
import { run } from './exec.js';
import type { DatapathMaps } from './datapath.js';

/** The routing protocol number of path MTU routes (the pools' routes are 211). */
export const PMTU_ROUTE_PROTO = 212;
/** As the kernel's PMTU cache (net.ipv4.route.mtu_expires, 600 s). */
export const DEFAULT_PMTU_EXPIRY_MS = 600_000;
export const DEFAULT_PMTU_POLL_MS = 250;

export interface PmtuRoute {
  dst: string;
  dev?: string | undefined;
  via?: string | undefined;
  onlink?: boolean | undefined;
  mtu: number;
  src?: string | undefined;
}

export function pmtuRouteLine(r: PmtuRoute): string {
  const parts = ['route', 'replace', r.dst];
  if (r.via) parts.push('via', r.via);
  if (r.dev) parts.push('dev', r.dev);
  if (r.onlink) parts.push('onlink');
  parts.push('mtu', 'lock', String(r.mtu));
  if (r.src) parts.push('src', r.src);
  parts.push('proto', String(PMTU_ROUTE_PROTO));
  return parts.join(' ');
}

/** The destinations of the path MTU routes in this network namespace. */
export async function listPmtuRoutes(): Promise<string[]> {
  const out = await run(['ip', '-j', '-4', 'route', 'show', 'proto', String(PMTU_ROUTE_PROTO)]);
  const list = (out.trim() ? JSON.parse(out) : []) as Array<{ dst: string }>;
  return list.map((r) => (r.dst.includes('/') ? r.dst : `${r.dst}/32`));
}

/** Removes every path MTU route (cleanup). */
export async function removePmtuRoutes(): Promise<string[]> {
  const dsts = await listPmtuRoutes();
  if (dsts.length) await run(['ip', '-4', '-batch', '-'], { input: dsts.map((d) => `route del ${d} proto ${PMTU_ROUTE_PROTO}`).join('\n') + '\n' });
  return dsts;
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
    const peers = this.opts.peers();
    const learned = new Map<string, number>();
    for (const [peer, v] of maps.pmtu.entriesBatch()) {
      const expired = now - v.learned_ns > this.expiryNs;
      if (expired || !peers.has(peer)) {
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
    const want = new Map(this.opts.engine.pathMtuRoutes(learned, this.opts.uplink()).map((r) => [r.dst, pmtuRouteLine(r)]));
    const changed = key !== this.learnedKey || [...want].some(([d, l]) => this.written.get(d) !== l) || this.written.size !== want.size;
    if (!changed) return;
    const present = await listPmtuRoutes();
    const lines = [...want].filter(([d, l]) => this.written.get(d) !== l || !present.includes(d)).map(([, l]) => l);
    for (const d of present) if (!want.has(d)) lines.push(`route del ${d} proto ${PMTU_ROUTE_PROTO}`);
    if (lines.length) await run(['ip', '-4', '-batch', '-'], { input: lines.join('\n') + '\n' });
    this.written.clear();
    for (const [d, l] of want) this.written.set(d, l);
    this.learnedKey = key;
    this.opts.onChange?.(learned);
  }
}
