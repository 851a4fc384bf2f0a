/**
 * The tunnel device (docs/datapath.md, "The path"): a veth pair, `burrow0` plus its peer, with ARP off and up.
 * Kernel routes to encapsulated blocks point at it; its TC egress program (tc_encap) encapsulates
 * and redirects to the uplink, so nothing normally crosses to the peer. What does (a packet with
 * no `routes` entry during a change) must not be routed back into burrow0 again: forwarding is
 * off on the peer, so the stack drops it instead of looping it until its TTL runs out.
 */
import fs from 'node:fs';
import os from 'node:os';

import { addon } from '../bpf/native.js';
import { run } from './exec.js';
import { readLink } from './uplink.js';

export function tunnelPeerName(device: string): string {
  return `${device.slice(0, 14)}p`;
}

export interface TunnelDeviceResult {
  /** What had to change: [] when the device was already as wanted. */
  changes: string[];
  ifindex: number;
  /** The tunnel device's MAC and its peer's ifindex: tc_decap's GRO hop (docs/datapath.md, "VXLAN through the tunnel device's GRO"). */
  mac: string;
  peerIfindex: number;
}

/**
 * Receive queues of a new pair: one per CPU, so each CPU's decapsulated VXLAN meets its own NAPI
 * (and GRO) on the tunnel device: a frame sent on the peer's transmit queue n arrives on the
 * device's receive queue n, and the peer picks n from the uplink's receive queue or the flow hash.
 */
export function tunnelQueues(): number {
  return Math.max(1, Math.min(256, os.availableParallelism()));
}

/** A kernel setting of the tunnel pair, written through /proc/sys (docs/operations.md, "Kernel settings"). */
export interface TunnelSysctl {
  key: string;
  value: string;
  /**
   * Optional settings may be missing (not failing): the IPv6 ones, whose /proc/sys/net/ipv6 tree
   * does not exist when the kernel runs without IPv6 (ipv6.disable=1). Everything else is required.
   */
  optional?: boolean;
}

/**
 * What the tunnel pair needs: no forwarding on the peer (no loops), forwarding and no rp_filter on
 * the device (decapsulated VXLAN arrives there through the GRO hop, to be routed to its pod), no
 * IPv6 on either.
 */
export function tunnelSysctls(device: string): TunnelSysctl[] {
  const peer = tunnelPeerName(device);
  return [
    { key: `net.ipv4.conf.${peer}.forwarding`, value: '0' },
    { key: `net.ipv4.conf.${device}.forwarding`, value: '1' },
    { key: `net.ipv4.conf.${device}.rp_filter`, value: '0' },
    { key: `net.ipv6.conf.${device}.disable_ipv6`, value: '1', optional: true },
    { key: `net.ipv6.conf.${peer}.disable_ipv6`, value: '1', optional: true },
  ];
}

/** /proc/sys path of `net.<family>.conf.<interface>.<setting>` (the interface name may hold dots). */
export function procSysPath(key: string): string {
  const parts = key.split('.');
  const setting = parts.pop()!;
  const [net, family, conf, ...iface] = parts;
  return `/proc/sys/${net}/${family}/${conf}/${iface.join('.')}/${setting}`;
}

export class TunnelSysctlError extends Error {
  override readonly name = 'TunnelSysctlError';
}

/**
 * Makes each setting hold its value: read, and written only when different (so a setting changed
 * behind agentd's back is put back on the next cycle). Synchronous on purpose: /proc/sys/net is
 * the network namespace of the thread that opens it, and libuv's pool threads need not be in
 * this process's. A required setting that cannot be read or written is an error naming the file
 * and the errno (a read-only /proc/sys in an unprivileged container, a missing device).
 */
export function applyTunnelSysctls(settings: readonly TunnelSysctl[]): string[] {
  const changes: string[] = [];
  for (const s of settings) {
    const file = procSysPath(s.key);
    let have: string;
    try {
      have = fs.readFileSync(file, 'utf8').trim();
    } catch (e) {
      if (s.optional && errnoOf(e) === 'ENOENT' && !fs.existsSync(file.split('/').slice(0, 4).join('/'))) continue; // no IPv6 in this kernel
      throw sysctlError(s, file, 'read', e);
    }
    if (have === s.value) continue;
    try {
      fs.writeFileSync(file, s.value);
    } catch (e) {
      throw sysctlError(s, file, 'write', e);
    }
    changes.push(`${s.key} ${have} → ${s.value}`);
  }
  return changes;
}

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function sysctlError(s: TunnelSysctl, file: string, op: 'read' | 'write', e: unknown): TunnelSysctlError {
  const code = errnoOf(e) ?? (e instanceof Error ? e.message : String(e));
  const hint = code === 'EROFS' || code === 'EACCES' || code === 'EPERM'
    ? ': /proc/sys is not writable here (a container must run privileged, or with a writable /proc/sys in the host\'s network namespace; docs/operations.md)'
    : '';
  return new TunnelSysctlError(`cannot set ${s.key}=${s.value}: ${op} ${file}: ${code}${hint}`);
}

/** The IPv4 addresses on a device (`a.b.c.d/len`). */
async function deviceAddresses(device: string): Promise<string[]> {
  const out = await run(['ip', '-j', '-4', 'addr', 'show', 'dev', device]);
  const rows = (out.trim() ? JSON.parse(out) : []) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
  return rows.flatMap((r) => (r.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
}

/**
 * Creates or repairs the tunnel device pair; never touches anything else. `addresses`: the node's
 * own tunnel addresses (Calico's ipv4IPIPTunnelAddr / ipv4VXLANTunnelAddr), put on the device as
 * /32s as calico-node puts them on tunl0 / vxlan.calico, so the host's own traffic to remote pods
 * leaves with a source the remote can answer (the kernel routes name it as `src`); any other IPv4
 * address on burrow's own device goes.
 */
export async function ensureTunnelDevice(device: string, mtu: number, addresses: readonly string[] = []): Promise<TunnelDeviceResult> {
  const peer = tunnelPeerName(device);
  const changes: string[] = [];
  let link = await readLink(device);
  if (link && link.linkinfo?.info_kind !== 'veth') {
    throw new Error(`${device} exists but is a ${link.linkinfo?.info_kind ?? 'non-veth'} device, not burrow's tunnel device: remove it or choose another tunnelDevice`);
  }
  if (!link) {
    const q = String(tunnelQueues());
    await run(['ip', 'link', 'add', device, 'mtu', String(mtu), 'numtxqueues', q, 'numrxqueues', q, 'type', 'veth',
      'peer', 'name', peer, 'mtu', String(mtu), 'numtxqueues', q, 'numrxqueues', q]);
    changes.push(`created ${device} (peer ${peer}, ${q} queues)`);
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
  const want = new Set(addresses.map((a) => `${a}/32`));
  const have = await deviceAddresses(device);
  for (const a of want) {
    if (have.includes(a)) continue;
    await run(['ip', 'addr', 'add', a, 'dev', device]);
    changes.push(`added ${a} to ${device}`);
  }
  for (const a of have) {
    if (want.has(a)) continue;
    await run(['ip', 'addr', 'del', a, 'dev', device]);
    changes.push(`removed ${a} from ${device}`);
  }
  changes.push(...applyTunnelSysctls(tunnelSysctls(device)));
  changes.push(...applyTunnelOffloads(device));
  return { changes, ifindex: link.ifindex, mac: link.address ?? '00:00:00:00:00:00', peerIfindex: peerLink.ifindex };
}

/**
 * GRO on the device (its receive queues then run NAPI, whose GRO merges what arrives), TSO off on
 * the peer: a veth hands a frame to the other end's NAPI only when the sending end cannot send
 * TCP segments larger than its MTU (drivers/net/veth.c, veth_skb_is_eligible_for_gro); otherwise
 * the frame skips GRO. Neither changes encapsulation (tc_encap redirects on the device's egress,
 * before the veth transmits). Read back and set only when different, like the sysctls.
 */
export function applyTunnelOffloads(device: string): string[] {
  const peer = tunnelPeerName(device);
  const changes: string[] = [];
  const a = addon();
  if (!a.linkOffloads(device).gro) {
    a.setLinkOffloads(device, { gro: true });
    changes.push(`${device} gro on`);
  }
  if (a.linkOffloads(peer).tso) {
    a.setLinkOffloads(peer, { tso: false });
    changes.push(`${peer} tso off`);
  }
  return changes;
}

/** Deletes the pair (deleting one end removes both); false when it did not exist. */
export async function removeTunnelDevice(device: string): Promise<boolean> {
  const link = await readLink(device);
  if (!link || link.linkinfo?.info_kind !== 'veth') return false;
  await run(['ip', 'link', 'del', device]);
  return true;
}
