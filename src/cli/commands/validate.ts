import { Command } from 'commander';
import { z } from 'zod';

import { formatDiagnostics } from '../../config/index.js';
import { InvalidManifestsError } from '../errors.js';
import { inputOptionFields, loadInput, withInputOptions } from '../manifests.js';
import { globalOptions, outputOption, parseOptions } from '../options.js';
import { renderJson } from '../output.js';
import { validateView } from '../views.js';

const validateOptions = z.strictObject({ ...globalOptions, ...inputOptionFields, output: outputOption });

export function validateCommand(): Command {
  return withInputOptions(new Command('validate')
    .description('Check manifests (IPPool, Node, BlockAffinity, FelixConfiguration, Konvoy ClusterConfiguration), or what Calico\'s etcd datastore holds'))
    .option('-o, --output <format>', 'table or json', 'table')
    .addHelpText(
      'after',
      '\nExamples:\n  agentctl validate -f manifests/\n  agentctl validate -f pools.yaml nodes.yaml -o json\n  agentctl validate --datastore etcdv3 --etcd-endpoints http://10.0.0.5:2379\n\nExit 0 when valid, 1 with one line per problem otherwise.',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = parseOptions(validateOptions, cmd.optsWithGlobals());
      const result = await loadInput(opts);
      if (opts.output === 'json') {
        process.stdout.write(renderJson(validateView(result)));
        if (!result.ok) process.exitCode = 1;
        return;
      }
      if (!result.ok) throw new InvalidManifestsError(result.errors);
      if (result.model.warnings.length) process.stderr.write(formatDiagnostics(result.model.warnings));
      const m = result.model;
      process.stdout.write(`valid: ${m.pools.length} pool(s), ${m.nodes.length} node(s), ${m.blocks.length} block(s)\n`);
    });
}
