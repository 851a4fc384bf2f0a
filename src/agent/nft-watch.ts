/**
 * Watching for burrow's nft table to be removed behind agentd's back (docs/operations.md, "nftables
 * reloads"): Debian's `systemctl reload nftables` runs `nft -f /etc/nftables.conf`, whose first
 * line is `flush ruleset`, and that deletes every table, `ip burrow` with its tunnel guard and
 * natOutgoing rules included. The periodic resync would notice only on its next kernel check
 * (--route-refresh, 90 s by default); this watch notices at once.
 *
 * One `nft -j monitor tables` child per agentd, in agentd's network namespace: the kernel sends it
 * a netlink message per table added or deleted, nothing else, so it costs nothing while nobody
 * touches nftables. A `delete` of our table calls `onGone` (coalesced over `debounceMs`); agentd
 * answers with a resync that includes the kernel state, which puts the table back. When the child
 * dies (nft missing, killed), it is restarted with a backoff; the periodic resync still covers
 * the gap.
 */
import type { Logger } from 'pino';

import { MonitorChild } from './monitor-child.js';

export interface NftTableWatchOptions {
  /** The table's family and name: `ip` `burrow`. */
  family: string;
  table: string;
  onGone: () => void;
  log: Logger;
  /** Coalesce a burst of events (a reload deletes and adds many tables at once); default 50 ms. */
  debounceMs?: number;
  /** First restart delay after the child exits; doubles up to maxBackoffMs. Default 1 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

interface MonitorEvent {
  delete?: { table?: { family?: string; name?: string } };
}

/** Whether one line of `nft -j monitor tables` says that `family`/`table` was deleted. */
export function isTableDeletion(line: string, family: string, table: string): boolean {
  let event: MonitorEvent;
  try {
    event = JSON.parse(line) as MonitorEvent;
  } catch {
    return false;
  }
  const t = event?.delete?.table;
  return t !== undefined && t.family === family && t.name === table;
}

export class NftTableWatch {
  private readonly child: MonitorChild;
  private pending: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Table deletions seen so far. */
  deletions = 0;

  constructor(private readonly opts: NftTableWatchOptions) {
    this.child = new MonitorChild({
      command: ['nft', '-j', 'monitor', 'tables'],
      log: opts.log,
      gap: `the ${opts.family} ${opts.table} table is watched by the periodic resync only`,
      onLine: (line) => this.onLine(line),
      ...(opts.backoffMs !== undefined ? { backoffMs: opts.backoffMs } : {}),
      ...(opts.maxBackoffMs !== undefined ? { maxBackoffMs: opts.maxBackoffMs } : {}),
    });
  }

  start(): void {
    this.child.start();
  }

  private onLine(line: string): void {
    if (!isTableDeletion(line, this.opts.family, this.opts.table)) return;
    this.deletions++;
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      if (!this.stopped) this.opts.onGone();
    }, this.opts.debounceMs ?? 50);
  }

  stop(): void {
    this.stopped = true;
    if (this.pending) clearTimeout(this.pending);
    this.child.stop();
  }
}
