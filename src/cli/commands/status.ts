import { Command } from 'commander';
import { z } from 'zod';

import { openDatapathMaps } from '../../agent/datapath.js';
import { listenField } from '../../agent/metrics.js';
import { globalOptions, ifnameOption, outputOption, parseOptions } from '../options.js';
import { renderJson } from '../output.js';
import { askAgent, readStatus, renderStatus, type StatusView } from '../views.js';

const statusOptions = z.strictObject({
  ...globalOptions,
  output: outputOption,
  tunnelDevice: ifnameOption,
  dev: z.array(ifnameOption).default([]),
  agent: listenField("expected PORT, :PORT or HOST:PORT (agentd's --listen)").optional(),
});

export function statusCommand(): Command {
  return new Command('status')
    .description('What is attached where, how full the maps are, and the node config')
    .option('--tunnel-device <dev>', 'the tunnel device to inspect when it exists', 'burrow0')
    .option('--dev <name...>', 'more interfaces to inspect')
    .option('--agent <addr>', "also ask agentd at its --listen address (PORT, :PORT or HOST:PORT): health, datastore connection, skipped objects")
    .option('-o, --output <format>', 'table or json', 'table')
    .addHelpText(
      'after',
      `
Interfaces inspected (in this network namespace): the uplink named by the config map, the
interfaces of the links pinned under <pin-root>/links, the tunnel device, and --dev. For each:
XDP (and its mode), tcx and clsact programs, marked when they are not burrow's.

Examples:
  agentctl status
  agentctl status --agent 127.0.0.1:9436     # agentd's view too: datastore, skipped objects
  ip netns exec node-a agentctl --pin-root /run/burrow/node-a status -o json | jq '.maps'`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = parseOptions(statusOptions, cmd.optsWithGlobals());
      const agent = opts.agent !== undefined ? await askAgent(opts.agent) : undefined;
      const maps = openDatapathMaps(opts.pinRoot);
      try {
        const status: StatusView = { ...readStatus(opts.pinRoot, maps, opts.dev, opts.tunnelDevice), ...(agent ? { agent } : {}) };
        process.stdout.write(opts.output === 'json' ? renderJson(status) : renderStatus(status));
      } finally {
        maps.close();
      }
    });
}
