/**
 * burrow's nft table (`ip burrow` by default), rewritten in a single nft transaction so traffic
 * never sees a half-written rule set. It holds two things:
 *
 *   forward      the tunnel guard: IPIP (protocol 4) and UDP to the VXLAN port that this node
 *                forwards — packets from workloads, never the node's own — are dropped and
 *                counted in the named counter `drop_workload_tunnel`, before postrouting could
 *                masquerade them into packets a peer trusts (docs/datapath.md, "Tunnel traffic
 *                only from nodes");
 *   postrouting  natOutgoing: masquerade.
 *
 * Each rule carries a comment that fingerprints it; comparing fingerprints is how the reconciler
 * knows nothing changed. The transaction flushes the table's rules instead of deleting the table,
 * so the guard's counter survives a rewrite; the postrouting chain is removed when there is no
 * NAT rule (a nat chain makes the kernel track every connection).
 */
import { createHash } from 'node:crypto';
import { run } from './exec.js';

/** Masquerade traffic from `sourceCidr` to any destination outside `excludeDestinations`. */
export interface NatRule {
  sourceCidr: string;
  excludeDestinations: readonly string[];
}

/** The forward-path guard: IPIP, and UDP to `vxlanPort`, forwarded by this node are dropped. */
export interface TunnelGuard {
  readonly vxlanPort: number;
}

/** The named nft counter the guard's drops go to (shown by `agentctl stats` and /metrics). */
export const GUARD_COUNTER = 'drop_workload_tunnel';

export function natRuleFingerprint(rule: NatRule): string {
  const text = `${rule.sourceCidr}|${[...rule.excludeDestinations].sort().join(',')}`;
  return `burrow-nat ${rule.sourceCidr} ${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** The guard's rules as [nft match, comment]: the comment is the fingerprint. */
function guardRules(guard: TunnelGuard): [string, string][] {
  return [
    ['ip protocol 4', 'burrow-guard ipip'],
    [`udp dport ${guard.vxlanPort}`, `burrow-guard vxlan ${guard.vxlanPort}`],
  ];
}

export function guardFingerprints(guard: TunnelGuard): string[] {
  return guardRules(guard).map(([, comment]) => comment);
}

/** Every fingerprint the table holds for these rules and this guard, sorted. */
export function nftFingerprints(rules: readonly NatRule[], guard: TunnelGuard | null): string[] {
  return [...rules.map(natRuleFingerprint), ...(guard ? guardFingerprints(guard) : [])].sort();
}

/**
 * The nft script that makes the table hold exactly `rules` and the guard (or removes the table
 * when there are neither).
 */
export function renderNatScript(table: string, rules: readonly NatRule[], guard: TunnelGuard | null = null): string {
  if (rules.length === 0 && guard === null) return `table ip ${table} {}\ndelete table ip ${table}\n`;
  const lines = [`add table ip ${table}`, `flush table ip ${table}`];
  if (guard) {
    lines.push(
      `add counter ip ${table} ${GUARD_COUNTER}`,
      `add chain ip ${table} forward { type filter hook forward priority filter; policy accept; }`,
      ...guardRules(guard).map(([match, comment]) => `add rule ip ${table} forward ${match} counter name ${GUARD_COUNTER} drop comment "${comment}"`),
    );
  } else {
    lines.push(`add chain ip ${table} forward`, `delete chain ip ${table} forward`);
  }
  lines.push(`add chain ip ${table} postrouting { type nat hook postrouting priority srcnat; policy accept; }`);
  if (rules.length === 0) lines.push(`delete chain ip ${table} postrouting`);
  for (const rule of [...rules].sort((a, b) => a.sourceCidr.localeCompare(b.sourceCidr))) {
    const excludes = [...rule.excludeDestinations].sort();
    const daddr = excludes.length > 0 ? ` ip daddr != { ${excludes.join(', ')} }` : '';
    lines.push(`add rule ip ${table} postrouting ip saddr ${rule.sourceCidr}${daddr} masquerade comment "${natRuleFingerprint(rule)}"`);
  }
  return lines.join('\n') + '\n';
}

/** Fingerprints of the rules now in the table; empty when the table does not exist. */
export async function readNatFingerprints(table: string): Promise<string[]> {
  let out: string;
  try {
    out = await run(['nft', '-j', 'list', 'table', 'ip', table]);
  } catch {
    return [];
  }
  const parsed = JSON.parse(out) as { nftables?: Array<{ rule?: { comment?: string } }> };
  return (parsed.nftables ?? [])
    .map((item) => item.rule?.comment)
    .filter((c): c is string => typeof c === 'string')
    .sort();
}

export async function applyNat(table: string, rules: readonly NatRule[], guard: TunnelGuard | null = null): Promise<void> {
  await run(['nft', '-f', '-'], { input: renderNatScript(table, rules, guard) });
}

/** The guard's counter; undefined when there is no such table or counter (nothing reconciled here). */
export async function readGuardCounter(table: string): Promise<{ packets: number; bytes: number } | undefined> {
  let out: string;
  try {
    out = await run(['nft', '-j', 'list', 'counter', 'ip', table, GUARD_COUNTER]);
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(out) as { nftables?: Array<{ counter?: { packets?: number; bytes?: number } }> };
  const counter = (parsed.nftables ?? []).find((item) => item.counter)?.counter;
  return counter ? { packets: counter.packets ?? 0, bytes: counter.bytes ?? 0 } : undefined;
}
