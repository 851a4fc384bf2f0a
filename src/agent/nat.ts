/**
 * natOutgoing in nftables: one table (`ip burrow` by default) replaced atomically in a single
 * nft transaction, so traffic never sees a half-written rule set. Each rule carries a comment that
 * fingerprints it; comparing fingerprints is how the reconciler knows nothing changed.
 */
import { createHash } from 'node:crypto';
import { run } from './exec.js';

/** Masquerade traffic from `sourceCidr` to any destination outside `excludeDestinations`. */
export interface NatRule {
  sourceCidr: string;
  excludeDestinations: readonly string[];
}

export function natRuleFingerprint(rule: NatRule): string {
  const text = `${rule.sourceCidr}|${[...rule.excludeDestinations].sort().join(',')}`;
  return `burrow-nat ${rule.sourceCidr} ${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** The nft script that makes the table hold exactly `rules` (or removes it when there are none). */
export function renderNatScript(table: string, rules: readonly NatRule[]): string {
  const lines = [`table ip ${table} {}`, `delete table ip ${table}`];
  if (rules.length > 0) {
    lines.push(`table ip ${table} {`, '  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;');
    for (const rule of [...rules].sort((a, b) => a.sourceCidr.localeCompare(b.sourceCidr))) {
      const excludes = [...rule.excludeDestinations].sort();
      const daddr = excludes.length > 0 ? ` ip daddr != { ${excludes.join(', ')} }` : '';
      lines.push(`    ip saddr ${rule.sourceCidr}${daddr} masquerade comment "${natRuleFingerprint(rule)}"`);
    }
    lines.push('  }', '}');
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

export async function applyNat(table: string, rules: readonly NatRule[]): Promise<void> {
  await run(['nft', '-f', '-'], { input: renderNatScript(table, rules) });
}
