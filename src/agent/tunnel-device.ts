/**
 * The tunnel device (DESIGN.md §1): a veth pair, `burrow0` plus its peer, with ARP off and up.
 * Kernel routes to encapsulated blocks point at it; its TC egress program (tc_encap) encapsulates
 * and redirects to the uplink, so nothing normally crosses to the peer. What does (a packet with
 * no `routes` entry during a change) must not be routed back into burrow0 again: forwarding is
 * off on the peer, so the stack drops it instead of looping it until its TTL runs out.
 */
import { run } from './exec.js';
import { readLink } from './uplink.js';

export function tunnelPeerName(device: string): string {
  return `${device.slice(0, 14)}p`;
}

export interface TunnelDeviceResult {
  /** What had to change: [] when the device was already as wanted. */
  changes: string[];
  ifindex: number;
}

async function sysctl(key: string, value: string): Promise<void> {
  await run(['sysctl', '-qw', `${key}=${value}`]).catch(() => undefined); // best effort (IPv6 may be off)
}

/** Creates or repairs the tunnel device pair; never touches anything else. */
export async function ensureTunnelDevice(device: string, mtu: number): Promise<TunnelDeviceResult> {
  const peer = tunnelPeerName(device);
  const changes: string[] = [];
  let link = await readLink(device);
  if (link && link.linkinfo?.info_kind !== 'veth') {
    throw new Error(`${device} exists but is a ${link.linkinfo?.info_kind ?? 'non-veth'} device, not burrow's tunnel device: remove it or choose another tunnelDevice`);
  }
  if (!link) {
    await run(['ip', 'link', 'add', device, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', peer, 'mtu', String(mtu)]);
    changes.push(`created ${device} (peer ${peer})`);
    link = await readLink(device);
    if (!link) throw new Error(`${device} vanished right after it was created`);
  }
  const flags = new Set(link.flags ?? []);
  if (!flags.has('NOARP') || !flags.has('UP') || link.mtu !== mtu) {
    await run(['ip', 'link', 'set', device, 'arp', 'off', 'mtu', String(mtu), 'up']);
    changes.push(`set ${device} arp off, mtu ${mtu}, up`);
  }
  const peerLink = await readLink(peer);
  if (!peerLink) throw new Error(`${device} exists without its peer ${peer}: delete ${device} and restart agentd`);
  if (!(peerLink.flags ?? []).includes('UP') || peerLink.mtu !== mtu) {
    await run(['ip', 'link', 'set', peer, 'mtu', String(mtu), 'up']);
    changes.push(`set ${peer} mtu ${mtu}, up`);
  }
  if (changes.length > 0) {
    await sysctl(`net.ipv4.conf.${peer}.forwarding`, '0');
    await sysctl(`net.ipv4.conf.${device}.rp_filter`, '0');
    await sysctl(`net.ipv6.conf.${device}.disable_ipv6`, '1');
    await sysctl(`net.ipv6.conf.${peer}.disable_ipv6`, '1');
  }
  return { changes, ifindex: link.ifindex };
}

/** Deletes the pair (deleting one end removes both); false when it did not exist. */
export async function removeTunnelDevice(device: string): Promise<boolean> {
  const link = await readLink(device);
  if (!link || link.linkinfo?.info_kind !== 'veth') return false;
  await run(['ip', 'link', 'del', device]);
  return true;
}
