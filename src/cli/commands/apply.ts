import fs from 'node:fs';

import { Command } from 'commander';
import { z } from 'zod';

import { ensureBpffs, loadDatapath, type Datapath } from '../../agent/datapath.js';
import { lockPinRoot, type PinRootLock } from '../../agent/pin-root.js';
import { planJson, planLines, planSummary } from '../../agent/plan-render.js';
import { reconcile, type ReconcileMaps } from '../../agent/reconcile.js';
import { memoryDatapathMaps } from '../../agent/reconcile-memory.js';
import { desiredStateOptions, loadDesiredState, withDesiredStateOptions } from '../desired.js';
import { rootLogger } from '../log.js';
import { parseOptions } from '../options.js';
import { renderJson } from '../output.js';
import { openPinnedOrNull } from '../views.js';

/**
 * Are we in a mount namespace our parent is not in? `ip netns exec` makes one per command, and
 * a mount made there ends with it.
 */
function inPrivateMountNamespace(): boolean {
  try {
    return fs.readlinkSync('/proc/self/ns/mnt') !== fs.readlinkSync(`/proc/${process.ppid}/ns/mnt`);
  } catch {
    return false;
  }
}

const applyOptions = desiredStateOptions.extend({ dryRun: z.boolean().default(false) });

export function applyCommand(): Command {
  return withDesiredStateOptions(
    new Command('apply').description('Make the pinned maps (and kernel routes, nft) hold the manifests\' desired state, changing only what differs'),
  )
    .option('--dry-run', 'plan only: print what would change, change nothing')
    .addHelpText(
      'after',
      `
The manifests are validated and compiled first: invalid ones change nothing (exit 1).
Adds and updates are written before deletes (make-before-break); a second apply of the same
input reports "no changes". When nothing is pinned under --pin-root, the datapath's maps are
created there (bpffs is mounted on the directory if it is not one; under ip netns exec, mount it
from the host first, or the mount ends with the command). Kernel routes (proto 211)
and the nft table "ip burrow" are changed in this process's network namespace: use --no-kernel
to drive the maps alone.

Examples:
  agentctl apply -f manifests/ --node node-a --no-kernel
  agentctl apply -f manifests/ --node node-a --uplink eth0 --dry-run
  ip netns exec node-a agentctl --pin-root /run/burrow/node-a apply -f manifests/ --node node-a -o json`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = parseOptions(applyOptions, cmd.optsWithGlobals());
      const { state, uplink } = await loadDesiredState(opts);
      // One agentd or one changing agentctl at a time per pin root (a dry run changes nothing).
      const lock: PinRootLock | undefined = opts.dryRun ? undefined : lockPinRoot(opts.pinRoot, 'agentctl apply');
      try {
        await applyLocked(opts, state, uplink);
      } finally {
        lock?.release();
      }
    });
}

async function applyLocked(
  opts: z.output<typeof applyOptions>,
  state: Awaited<ReturnType<typeof loadDesiredState>>['state'],
  uplink: Awaited<ReturnType<typeof loadDesiredState>>['uplink'],
): Promise<void> {
  const pinned = openPinnedOrNull(opts.pinRoot);
  // Nothing pinned yet: apply creates the maps (loading the programs pins them); a dry run plans against nothing.
  if (!pinned && !opts.dryRun && ensureBpffs(opts.pinRoot) && inPrivateMountNamespace()) {
    process.stderr.write(
      `warning: mounted a new bpffs on ${opts.pinRoot} inside a mount namespace of its own (ip netns exec makes one per command): ` +
        `it and the maps pinned there vanish when agentctl exits; mount bpffs there from the host first (mount -t bpf bpf ${opts.pinRoot})\n`,
    );
  }
  const created: Datapath | undefined = pinned || opts.dryRun ? undefined : loadDatapath(opts.pinRoot);
  const maps: ReconcileMaps = pinned ?? created?.maps ?? memoryDatapathMaps();
  try {
    const result = await reconcile(maps, state, {
      dryRun: opts.dryRun,
      kernel: opts.kernel,
      ...(uplink ? { uplink } : {}),
      log: rootLogger(opts.logLevel),
    });
    if (opts.output === 'json') {
      process.stdout.write(renderJson({
        node: state.node.name, pinRoot: opts.pinRoot, created: created !== undefined, dryRun: opts.dryRun,
        applied: result.applied, steps: result.steps, ...planJson(result.plan),
      }));
      return;
    }
    const lines = planLines(result.plan);
    const summary = planSummary(result.plan);
    const tail = result.applied ? `applied: ${summary}` : opts.dryRun && result.changes > 0 ? `dry run, nothing applied: ${summary}` : summary;
    process.stdout.write([...(created ? [`created the datapath maps under ${opts.pinRoot}`] : []), ...lines, tail].join('\n') + '\n');
  } finally {
    if (created) created.close();
    else pinned?.close();
  }
}
