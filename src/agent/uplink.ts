/**
 * The uplink: the interface that holds the node's address, whose facts (ifindex, MAC, MTU) go
 * into the `config` map and whose kind decides the decap hook. Read with `ip -j -d`, in the
 * calling process's network namespace. Or several (findUplinks): the node's address on a
 * loopback or dummy, reached over whichever uplink the underlay's routes choose.
 */
import fs from 'node:fs';

import { addon, type LinkOffloads } from '../bpf/native.js';
import { run } from './exec.js';

export interface UplinkInfo {
  name: string;
  ifindex: number;
  mac: string;
  mtu: number;
  /** rtnetlink kind ('veth', 'bridge', 'vxlan', …); undefined for a physical NIC. */
  kind: string | undefined;
  /** The driver behind a physical device (/sys/class/net/IF/device/driver), if any. */
  driver: string | undefined;
  /** Its GRO and segmentation offloads (SIOCETHTOOL); undefined when the device answers no ethtool request. */
  offloads?: LinkOffloads;
}

/** The device's offloads, read in this process's network namespace. */
export function linkOffloads(name: string): LinkOffloads | undefined {
  try {
    return addon().linkOffloads(name);
  } catch {
    return undefined;
  }
}

interface IpLinkJson {
  ifindex: number;
  ifname: string;
  address?: string;
  mtu: number;
  flags?: string[];
  linkinfo?: { info_kind?: string };
}

interface IpAddrJson {
  ifname: string;
  addr_info?: Array<{ family: string; local: string }>;
}

function driverOf(name: string): string | undefined {
  try {
    return fs.readlinkSync(`/sys/class/net/${name}/device/driver`).split('/').pop();
  } catch {
    return undefined;
  }
}

export async function readLink(name: string): Promise<IpLinkJson | undefined> {
  try {
    const rows = JSON.parse(await run(['ip', '-j', '-d', 'link', 'show', 'dev', name])) as IpLinkJson[];
    return rows[0];
  } catch {
    return undefined;
  }
}

/** The uplink named `name`, or the interface holding `address` when no name is given. */
export async function findUplink(name: string | undefined, address: string): Promise<UplinkInfo> {
  let ifname = name;
  if (!ifname) {
    const rows = JSON.parse(await run(['ip', '-j', '-4', 'addr', 'show'])) as IpAddrJson[];
    ifname = rows.find((r) => r.addr_info?.some((a) => a.family === 'inet' && a.local === address))?.ifname;
    if (!ifname) {
      throw new Error(`no interface in this network namespace holds the node address ${address}: pass --uplink, or run agentd in the node's namespace`);
    }
  }
  const link = await readLink(ifname);
  if (!link) throw new Error(`uplink ${ifname} does not exist in this network namespace`);
  if (!link.address || link.address === '00:00:00:00:00:00') throw new Error(`uplink ${ifname} has no Ethernet address: burrow needs an Ethernet uplink`);
  const offloads = linkOffloads(ifname);
  return { name: ifname, ifindex: link.ifindex, mac: link.address, mtu: link.mtu, kind: link.linkinfo?.info_kind, driver: driverOf(ifname), ...(offloads ? { offloads } : {}) };
}

/**
 * The uplinks (docs/datapath.md, "Loopback tunnel source"): what decap attaches to, and whether
 * tc_encap asks the FIB for the way out (`fib`) instead of sending everything out of `primary`.
 */
export interface UplinkSet {
  /** The first uplink: its ifindex marks the config entry as having one (tc_encap step 7). */
  readonly primary: UplinkInfo;
  readonly all: readonly UplinkInfo[];
  /** The node address is not on the one uplink, or there are several: UPLINK_FIB. */
  readonly fib: boolean;
  /** The smallest MTU of them all: the uplink MTU the tunnel MTU is derived from. */
  readonly mtu: number;
  /** The interface holding the node address, when it is none of the uplinks (a loopback or dummy). */
  readonly sourceDevice?: string;
}

interface IpRouteJson {
  dst?: string;
  gateway?: string;
  dev?: string;
}

/** A loopback or dummy: holds an address, carries no packets to the underlay. */
function isSourceOnly(name: string, link: IpLinkJson | undefined): boolean {
  return name === 'lo' || link?.linkinfo?.info_kind === 'dummy' || link?.flags?.includes('LOOPBACK') === true;
}

/**
 * `names` (--uplink a,b), or: the interface holding `address` when it is an Ethernet uplink;
 * when the address sits on a loopback or dummy, every interface that carries an IPv4 route via
 * a gateway (the underlay's routes), but `exclude` (the tunnel device).
 */
export async function findUplinks(names: readonly string[] | undefined, address: string, exclude: readonly string[] = []): Promise<UplinkSet> {
  const rows = JSON.parse(await run(['ip', '-j', '-4', 'addr', 'show'])) as IpAddrJson[];
  const holder = rows.find((r) => r.addr_info?.some((a) => a.family === 'inet' && a.local === address))?.ifname;
  let chosen: string[];
  if (names && names.length > 0) {
    chosen = [...new Set(names)];
  } else {
    if (!holder) {
      throw new Error(`no interface in this network namespace holds the node address ${address}: pass --uplink, or run agentd in the node's namespace`);
    }
    if (!isSourceOnly(holder, await readLink(holder))) {
      chosen = [holder];
    } else {
      const routes = JSON.parse(await run(['ip', '-j', '-4', 'route', 'show'])) as IpRouteJson[];
      chosen = [...new Set(routes.filter((r) => r.gateway && r.dev && r.dev !== holder && !exclude.includes(r.dev)).map((r) => r.dev!))];
      if (chosen.length === 0) {
        throw new Error(`the node address ${address} is on ${holder} and no IPv4 route leaves via a gateway: pass --uplink IF[,IF…]`);
      }
    }
  }
  const all: UplinkInfo[] = [];
  for (const name of chosen) all.push(await findUplink(name, address));
  const onUplink = holder !== undefined && chosen.includes(holder);
  return {
    primary: all[0]!,
    all,
    fib: all.length > 1 || !onUplink,
    mtu: Math.min(...all.map((u) => u.mtu)),
    ...(!onUplink && holder ? { sourceDevice: holder } : {}),
  };
}

export type DecapHook = 'xdp' | 'tc';
export type DecapHookChoice = DecapHook | 'auto';
export interface DecapHookDecision {
  hook: DecapHook;
  reason: string;
}

/** A veth as it comes: TSO or GSO on, so whole GSO segments cross it (no NIC does that). */
export function carriesGsoSegments(uplink: UplinkInfo): boolean {
  const o = uplink.offloads;
  return uplink.kind === 'veth' && (o === undefined || o.tso || o.gso);
}

export type GroHopChoice = 'auto' | 'on' | 'off';
export interface GroHopDecision {
  on: boolean;
  reason: string;
}

/**
 * `--vxlan-gro` (docs/datapath.md, "VXLAN through the tunnel device's GRO"): whether tc_decap sends
 * decapsulated VXLAN through the tunnel device, whose GRO merges the inner segments the uplink's
 * GRO could not. `auto`: on unless an uplink carries whole GSO segments (a veth as it comes: they
 * arrive merged already, and the tunnel device's peer, TSO off, would segment them again).
 */
export function chooseGroHop(requested: GroHopChoice, uplinks: readonly UplinkInfo[]): GroHopDecision {
  if (requested !== 'auto') return { on: requested === 'on', reason: 'requested' };
  const gso = uplinks.find(carriesGsoSegments);
  return gso
    ? { on: false, reason: `${gso.name} is a veth carrying GSO segments: VXLAN arrives merged` }
    : { on: true, reason: 'uplinks segment (MTU-sized frames): VXLAN is merged after decapsulation, by the tunnel device\'s GRO' };
}

/**
 * `auto` (docs/datapath.md, "Choosing the decap hook"): XDP on a NIC with a driver (attach then
 * tries native mode and falls back to TC if the driver has none); on a veth set up like a wire
 * (segmentation offloads off, GRO on: MTU-sized frames that GRO merges) TC (GRO merges IPIP before
 * TC decap, and VXLAN after it through the tunnel device's GRO, where XDP on a veth copies each
 * frame), or XDP when VXLAN is in use without that GRO hop (`groHop` false: XDP decap runs before
 * GRO, so the inner segments are merged, where TC decap alone would pass every VXLAN packet up
 * alone); TC on a veth as it comes (it carries whole GSO segments, and XDP on a veth strips GSO
 * from its peer: ~4x less TCP throughput) and on other virtual devices.
 */
export function chooseDecapHook(requested: DecapHookChoice, uplink: UplinkInfo, use: { vxlan: boolean; groHop?: boolean } = { vxlan: true }): DecapHookDecision {
  if (requested !== 'auto') return { hook: requested, reason: 'requested' };
  const o = uplink.offloads;
  if (uplink.kind === 'veth' && o && o.gro && !o.tso && !o.gso) {
    if (!use.vxlan) return { hook: 'tc', reason: 'veth set up like a wire (TSO and GSO off, GRO on), IPIP only: GRO merges IPIP before TC decap' };
    return use.groHop
      ? { hook: 'tc', reason: 'veth set up like a wire (TSO and GSO off, GRO on), VXLAN in use: GRO merges IPIP before TC decap and VXLAN after it, on the tunnel device' }
      : { hook: 'xdp', reason: 'veth set up like a wire (TSO and GSO off, GRO on), VXLAN in use without the GRO hop: XDP decap runs before GRO, which then merges the inner segments' };
  }
  if (uplink.kind === 'veth') return { hook: 'tc', reason: 'veth uplink carrying GSO segments: XDP would strip GSO from its peer' };
  if (!uplink.driver) return { hook: 'tc', reason: `${uplink.kind ?? 'virtual'} device without a driver: no native XDP` };
  return { hook: 'xdp', reason: `driver ${uplink.driver}: native XDP` };
}
