import { Command } from 'commander';
import { z } from 'zod';

import { compileDesiredState, desiredStateJson } from '../../compile/index.js';
import { inputOptionFields, loadModelOrThrow, withInputOptions } from '../manifests.js';
import { globalOptions, outputOption, parseOptions, uplinkMtuOption } from '../options.js';
import { renderJson } from '../output.js';
import { renderDesiredState } from '../views.js';

const compileOptions = z.strictObject({
  ...globalOptions,
  ...inputOptionFields,
  node: z.string().min(1),
  uplinkMtu: uplinkMtuOption,
  output: outputOption,
});

export function compileCommand(): Command {
  return withInputOptions(new Command('compile')
    .description('Show the desired state for one node, offline (no kernel access)'))
    .requiredOption('--node <name>', 'the node to compile for')
    .option('--uplink-mtu <bytes>', 'MTU of the node uplink (tunnel MTUs derive from it)', '1500')
    .option('-o, --output <format>', 'table or json', 'table')
    .addHelpText('after', '\nExamples:\n  agentctl compile -f manifests/ --node node-a\n  agentctl compile -f manifests/ --node node-a -o json | jq .routes')
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = parseOptions(compileOptions, cmd.optsWithGlobals());
      const model = await loadModelOrThrow(opts);
      const state = compileDesiredState(model, opts.node, { uplinkMtu: opts.uplinkMtu });
      process.stdout.write(opts.output === 'json' ? renderJson(desiredStateJson(state)) : renderDesiredState(state));
    });
}
