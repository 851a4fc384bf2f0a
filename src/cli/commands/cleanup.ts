import { Command } from 'commander';
import { z } from 'zod';

import { cleanupAgentState, type CleanupReport } from '../../agent/cleanup.js';
import { lockPinRoot } from '../../agent/pin-root.js';
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
    { what: 'left alone (not burrow\'s)', result: list(r.leftAlone) },
    { what: 'kernel routes deleted', result: list(r.routes) },
    { what: 'managed neighbours deleted', result: String(r.neighbours ?? 0) },
    { what: 'nft table', result: r.natTable ? 'deleted' : 'none' },
    { what: 'tunnel device', result: r.tunnelDevice ? 'deleted' : 'none' },
    { what: 'bpffs on the pin root', result: r.unmounted ? 'unmounted' : `left mounted: ${r.mount ?? 'not asked to unmount'}` },
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
Stop agentd first: while it runs it holds the pin root's lock and cleanup is refused (naming its
PID). Run it where agentd ran: links are detached before their pins go, so the datapath stops even
if some process still holds a link. Only burrow's own pins are removed (the maps routes, peers,
config, stats and its links under links/, each checked to be what burrow pins); anything else on
the bpffs is left alone and listed, and the bpffs is unmounted only when nothing else is on it.
A --pin-root that is not on a bpffs and holds files is refused: nothing is removed. Only routes
tagged with burrow's protocol (211) and burrow's own nft table are touched.

Examples:
  agentctl --pin-root /run/burrow/node-a cleanup
  ip netns exec node-a agentctl --pin-root /run/burrow/node-a cleanup -o json`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = parseOptions(cleanupOptions, cmd.optsWithGlobals());
      const lock = lockPinRoot(opts.pinRoot, 'agentctl cleanup');
      let report: CleanupReport;
      try {
        report = await cleanupAgentState({ pinRoot: opts.pinRoot, tunnelDevice: opts.tunnelDevice, unmount: !opts.keepMount });
      } finally {
        lock.release();
      }
      process.stdout.write(opts.output === 'json' ? renderJson(report) : renderReport(report));
      if (report.errors.length > 0) throw new Error(`cleanup incomplete:\n  ${report.errors.join('\n  ')}`);
    });
}
