import { Command } from 'commander';

import { planJson, renderPlanText } from '../../agent/plan-render.js';
import { reconcile } from '../../agent/reconcile.js';
import { memoryDatapathMaps } from '../../agent/reconcile-memory.js';
import { desiredStateOptions, loadDesiredState, withDesiredStateOptions } from '../desired.js';
import { rootLogger } from '../log.js';
import { parseOptions } from '../options.js';
import { renderJson } from '../output.js';
import { openPinnedOrNull } from '../views.js';

export function planCommand(): Command {
  return withDesiredStateOptions(
    new Command('plan').description('Show what apply would change: the manifests\' desired state against the pinned maps (and kernel routes, nft)'),
  )
    .addHelpText(
      'after',
      `
Lines are in the order apply makes the changes (adds and updates before deletes):
  + route 192.168.2.0/26 ipip via 10.0.2.10      an entry to add
  ~ route 192.168.2.0/26 mode ipip → vxlan, ...  an entry to update (only the fields that differ)
  - peer 10.0.2.10                               an entry to remove
Nothing pinned under --pin-root yet: everything is an addition. Changes nothing.

Examples:
  agentctl plan -f manifests/ --node node-a
  agentctl plan -f manifests/ --node node-a --no-kernel -o json | jq .changes`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = parseOptions(desiredStateOptions, cmd.optsWithGlobals());
      const { state, uplink } = await loadDesiredState(opts);
      const pinned = openPinnedOrNull(opts.pinRoot);
      try {
        const result = await reconcile(pinned ?? memoryDatapathMaps(), state, {
          dryRun: true,
          kernel: opts.kernel,
          ...(uplink ? { uplink } : {}),
          log: rootLogger(opts.logLevel),
        });
        process.stdout.write(
          opts.output === 'json'
            ? renderJson({ node: state.node.name, pinRoot: opts.pinRoot, pinned: pinned !== null, ...planJson(result.plan) })
            : renderPlanText(result.plan),
        );
      } finally {
        pinned?.close();
      }
    });
}
