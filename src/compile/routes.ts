// Tunnel routes (the BPF `routes` LPM trie) and the kernel routes that steer pod traffic into
// the tunnel device or straight to a same-subnet node.
import { diagnosticAt, type ConfigDiagnostic } from '../config/diagnostics.js';
import type { IPPool, Model, Node } from '../config/model.js';
import { compareNets, mustParseCidr, mustParseIp, netContainsIp } from '../config/net.js';
import { inSendersSubnet, poolEncap, tunnelModeFor } from './encap.js';
import type { ResolvedCompileOptions } from './options.js';
import { CompileError, compileDiagnostic } from './options.js';
import type { KernelRoute, NodeConfig, PoolRef, TunnelRoute } from './types.js';

export interface RouteInputs {
  readonly model: Model;
  readonly local: Node;
}

const poolRef = (p: IPPool): PoolRef => ({ name: p.name, index: p.index });

/**
 * The `routes` LPM trie, one entry per CIDR, in this order of precedence when CIDRs coincide:
 *   node-address  a /32 'none' entry per node address inside a pool, so the datapath never
 *                 tunnels to a node address (it wins over a /32 block with the same CIDR);
 *   block         a remote node's block, with the mode its pool and the CrossSubnet rule give;
 *   local-block   one of our own blocks: 'none', LOCAL, remote = our address (decap: a
 *                 destination, never a peer's source);
 *   pool          each IPv4 pool: 'none', IN_POOL, remote 0.0.0.0 (decap: a destination, and a
 *                 source with the pool source check).
 * Entries of kind 'none' pass through tc_encap untouched, as an address without an entry does.
 */
export function compileTunnelRoutes({ model, local }: RouteInputs): TunnelRoute[] {
  const vni = model.felix.vxlanVNI;
  const v4Pools = model.pools.filter((p) => p.ipVersion === 4).map((pool) => ({ pool, net: mustParseCidr(pool.cidr) }));
  const nodes = new Map(model.nodes.map((n) => [n.name, n]));
  const pools = new Map(model.pools.map((p) => [p.name, p]));
  const byCidr = new Map<string, TunnelRoute>();
  // One answer per remote node, not per block (100k blocks are typically ~1k nodes).
  const subnetOf = new Map<string, boolean>();
  const sameSubnetAs = (n: Node): boolean => {
    let same = subnetOf.get(n.name);
    if (same === undefined) subnetOf.set(n.name, (same = inSendersSubnet(local, n)));
    return same;
  };

  for (const n of model.nodes) {
    const ip = mustParseIp(n.address);
    const owner = v4Pools.find((p) => netContainsIp(p.net, ip))?.pool;
    if (!owner) continue;
    const cidr = `${n.address}/32`;
    byCidr.set(cidr, {
      kind: 'node-address', cidr, mode: 'none', remote: n.address, node: n.name, vni, vtepMac: n.vtepMac,
      natOutgoing: owner.natOutgoing, sameSubnet: sameSubnetAs(n), inPool: true,
      poolDisabled: owner.disabled, pool: poolRef(owner),
    });
  }

  for (const b of model.blocks) {
    const pool = pools.get(b.pool);
    const owner = nodes.get(b.node);
    if (!pool || !owner) {
      throw new CompileError([compileDiagnostic('', 'model-inconsistent', `block ${b.cidr} refers to unknown ${pool ? `node ${b.node}` : `pool ${b.pool}`}`)]);
    }
    if (pool.ipVersion !== 4 || byCidr.has(b.cidr)) continue;
    if (b.node === local.name) {
      // Reached through the pods' veths, not tunnelled: an entry so decap knows it is ours.
      byCidr.set(b.cidr, {
        kind: 'local-block', cidr: b.cidr, mode: 'none', remote: local.address, node: local.name, vni, vtepMac: local.vtepMac,
        natOutgoing: pool.natOutgoing, sameSubnet: false, inPool: true, poolDisabled: pool.disabled, pool: poolRef(pool),
      });
      continue;
    }
    const sameSubnet = sameSubnetAs(owner);
    byCidr.set(b.cidr, {
      kind: 'block', cidr: b.cidr, mode: tunnelModeFor(pool, sameSubnet), remote: owner.address, node: owner.name, vni,
      vtepMac: owner.vtepMac, natOutgoing: pool.natOutgoing, sameSubnet, inPool: true, poolDisabled: pool.disabled,
      pool: poolRef(pool),
    });
  }

  for (const { pool } of v4Pools) {
    if (byCidr.has(pool.cidr)) continue;
    byCidr.set(pool.cidr, {
      kind: 'pool', cidr: pool.cidr, mode: 'none', remote: NO_REMOTE, node: '', vni, vtepMac: ZERO_MAC,
      natOutgoing: pool.natOutgoing, sameSubnet: false, inPool: true, poolDisabled: pool.disabled, pool: poolRef(pool),
    });
  }
  return sortByCidr([...byCidr.values()]);
}

const NO_REMOTE = '0.0.0.0';
const ZERO_MAC = '00:00:00:00:00:00';

/** compareCidrText order, each CIDR parsed once instead of once per comparison. */
function sortByCidr(routes: TunnelRoute[]): TunnelRoute[] {
  return routes
    .map((route) => ({ route, net: mustParseCidr(route.cidr) }))
    .sort((a, b) => compareNets(a.net, b.net))
    .map((k) => k.route);
}

/** The placeholder gateway of the tunnel routes (types.ts TunnelKernelRoute). */
export const TUNNEL_GATEWAY = '169.254.1.1';

/**
 * Each IPv4 pool that encapsulates → one route into the tunnel device with the tunnel MTU (made
 * by its `routes` entry, or by the block that has the pool's very CIDR); unencapsulated blocks of
 * a same-subnet node → a direct route via that node. An unencapsulated block of a node outside
 * our subnet gets no kernel route (the kernel would refuse a gateway that is not on-link): the
 * underlay must route it, and a warning says so. Encapsulated blocks need no route of their own.
 */
export function compileKernelRoutes(
  routes: readonly TunnelRoute[],
  node: NodeConfig,
  local: Node,
  options: ResolvedCompileOptions,
  pools: readonly IPPool[],
): { kernelRoutes: KernelRoute[]; warnings: ConfigDiagnostic[] } {
  const kernelRoutes: KernelRoute[] = [];
  const warned = new Map<string, ConfigDiagnostic>();
  const byName = new Map(pools.map((p) => [p.name, p]));
  for (const r of routes) {
    if (r.kind !== 'block' && r.kind !== 'pool') continue;
    if (r.kind === 'pool' || r.mode !== 'none') {
      const pool = r.pool ? byName.get(r.pool.name) : undefined;
      const encap = pool ? poolEncap(pool)?.encap : undefined;
      if (!pool || !encap) continue;
      if (r.kind === 'block' && compareNets(mustParseCidr(r.cidr), mustParseCidr(pool.cidr)) !== 0) continue; // its pool's route carries it
      const src = encap === 'ipip' ? local.ipipTunnelAddr : local.vxlanTunnelAddr;
      kernelRoutes.push({
        type: 'tunnel', dst: r.cidr, dev: node.tunnelDevice, via: TUNNEL_GATEWAY, onlink: true,
        mtu: node.tunnelMtu[encap], ...(src !== undefined ? { src } : {}), mode: encap, pool: pool.name,
      });
    } else if (r.sameSubnet) {
      kernelRoutes.push({ type: 'direct', dst: r.cidr, via: r.remote, ...(options.uplinkDevice ? { dev: options.uplinkDevice } : {}), node: r.node });
    } else {
      const pool = r.pool?.name ?? '';
      const key = `${pool}\u0000${r.node}`;
      if (!warned.has(key)) warned.set(key, offSubnetWarning(pool, r.node, r.remote, local));
    }
  }
  return { kernelRoutes, warnings: [...warned.values()] };
}

/** An IPPool that does not encapsulate to a node outside our subnet: its blocks get no kernel route. */
export function offSubnetWarning(pool: string, node: string, remote: string, local: Node): ConfigDiagnostic {
  return diagnosticAt({ file: '', document: 0, prefix: [] }, { kind: 'IPPool', name: pool }, [], 'direct-route-off-subnet',
    `IPPool ${pool} does not encapsulate to node ${node} (${remote}), which is outside ${local.name}'s subnet ${local.address}/${local.prefixLength}: its blocks get no kernel route and the underlay must route pod addresses; use ipipMode or vxlanMode Always or CrossSubnet to tunnel them`,
    'warning');
}
