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
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { Logger } from 'pino';

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
  private child: ChildProcess | undefined;
  private stopped = false;
  private restart: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  private backoff: number;
  /** Table deletions seen so far. */
  deletions = 0;

  constructor(private readonly opts: NftTableWatchOptions) {
    this.backoff = opts.backoffMs ?? 1000;
  }

  start(): void {
    if (this.stopped || this.child) return;
    const child = spawn('nft', ['-j', 'monitor', 'tables'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    const started = Date.now();
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => (stderr = (stderr + s).slice(-500)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!isTableDeletion(line, this.opts.family, this.opts.table)) return;
      this.deletions++;
      if (this.pending) return;
      this.pending = setTimeout(() => {
        this.pending = undefined;
        if (!this.stopped) this.opts.onGone();
      }, this.opts.debounceMs ?? 50);
    });
    const onEnd = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopped) return;
      if (Date.now() - started > 60_000) this.backoff = this.opts.backoffMs ?? 1000; // it ran a while: start over
      this.opts.log.warn({ why, stderr: stderr.trim() || undefined, retryInMs: this.backoff }, `nft monitor stopped; the ${this.opts.family} ${this.opts.table} table is watched by the periodic resync only until it restarts`);
      this.restart = setTimeout(() => {
        this.restart = undefined;
        this.start();
      }, this.backoff);
      this.restart.unref();
      this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 60_000);
    };
    child.on('error', (e) => onEnd(e.message));
    child.on('exit', (code, signal) => onEnd(`exit ${code ?? signal}`));
  }

  stop(): void {
    this.stopped = true;
    if (this.restart) clearTimeout(this.restart);
    if (this.pending) clearTimeout(this.pending);
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
}
