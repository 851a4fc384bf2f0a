import { Command } from 'commander';
import { compileDesiredState, desiredStateJson, type DesiredState } from '../../compile/index.js';
import { loadModelOrThrow, withInputOptions, type InputOptions } from '../manifests.js';
import { parseOutputFormat, renderJson, renderTable } from '../output.js';

export function compileCommand(): Command {
  return withInputOptions(new Command('compile')
    .description('Show the desired state for one node, offline (no kernel access)'))
    .requiredOption('--node <name>', 'the node to compile for')
    .option('--uplink-mtu <bytes>', 'MTU of the node uplink (tunnel MTUs derive from it)', '1500')
    .option('-o, --output <format>', 'table or json', 'table')
    .addHelpText('after', '\nExamples:\n  agentctl compile -f manifests/ --node node-a\n  agentctl compile -f manifests/ --node node-a -o json | jq .routes')
    .action(async (opts: InputOptions & { node: string; uplinkMtu: string; output: string }) => {
      const format = parseOutputFormat(opts.output);
      const model = await loadModelOrThrow(opts);
      const state = compileDesiredState(model, opts.node, { uplinkMtu: Number(opts.uplinkMtu) });
      process.stdout.write(format === 'json' ? renderJson(desiredStateJson(state)) : renderDesiredState(state));
    });
}

export function renderDesiredState(state: DesiredState): string {
  const n = state.node;
  const parts = [
    `node ${n.name}  address ${n.localIp}/${n.prefixLength}  vtep ${n.vtepMac}  vni ${n.defaultVni}  port ${n.vxlanPort}  mtu ipip ${n.tunnelMtu.ipip} vxlan ${n.tunnelMtu.vxlan}\n`,
    '\nROUTES\n',
    renderTable(
      [
        { header: 'CIDR', value: (r) => r.cidr },
        { header: 'MODE', value: (r) => r.mode },
        { header: 'REMOTE', value: (r) => r.remote },
        { header: 'NODE', value: (r) => r.node },
        { header: 'VNI', value: (r) => (r.mode === 'vxlan' ? r.vni : '') },
        { header: 'VTEP MAC', value: (r) => (r.mode === 'vxlan' ? r.vtepMac : '') },
        { header: 'FLAGS', value: (r) => [r.natOutgoing && 'nat-outgoing', r.sameSubnet && 'same-subnet', r.inPool && 'in-pool', r.poolDisabled && 'pool-disabled', r.kind === 'local-block' && 'local'].filter(Boolean).join(',') },
        { header: 'POOL', value: (r) => r.pool?.name },
      ],
      state.routes,
    ),
    '\nPEERS\n',
    renderTable(
      [
        { header: 'ADDRESS', value: (p) => p.address },
        { header: 'NODE', value: (p) => p.node },
        { header: 'MODES', value: (p) => p.modes.join(',') },
        { header: 'VNI', value: (p) => p.vni },
      ],
      state.peers,
    ),
    '\nKERNEL ROUTES\n',
    renderTable(
      [
        { header: 'DST', value: (k) => k.dst },
        { header: 'VIA', value: (k) => k.via },
        { header: 'DEV', value: (k) => k.dev },
        { header: 'MTU', value: (k) => (k.type === 'tunnel' ? k.mtu : '') },
      ],
      state.kernelRoutes,
    ),
    '\nNAT (masquerade)\n',
    renderTable(
      [
        { header: 'SOURCE', value: (r) => r.sourceCidr },
        { header: 'EXCEPT TO', value: (r) => r.excludeDestinations.join(',') },
        { header: 'POOL', value: (r) => r.pool },
      ],
      state.nat,
    ),
  ];
  return parts.join('');
}
