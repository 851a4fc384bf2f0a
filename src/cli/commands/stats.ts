import { Command } from 'commander';
import { z } from 'zod';

import { openDatapathMaps } from '../../agent/datapath.js';
import { globalOptions, outputOption, parseOptions } from '../options.js';
import { renderJson } from '../output.js';
import { countersTable, readCounters } from './maps.js';

const statsOptions = z.strictObject({
  ...globalOptions,
  output: outputOption,
  all: z.boolean().default(false),
  perCpu: z.boolean().default(false),
});

export function statsCommand(): Command {
  return new Command('stats')
    .description('Datapath counters (enum burrow_stat): packets and bytes per verdict, summed over CPUs')
    .option('--all', 'include counters that are zero')
    .option('--per-cpu', 'one value per CPU as well')
    .option('-o, --output <format>', 'table or json', 'table')
    .addHelpText(
      'after',
      `
Read from the pinned stats map directly. Every frame a program sees moves exactly one counter
(encap_*, decap_*, pass*, drop_*). Note that \`agentctl trace\` runs real programs on the live
maps, so its packets are counted here too.

Examples:
  agentctl stats
  agentctl stats --all -o json | jq '.counters[] | select(.name | startswith("drop"))'`,
    )
    .action((_opts: unknown, cmd: Command) => {
      const opts = parseOptions(statsOptions, cmd.optsWithGlobals());
      const maps = openDatapathMaps(opts.pinRoot);
      try {
        const counters = readCounters(maps, opts.perCpu).filter((c) => opts.all || c.packets > 0 || c.bytes > 0);
        if (opts.output === 'json') process.stdout.write(renderJson({ counters }));
        else process.stdout.write(counters.length ? countersTable(counters, opts.perCpu) : 'all counters are zero (--all shows them)\n');
      } finally {
        maps.close();
      }
    });
}
