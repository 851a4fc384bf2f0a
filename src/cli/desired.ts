/**
 * What `plan` and `apply` share: their options (manifests, node, uplink facts, kernel part) and
 * the road from them to a DesiredState. Validation and compilation happen here, before any map
 * is opened, so invalid manifests never reach a write.
 */
import fs from 'node:fs';

import { Command, Option } from 'commander';
import { z } from 'zod';

import type { RuntimeUplink } from '../agent/map-entries.js';
import { compileDesiredState, DECAP_SOURCE_CHECKS, type DesiredState } from '../compile/index.js';
import { inputOptionFields, loadModelOrThrow, withInputOptions } from './manifests.js';
import { globalOptions, ifnameOption, outputOption, uplinkMtuOption } from './options.js';
import { UsageError } from './output.js';

export const desiredStateOptions = z.strictObject({
  ...globalOptions,
  ...inputOptionFields,
  node: z.string().min(1),
  uplink: ifnameOption.optional(),
  uplinkMtu: uplinkMtuOption.optional(),
  tunnelDevice: ifnameOption,
  decapSourceCheck: z.enum(DECAP_SOURCE_CHECKS),
  kernel: z.boolean(),
  output: outputOption,
});

export type DesiredStateOptions = z.output<typeof desiredStateOptions>;

/** Adds the options every desired-state command takes. */
export function withDesiredStateOptions(cmd: Command): Command {
  return withInputOptions(cmd)
    .requiredOption('--node <name>', 'the node whose datapath this is')
    .option('--uplink <dev>', 'uplink interface in this namespace: its ifindex, MAC and MTU go into the config map (default: keep those already there; with none there, tc_encap drops what it would tunnel: drop_no_route)')
    .option('--uplink-mtu <bytes>', 'uplink MTU the tunnel MTUs derive from (default: the --uplink device\'s, else 1500)')
    .option('--tunnel-device <dev>', 'the device tunnel routes point at', 'burrow0')
    .option('--decap-source-check <check>', 'decap\'s inner source check, as agentd\'s option: strict or pool', 'strict')
    .addOption(new Option('--no-kernel', 'leave kernel routes and the nft table alone (maps only)'))
    .option('-o, --output <format>', 'table or json', 'table');
}

/** ifindex, MAC and MTU of an interface of the calling process's network namespace. */
export function readUplink(dev: string): RuntimeUplink {
  const read = (f: string) => fs.readFileSync(`/sys/class/net/${dev}/${f}`, 'utf8').trim();
  try {
    return { ifindex: Number(read('ifindex')), mac: read('address'), mtu: Number(read('mtu')) };
  } catch {
    throw new UsageError(`--uplink: no interface '${dev}' in this network namespace`);
  }
}

export interface LoadedDesiredState {
  state: DesiredState;
  uplink: RuntimeUplink | undefined;
}

/** Loads, validates and compiles; throws InvalidManifestsError / CompileError (exit 1). */
export async function loadDesiredState(opts: DesiredStateOptions): Promise<LoadedDesiredState> {
  const uplink = opts.uplink !== undefined ? readUplink(opts.uplink) : undefined;
  const model = await loadModelOrThrow(opts);
  const state = compileDesiredState(model, opts.node, {
    uplinkMtu: opts.uplinkMtu ?? uplink?.mtu ?? 1500,
    tunnelDevice: opts.tunnelDevice,
    decapSourceCheck: opts.decapSourceCheck,
    ...(uplink && opts.uplink ? { uplinkDevice: opts.uplink, uplinkIfindex: uplink.ifindex, uplinkMac: uplink.mac } : {}),
  });
  return { state, uplink };
}
