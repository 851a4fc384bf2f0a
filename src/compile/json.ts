// The machine-readable view `agentctl compile -o json` prints: plain JSON values, fixed key
// order, pool names instead of objects. Only adds fields; the documented ones stay.
import type { ConfigDiagnostic } from '../config/diagnostics.js';
import type { DesiredState, KernelRoute, NatRule, NodeConfig, TunnelEncap, TunnelMode, TunnelRouteKind } from './types.js';

export interface TunnelRouteJson {
  cidr: string;
  mode: TunnelMode;
  remote: string;
  vni: number;
  vtepMac: string;
  natOutgoing: boolean;
  sameSubnet: boolean;
  pool: string | null;
  poolIndex: number | null;
  inPool: boolean;
  poolDisabled: boolean;
  kind: TunnelRouteKind;
  node: string;
}

export interface DesiredStateJson {
  node: NodeConfig;
  routes: TunnelRouteJson[];
  peers: { address: string; modes: TunnelEncap[]; vni: number; node: string }[];
  kernelRoutes: KernelRoute[];
  nat: NatRule[];
  warnings: ConfigDiagnostic[];
}

export function desiredStateJson(state: DesiredState): DesiredStateJson {
  return {
    node: { ...state.node, tunnelMtu: { ...state.node.tunnelMtu } },
    routes: state.routes.map((r) => ({
      cidr: r.cidr,
      mode: r.mode,
      remote: r.remote,
      vni: r.vni,
      vtepMac: r.vtepMac,
      natOutgoing: r.natOutgoing,
      sameSubnet: r.sameSubnet,
      pool: r.pool?.name ?? null,
      poolIndex: r.pool?.index ?? null,
      inPool: r.inPool,
      poolDisabled: r.poolDisabled,
      kind: r.kind,
      node: r.node,
    })),
    peers: state.peers.map((p) => ({ address: p.address, modes: [...p.modes], vni: p.vni, node: p.node })),
    kernelRoutes: state.kernelRoutes.map((k) => ({ ...k })),
    nat: state.nat.map((n) => ({ pool: n.pool, sourceCidr: n.sourceCidr, excludeDestinations: [...n.excludeDestinations] })),
    warnings: state.warnings.map((w) => ({ ...w })),
  };
}
