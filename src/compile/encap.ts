// Which tunnel a pool uses between two nodes: Always → encapsulate; CrossSubnet → encapsulate
// unless the sender's subnet (its spec.bgp.ipv4Address prefix) contains the receiver's address;
// Never → no tunnel. Shared by routes (we send) and peers (they send).
import type { IPPool, Node } from '../config/model.js';
import { mustParseIp, netContainsIp } from '../config/net.js';
import type { TunnelEncap, TunnelMode } from './types.js';

/** The tunnel a pool enables and when, or null for a pool with both modes Never. */
export function poolEncap(pool: IPPool): { encap: TunnelEncap; crossSubnetOnly: boolean } | null {
  if (pool.ipipMode !== 'Never') return { encap: 'ipip', crossSubnetOnly: pool.ipipMode === 'CrossSubnet' };
  if (pool.vxlanMode !== 'Never') return { encap: 'vxlan', crossSubnetOnly: pool.vxlanMode === 'CrossSubnet' };
  return null;
}

/** Whether `sender`'s subnet contains `receiver`'s address (not symmetric when prefixes differ). */
export function inSendersSubnet(sender: Node, receiver: Node): boolean {
  const s = mustParseIp(sender.address);
  return netContainsIp({ version: 4, addr: s.value, prefix: sender.prefixLength }, mustParseIp(receiver.address));
}

export function tunnelModeFor(pool: IPPool, sameSubnet: boolean): TunnelMode {
  const e = poolEncap(pool);
  if (!e) return 'none';
  if (e.crossSubnetOnly && sameSubnet) return 'none';
  return e.encap;
}
