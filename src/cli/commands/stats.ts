import { Command } from 'commander';
import { z } from 'zod';

import { openDatapathMaps } from '../../agent/datapath.js';
import { burrowStatNames } from '../../bpf/index.js';
import { GUARD_COUNTER, readGuardCounter } from '../../agent/nat.js';
import { DEFAULT_NAT_TABLE } from '../../agent/reconcile.js';
import { globalOptions, outputOption, parseOptions } from '../options.js';
import { renderJson } from '../output.js';
import { countersTable, readCounters } from '../views.js';

const statsOptions = z.strictObject({
  ...globalOptions,
  output: outputOption,
  all: z.boolean().default(false),
  perCpu: z.boolean().default(false),
});

/** The counter groups `agentctl stats --help` lists, each counter in the first group whose test it passes. */
const COUNTER_GROUPS: ReadonlyArray<{ title: string; has: (name: string) => boolean }> = [
  { title: 'tunnelled (verdict)', has: (n) => n.startsWith('encap_') || n.startsWith('decap_') },
  { title: 'path MTU (verdict; docs/datapath.md "Path MTU")', has: (n) => n.includes('pmtu') },
  { title: 'left to the stack (verdict)', has: (n) => n.startsWith('pass') },
  { title: 'dropped (verdict)', has: (n) => n.startsWith('drop_') },
  { title: 'MSS clamp (side counters, besides encap_*)', has: (n) => n.startsWith('mss_') },
  { title: 'other', has: () => true },
];

/** Every counter of enum burrow_stat, grouped, one line per group (burrowStatNames' order within it). */
export function counterGroupsHelp(names: readonly string[] = burrowStatNames): string {
  const groups = COUNTER_GROUPS.map((g) => ({ title: g.title, names: [] as string[] }));
  for (const n of names) groups[COUNTER_GROUPS.findIndex((g) => g.has(n))]!.names.push(n);
  const wrap = (list: string[]): string => {
    const lines: string[] = [];
    for (const n of list) {
      const last = lines.length - 1;
      if (last >= 0 && lines[last]!.length + n.length + 2 <= 88) lines[last] += `, ${n}`;
      else lines.push(n);
    }
    return lines.map((l, i) => `    ${l}${i < lines.length - 1 ? ',' : ''}`).join('\n');
  };
  return groups.filter((g) => g.names.length > 0).map((g) => `  ${g.title}:\n${wrap(g.names)}`).join('\n');
}

export function statsCommand(): Command {
  return new Command('stats')
    .description('Datapath counters (enum burrow_stat): packets and bytes per verdict, summed over CPUs; and the nft tunnel guard\'s')
    .option('--all', 'include counters that are zero')
    .option('--per-cpu', 'one value per CPU as well')
    .option('-o, --output <format>', 'table or json', 'table')
    .addHelpText(
      'after',
      `
Read from the pinned stats map directly. Every frame a program sees moves exactly one counter
(encap_*, decap_*, pass*, drop_*); an encapsulated TCP SYN may also move mss_clamped or
mss_malformed (the MSS clamp, docs/datapath.md). Note that \`agentctl trace\` runs real programs on the live
maps, so its packets are counted here too. The last row, ${GUARD_COUNTER} (nft), counts the IPIP
and VXLAN packets from workloads that the nft table \`ip ${DEFAULT_NAT_TABLE}\` of this network
namespace dropped on the forward path (shown when that table exists).

Counters:
${counterGroupsHelp()}
  nft tunnel guard:
    ${GUARD_COUNTER}

Examples:
  agentctl stats
  agentctl stats --all -o json | jq '.counters[] | select(.name | startswith("drop"))'`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = parseOptions(statsOptions, cmd.optsWithGlobals());
      const maps = openDatapathMaps(opts.pinRoot);
      try {
        const counters = readCounters(maps, opts.perCpu).filter((c) => opts.all || c.packets > 0 || c.bytes > 0);
        const guard = await readGuardCounter(DEFAULT_NAT_TABLE);
        const nft = guard && (opts.all || guard.packets > 0 || guard.bytes > 0) ? [{ name: GUARD_COUNTER, table: DEFAULT_NAT_TABLE, ...guard }] : [];
        if (opts.output === 'json') {
          process.stdout.write(renderJson({ counters, nft }));
          return;
        }
        const rows = [...counters, ...nft.map((n) => ({ index: -1, name: `${n.name} (nft)`, packets: n.packets, bytes: n.bytes }))];
        process.stdout.write(rows.length ? countersTable(rows, opts.perCpu) : 'all counters are zero (--all shows them)\n');
      } finally {
        maps.close();
      }
    });
}
