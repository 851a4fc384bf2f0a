// Model + the local node's name → DesiredState. Pure and deterministic: every list is sorted
// by a stable key, so the result does not depend on the order manifests were given in.
import { compareDiagnostics, diagnosticAt, suggest, type ConfigDiagnostic } from '../config/diagnostics.js';
import type { Model, Node } from '../config/model.js';
import { compileNatRules } from './nat.js';
import {
  CompileError,
  IPIP_OVERHEAD,
  VXLAN_OVERHEAD,
  compileDiagnostic,
  resolveCompileOptions,
  type CompileOptions,
  type ResolvedCompileOptions,
} from './options.js';
import { compilePeers } from './peers.js';
import { compileKernelRoutes, compileTunnelRoutes } from './routes.js';
import type { DesiredState, NodeConfig } from './types.js';

function findLocalNode(model: Model, name: string): Node {
  const local = model.nodes.find((n) => n.name === name);
  if (local) return local;
  const names = model.nodes.map((n) => n.name);
  const guess = suggest(name, names);
  throw new CompileError([
    compileDiagnostic('', 'unknown-local-node',
      `local node '${name}' is not defined by any Node manifest${guess ? `; did you mean '${guess}'?` : `; nodes: ${names.join(', ') || 'none'}`}`,
      'Node', name),
  ]);
}

/** Tunnel MTUs: FelixConfiguration's when set, else the uplink MTU less the encapsulation overhead. */
export function compileNodeConfig(model: Pick<Model, 'felix'>, local: Node, options: ResolvedCompileOptions): { node: NodeConfig; warnings: ConfigDiagnostic[] } {
  const { felix } = model;
  const warnings: ConfigDiagnostic[] = [];
  const tunnelMtu = {
    ipip: felix.ipipMTU ?? options.uplinkMtu - IPIP_OVERHEAD,
    vxlan: felix.vxlanMTU ?? options.uplinkMtu - VXLAN_OVERHEAD,
  };
  for (const [field, mtu, overhead] of [['ipipMTU', felix.ipipMTU, IPIP_OVERHEAD], ['vxlanMTU', felix.vxlanMTU, VXLAN_OVERHEAD]] as const) {
    if (mtu !== undefined && mtu + overhead > options.uplinkMtu) {
      warnings.push(diagnosticAt({ file: '', document: 0, prefix: [] }, { kind: 'FelixConfiguration', name: 'default' }, ['spec', field], 'tunnel-mtu-too-large',
        `${field} ${mtu} plus ${overhead} bytes of encapsulation exceeds the uplink MTU ${options.uplinkMtu}: full-size packets will be dropped as too big; use at most ${options.uplinkMtu - overhead}`,
        'warning'));
    }
  }
  const node: NodeConfig = {
    name: local.name,
    localIp: local.address,
    prefixLength: local.prefixLength,
    uplinkIfindex: options.uplinkIfindex,
    uplinkMac: options.uplinkMac ?? null,
    vtepMac: local.vtepMac,
    vxlanPort: felix.vxlanPort,
    defaultVni: felix.vxlanVNI,
    ttl: options.ttl,
    uplinkMtu: options.uplinkMtu,
    tunnelMtu,
    tunnelDevice: options.tunnelDevice,
    decapSourceCheck: options.decapSourceCheck,
    mssClamp: felix.tunnelMSSClampEnabled !== false,
  };
  return { node, warnings };
}

/**
 * Everything `localNodeName`'s datapath and kernel should hold. Throws CompileError (with
 * diagnostics for the one formatter) when the node is unknown or an option is impossible.
 */
export function compileDesiredState(model: Model, localNodeName: string, options: CompileOptions = {}): DesiredState {
  const resolved = resolveCompileOptions(options);
  const local = findLocalNode(model, localNodeName);
  const { node, warnings: nodeWarnings } = compileNodeConfig(model, local, resolved);
  const routes = compileTunnelRoutes({ model, local });
  const { kernelRoutes, warnings: routeWarnings } = compileKernelRoutes(routes, node, local, resolved, model.pools);
  return {
    node,
    routes,
    peers: compilePeers(model, local),
    kernelRoutes,
    nat: compileNatRules(model),
    warnings: [...model.warnings, ...nodeWarnings, ...routeWarnings].sort(compareDiagnostics),
  };
}
