/**
 * Where the store keeps the diagnostics it currently has, by owner (a record, a source's part,
 * the pool phase) and channel (own rules, duplicates, block checks…), with running counts: "is
 * the model valid" is a counter, not a scan. Listing them (only when someone asks: the error
 * path, logs, `agentctl status`) walks the owners that have any.
 */
import type { ConfigDiagnostic } from '../config/diagnostics.js';

export class DiagnosticBook {
  private readonly byOwner = new Map<object, Map<string, readonly ConfigDiagnostic[]>>();
  private errorCount = 0;
  private warningCount = 0;

  get errors(): number {
    return this.errorCount;
  }

  get warnings(): number {
    return this.warningCount;
  }

  set(owner: object, diagnostics: readonly ConfigDiagnostic[], channel = ''): void {
    let channels = this.byOwner.get(owner);
    const before = channels?.get(channel);
    if (before) this.count(before, -1);
    if (diagnostics.length === 0) {
      if (channels) {
        channels.delete(channel);
        if (channels.size === 0) this.byOwner.delete(owner);
      }
      return;
    }
    if (!channels) this.byOwner.set(owner, (channels = new Map()));
    channels.set(channel, diagnostics);
    this.count(diagnostics, +1);
  }

  /** Drops one channel of the owner, or all of them. */
  clear(owner: object, channel?: string): void {
    const channels = this.byOwner.get(owner);
    if (!channels) return;
    if (channel !== undefined) {
      this.set(owner, [], channel);
      return;
    }
    for (const ds of channels.values()) this.count(ds, -1);
    this.byOwner.delete(owner);
  }

  *all(): Generator<ConfigDiagnostic> {
    for (const channels of this.byOwner.values()) for (const ds of channels.values()) yield* ds;
  }

  private count(ds: readonly ConfigDiagnostic[], sign: number): void {
    for (const d of ds) {
      if (d.severity === 'error') this.errorCount += sign;
      else this.warningCount += sign;
    }
  }
}
