import { Command } from 'commander';
import { formatDiagnostics } from '../../config/index.js';
import { loadInput, withInputOptions, type InputOptions } from '../manifests.js';
import { InvalidManifestsError } from '../errors.js';
import { parseOutputFormat, renderJson } from '../output.js';

export function validateCommand(): Command {
  return withInputOptions(new Command('validate')
    .description('Check manifests (IPPool, Node, BlockAffinity, FelixConfiguration, Konvoy ClusterConfiguration), or what Calico\'s etcd datastore holds'))
    .option('-o, --output <format>', 'table or json', 'table')
    .addHelpText(
      'after',
      '\nExamples:\n  agentctl validate -f manifests/\n  agentctl validate -f pools.yaml nodes.yaml -o json\n  agentctl validate --datastore etcdv3 --etcd-endpoints http://10.0.0.5:2379\n\nExit 0 when valid, 1 with one line per problem otherwise.',
    )
    .action(async (opts: InputOptions & { output: string }) => {
      const format = parseOutputFormat(opts.output);
      const result = await loadInput(opts);
      if (format === 'json') {
        const body = result.ok
          ? { valid: true, errors: [], warnings: result.model.warnings, pools: result.model.pools.length, nodes: result.model.nodes.length, blocks: result.model.blocks.length }
          : { valid: false, errors: result.errors, warnings: result.warnings };
        process.stdout.write(renderJson(body));
        if (!result.ok) process.exitCode = 1;
        return;
      }
      if (!result.ok) throw new InvalidManifestsError(result.errors);
      if (result.model.warnings.length) process.stderr.write(formatDiagnostics(result.model.warnings));
      const m = result.model;
      process.stdout.write(`valid: ${m.pools.length} pool(s), ${m.nodes.length} node(s), ${m.blocks.length} block(s)\n`);
    });
}
