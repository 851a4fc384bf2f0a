// natOutgoing: traffic from a pool with natOutgoing to a destination outside every pool is
// masqueraded; pool-to-pool traffic is not (Calico's masq-ipam-pools / all-ipam-pools sets).
// Disabled pools still count on both sides: disabled only stops allocation.
import type { Model } from '../config/model.js';
import { compareCidrText } from '../config/net.js';
import type { NatRule } from './types.js';

export function compileNatRules(model: Pick<Model, 'pools'>): NatRule[] {
  const v4Pools = model.pools.filter((p) => p.ipVersion === 4);
  const allPools = v4Pools.map((p) => p.cidr).sort(compareCidrText);
  return v4Pools
    .filter((p) => p.natOutgoing)
    .map((p) => ({ pool: p.name, sourceCidr: p.cidr, excludeDestinations: allPools }))
    .sort((a, b) => compareCidrText(a.sourceCidr, b.sourceCidr));
}
