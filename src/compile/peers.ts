// The `peers` hash: every other node that may send us tunnel packets, with the tunnels it may
// use. A node encapsulates to us under the same rule we use towards it, seen from its side
// (its subnet, our address), over every IPv4 pool: a pool without a block of ours today may
// get one tomorrow, and addresses can be borrowed from other nodes' blocks.
import type { Model, Node } from '../config/model.js';
import { compareIpText } from '../config/net.js';
import { inSendersSubnet, tunnelModeFor } from './encap.js';
import type { TunnelEncap, TunnelPeer } from './types.js';

export function compilePeers(model: Model, local: Node): TunnelPeer[] {
  const v4Pools = model.pools.filter((p) => p.ipVersion === 4);
  const peers: TunnelPeer[] = [];
  for (const n of model.nodes) {
    if (n.name === local.name) continue;
    const sameSubnet = inSendersSubnet(n, local);
    const modes = new Set<TunnelEncap>();
    for (const pool of v4Pools) {
      const mode = tunnelModeFor(pool, sameSubnet);
      if (mode !== 'none') modes.add(mode);
    }
    if (modes.size === 0) continue;
    peers.push({ address: n.address, node: n.name, modes: [...modes].sort(), vni: model.felix.vxlanVNI });
  }
  return peers.sort((a, b) => compareIpText(a.address, b.address));
}
