import { Command } from 'commander';
import { z } from 'zod';

import { cleanupAgentState, type CleanupReport } from '../../agent/cleanup.js';
import { globalOptions, ifnameOption, outputOption, parseOptions } from '../options.js';
import { renderJson, renderTable } from '../output.js';

const cleanupOptions = z.strictObject({
  ...globalOptions,
  output: outputOption,
  tunnelDevice: ifnameOption,
  keepMount: z.boolean().default(false),
});

function renderReport(r: CleanupReport): string {
  const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'none');
  const rows = [
    { what: 'links detached', result: list(r.links) },
    { what: 'pins removed', result: list(r.pins) },
    { what: 'kernel routes deleted', result: list(r.routes) },
    { what: 'nft table', result: r.natTable ? 'deleted' : 'none' },
    { what: 'tunnel device', result: r.tunnelDevice ? 'deleted' : 'none' },
    { what: 'bpffs on the pin root', result: r.unmounted ? 'unmounted' : 'not a mount of its own' },
  ];
  return renderTable([{ header: 'WHAT', value: (x) => x.what }, { header: 'RESULT', value: (x) => x.result }], rows);
}

/** `agentctl cleanup`: removes everything agentd made in this network namespace. */
export function cleanupCommand(): Command {
  return new Command('cleanup')
    .description('Remove everything agentd made here: links, pins, kernel routes, nft table, tunnel device, bpffs mount')
    .option('--tunnel-device <name>', 'the tunnel device agentd created', 'burrow0')
    .option('--keep-mount', 'leave the bpffs mounted on the pin root')
    .option('-o, --output <format>', 'table or json', 'table')
    .addHelpText(
      'after',
      `
Stop agentd first (a running agentd recreates what it finds missing). Run it where agentd ran:
links are detached before their pins go, so the datapath stops even if some process still holds
a link; only routes tagged with burrow's protocol (211) and burrow's own nft table are touched.

Examples:
  agentctl --pin-root /run/burrow/node-a cleanup
  ip netns exec node-a agentctl --pin-root /run/burrow/node-a cleanup -o json`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = parseOptions(cleanupOptions, cmd.optsWithGlobals());
      const report = await cleanupAgentState({ pinRoot: opts.pinRoot, tunnelDevice: opts.tunnelDevice, unmount: !opts.keepMount });
      process.stdout.write(opts.output === 'json' ? renderJson(report) : renderReport(report));
      if (report.errors.length > 0) throw new Error(`cleanup incomplete:\n  ${report.errors.join('\n  ')}`);
    });
}
