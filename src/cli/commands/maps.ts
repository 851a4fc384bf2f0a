import { Command } from 'commander';
import { z } from 'zod';

import { MAP_NAMES, openDatapathMaps } from '../../agent/datapath.js';
import { globalOptions, outputOption, parseOptions } from '../options.js';
import { renderJson } from '../output.js';
import { readMapsDump, renderDump } from '../views.js';

const dumpOptions = z.strictObject({ ...globalOptions, output: outputOption, perCpu: z.boolean().default(false) });

function dumpCommand(): Command {
  return new Command('dump')
    .description('Decode the pinned maps (routes, peers, config, stats, pmtu, nexthops), read directly: no daemon needed')
    .argument('[map]', `one of ${MAP_NAMES.join(', ')} (default: all)`)
    .option('-o, --output <format>', 'table or json', 'table')
    .option('--per-cpu', 'stats: one row per CPU instead of sums')
    .addHelpText(
      'after',
      `
Fields: routes CIDR, mode (none/ipip/vxlan), remote, VNI, VTEP MAC, flags (nat-outgoing,
same-subnet, in-pool, pool-disabled, local), pool index — the pools (remote 0.0.0.0) and this
node's own blocks (local) are there too, for decap's inner address check; peers address, modes,
VNI; config every field (flags: decap_src_pool); stats counter names with packets and bytes
summed over CPUs (per CPU with --per-cpu); pmtu path MTUs learned per peer; nexthops the
device, next hop MAC, source MAC and MTU the encap programs use for each peer (a peer missing
there is sent the kernel's way: route and neighbour lookup per packet).

Examples:
  agentctl maps dump
  agentctl maps dump routes -o json | jq '.routes[] | select(.mode == "vxlan")'
  agentctl --pin-root /run/burrow/node-a maps dump stats --per-cpu`,
    )
    .action((map: string | undefined, _opts: unknown, cmd: Command) => {
      const opts = parseOptions(dumpOptions, cmd.optsWithGlobals());
      const which = parseOptions(z.strictObject({ map: z.enum(MAP_NAMES).optional() }), { map }).map;
      const maps = openDatapathMaps(opts.pinRoot);
      try {
        const dump = readMapsDump(maps, which ? [which] : MAP_NAMES, opts.perCpu);
        process.stdout.write(opts.output === 'json' ? renderJson(dump) : renderDump(dump, opts.perCpu));
      } finally {
        maps.close();
      }
    });
}

export function mapsCommand(): Command {
  return new Command('maps')
    .description('Read the datapath\'s pinned BPF maps')
    .addHelpText('after', '\nExamples:\n  agentctl maps dump\n  agentctl maps dump peers -o json')
    .addCommand(dumpCommand());
}
