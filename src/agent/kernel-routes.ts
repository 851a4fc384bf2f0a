/**
 * Kernel routes that burrow owns: tagged with their own routing protocol number (`proto 211` by
 * default), so listing and deleting never touches a route someone else made. Changes go through
 * one `ip -batch` call: thousands of routes cost one process, not thousands.
 *
 * Listing reads the kernel directly: one rtnetlink RTM_GETROUTE dump (burrow_rtnl.node sends it
 * and hands back the reply bytes; this file builds the request and parses the reply). The kernel
 * filters by protocol and table itself, so the reply holds only burrow's routes. At 100k routes
 * that is ~0.1 s of CPU (~30 ms of it the kernel's), where `ip -j route show` + JSON.parse took
 * ~0.8 s of CPU and 0.5–1.2 s of wall time: ip formats every route and fflush()es after each (100k
 * write()s), node reads the pipe in as many small chunks, then parses 10 MB of JSON. Text output
 * (`ip -o`) is no better: ip's own formatting alone is ~0.2–0.3 s. See bench/kernel-routes.ts.
 *
 * The result is what parsing `ip -j -4 route show proto N` gave (listKernelRoutesWithIp, kept as
 * the reference the tests compare against), field for field, except that a default route is
 * 0.0.0.0/0 (ip says "default", which the old parser turned into "default/32").
 */
import os from 'node:os';

import { rtnlAddon, type NativeRtnl } from '../bpf/native.js';
import { run } from './exec.js';

export const BURROW_ROUTE_PROTO = 211;

export interface KernelRoute {
  dst: string;            // CIDR
  dev?: string | undefined;
  via?: string | undefined;
  mtu?: number | undefined;
  /** `mtu lock`: path MTU discovery may not raise or lower it (the path MTU routes, pmtu.ts). */
  mtuLock?: boolean | undefined;
  onlink?: boolean | undefined;
  /** Preferred source address (the node's tunnel address, when it sets one). */
  src?: string | undefined;
}

// ---- rtnetlink constants (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h) -----------------
const NLMSG_HDRLEN = 16;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const NLM_F_DUMP_INTR = 0x10;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWROUTE = 24;
const RTM_GETROUTE = 26;
const AF_INET = 2;
const RT_TABLE_MAIN = 254;
const RTM_F_CLONED = 0x200;
const RTNH_F_ONLINK = 0x4;
const RTMSG_LEN = 12;
const IFINFOMSG_LEN = 16;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PREFSRC = 7;
const RTA_METRICS = 8;
const RTA_TABLE = 15;
const RTAX_MTU = 2;
const IFLA_IFNAME = 3;
const NLA_TYPE_MASK = 0x3fff; // without NLA_F_NESTED / NLA_F_NET_BYTEORDER

const align4 = (n: number): number => (n + 3) & ~3;

const OCTET = Array.from({ length: 256 }, (_, i) => String(i));
function ipv4At(buf: Buffer, at: number): string {
  return `${OCTET[buf[at]!]}.${OCTET[buf[at + 1]!]}.${OCTET[buf[at + 2]!]}.${OCTET[buf[at + 3]!]}`;
}

/** RTM_GETROUTE dump of the main IPv4 table, routes of protocol `proto` only (filtered by the kernel). */
export function routeDumpRequest(proto: number, seq = 1): Buffer {
  const b = Buffer.alloc(NLMSG_HDRLEN + RTMSG_LEN);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(RTM_GETROUTE, 4);
  b.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
  b.writeUInt32LE(seq, 8);
  // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags (u32)
  b[NLMSG_HDRLEN] = AF_INET;
  b[NLMSG_HDRLEN + 4] = RT_TABLE_MAIN;
  b[NLMSG_HDRLEN + 5] = proto;
  return b;
}

/** RTM_GETLINK dump: every device of the namespace (for ifindex → name). */
export function linkDumpRequest(seq = 1): Buffer {
  const b = Buffer.alloc(NLMSG_HDRLEN + IFINFOMSG_LEN);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(RTM_GETLINK, 4);
  b.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
  b.writeUInt32LE(seq, 8);
  return b;
}

/** A reply the parser does not understand: never skipped, always thrown. */
export class RouteDumpError extends Error {
  override readonly name: string = 'RouteDumpError';
}

/** The kernel marked the dump inconsistent (the table changed while it was read): dump again. */
export class RouteDumpInterruptedError extends RouteDumpError {
  override readonly name = 'RouteDumpInterruptedError';
}

// Netlink headers and attributes are in host byte order (little-endian on every host burrow runs
// on: its eBPF objects are built for bpfel), addresses in network order. Byte arithmetic rather
// than Buffer.readUInt*: this loop runs once per route, 100k times per resync.
const u16 = (b: Buffer, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Buffer, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/** Each netlink message of a dump: (type, flags, payload start, end); throws on a malformed one. */
function eachMessage(buf: Buffer, what: string, fn: (type: number, start: number, end: number) => void): void {
  const n = buf.length;
  for (let off = 0; off < n; ) {
    if (n - off < NLMSG_HDRLEN) throw new RouteDumpError(`${what}: ${n - off} stray bytes at offset ${off}`);
    const len = u32(buf, off);
    if (len < NLMSG_HDRLEN || off + len > n) throw new RouteDumpError(`${what}: a message of length ${len} at offset ${off} of ${n}`);
    if (u16(buf, off + 6) & NLM_F_DUMP_INTR) throw new RouteDumpInterruptedError(`${what}: the kernel marked the dump interrupted`);
    fn(u16(buf, off + 4), off + NLMSG_HDRLEN, off + len);
    off += align4(len);
  }
}

function badAttr(what: string, at: number, alen: number): RouteDumpError {
  return new RouteDumpError(`${what}: an attribute of length ${alen} at offset ${at} runs past its message`);
}

/**
 * Destination CIDRs written as ASCII into one buffer and made strings with one decode and one
 * split: a template string per route costs several string allocations (and GC work) each, which
 * at 100k routes was a third of the listing's time.
 */
class CidrText {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private len = 0;

  /** `addr` is the offset of 4 address bytes in `src`, or -1 for 0.0.0.0. */
  add(src: Buffer, addr: number, prefixLen: number): void {
    if (this.buf.length - this.len < 20) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    const b = this.buf;
    let n = this.len;
    for (let k = 0; k < 4; k++) {
      if (k > 0) b[n++] = 0x2e; // '.'
      const v = addr < 0 ? 0 : src[addr + k]!;
      if (v >= 100) b[n++] = 0x30 + Math.floor(v / 100);
      if (v >= 10) b[n++] = 0x30 + (Math.floor(v / 10) % 10);
      b[n++] = 0x30 + (v % 10);
    }
    b[n++] = 0x2f; // '/'
    if (prefixLen >= 10) b[n++] = 0x30 + Math.floor(prefixLen / 10);
    b[n++] = 0x30 + (prefixLen % 10);
    b[n++] = 0x0a; // '\n'
    this.len = n;
  }

  strings(): string[] {
    if (this.len === 0) return [];
    return this.buf.toString('latin1', 0, this.len - 1).split('\n');
  }
}

/** ifindex → name, from an RTM_GETLINK dump. */
export function parseLinkDump(buf: Buffer): Map<number, string> {
  const names = new Map<number, string>();
  eachMessage(buf, 'link dump', (type, start, end) => {
    if (type !== RTM_NEWLINK) throw new RouteDumpError(`link dump: unexpected netlink message type ${type}`);
    if (end - start < IFINFOMSG_LEN) throw new RouteDumpError('link dump: a message shorter than struct ifinfomsg');
    const index = u32(buf, start + 4);
    for (let a = start + IFINFOMSG_LEN; a + 4 <= end; ) {
      const alen = u16(buf, a);
      if (alen < 4 || a + alen > end) throw badAttr('link dump', a, alen);
      if ((u16(buf, a + 2) & NLA_TYPE_MASK) === IFLA_IFNAME) {
        const nul = buf.indexOf(0, a + 4);
        names.set(index, buf.toString('utf8', a + 4, nul >= 0 && nul < a + alen ? nul : a + alen));
        break;
      }
      a += align4(alen);
    }
  });
  return names;
}

/**
 * The routes of an RTM_GETROUTE dump that `ip -4 route show proto N` would show (IPv4, main
 * table, that protocol, not cached clones), as KernelRoutes: exactly what parsing `ip -j`'s output
 * gives (see listKernelRoutesWithIp), except a default route, which is 0.0.0.0/0 here ("default"
 * there). A multipath route has no top-level gateway or device, as with ip. Anything that is not
 * a well-formed route message throws RouteDumpError; a dump the kernel marked interrupted throws
 * RouteDumpInterruptedError.
 */
export function parseRouteDump(buf: Buffer, proto: number, ifName: (ifindex: number) => string): KernelRoute[] {
  const routes: KernelRoute[] = [];
  const addrs = new Map<number, string>(); // gateways and sources repeat: one string each
  const addrAt = (at: number): string => {
    const n = u32(buf, at);
    let s = addrs.get(n);
    if (s === undefined) addrs.set(n, (s = ipv4At(buf, at)));
    return s;
  };
  const dsts = new CidrText();
  let lastOif = -1;
  let lastDev = '';
  eachMessage(buf, 'route dump', (type, r, end) => {
    if (type !== RTM_NEWROUTE) throw new RouteDumpError(`route dump: unexpected netlink message type ${type}`);
    if (end - r < RTMSG_LEN) throw new RouteDumpError('route dump: a message shorter than struct rtmsg');
    const rtFlags = u32(buf, r + 8);
    if (buf[r] !== AF_INET || buf[r + 5] !== proto || rtFlags & RTM_F_CLONED) return;
    let table = buf[r + 4]!;
    let dst = -1;
    let oif = -1;
    let gateway = -1;
    let prefsrc = -1;
    let mtu = 0;
    for (let a = r + RTMSG_LEN; a + 4 <= end; ) {
      const alen = u16(buf, a);
      if (alen < 4 || a + alen > end) throw badAttr('route dump', a, alen);
      const type = u16(buf, a + 2) & NLA_TYPE_MASK;
      if (type === RTA_DST || type === RTA_OIF || type === RTA_GATEWAY || type === RTA_PREFSRC || type === RTA_TABLE) {
        if (alen !== 8) throw new RouteDumpError(`route dump: attribute ${type} of ${alen - 4} bytes in an IPv4 route (4 expected)`);
        if (type === RTA_DST) dst = a + 4;
        else if (type === RTA_OIF) oif = u32(buf, a + 4);
        else if (type === RTA_GATEWAY) gateway = a + 4;
        else if (type === RTA_PREFSRC) prefsrc = a + 4;
        else table = u32(buf, a + 4);
      } else if (type === RTA_METRICS) {
        for (let x = a + 4; x + 4 <= a + alen; ) {
          const xlen = u16(buf, x);
          if (xlen < 4 || x + xlen > a + alen) throw badAttr('route dump: RTA_METRICS', x, xlen);
          if ((u16(buf, x + 2) & NLA_TYPE_MASK) === RTAX_MTU) {
            if (xlen !== 8) throw new RouteDumpError(`route dump: RTAX_MTU of ${xlen - 4} bytes (4 expected)`);
            mtu = u32(buf, x + 4);
          }
          x += align4(xlen);
        }
      }
      // The others (RTA_PRIORITY, RTA_MULTIPATH, RTA_NH_ID, ...) are not KernelRoute fields.
      a += align4(alen);
    }
    if (table !== RT_TABLE_MAIN) return;
    dsts.add(buf, dst, buf[r + 1]!);
    let dev = '';
    if (oif >= 0 && oif !== lastOif) {
      lastOif = oif;
      lastDev = ifName(oif);
    }
    if (oif >= 0) dev = lastDev;
    const onlink = (rtFlags & RTNH_F_ONLINK) !== 0;
    // dst is filled in below. The shapes the reconciler makes are built as one literal each (one
    // allocation, no property-store growth); anything else field by field. Either way a field is
    // present only when the kernel gave it, as with ip.
    let route: KernelRoute;
    if (oif >= 0 && gateway >= 0 && mtu && onlink) {
      route = prefsrc >= 0
        ? { dst: '', dev, via: addrAt(gateway), mtu, onlink: true, src: addrAt(prefsrc) }
        : { dst: '', dev, via: addrAt(gateway), mtu, onlink: true };
    } else if (oif >= 0 && gateway >= 0 && !mtu && !onlink && prefsrc < 0) {
      route = { dst: '', dev, via: addrAt(gateway) };
    } else {
      route = { dst: '' };
      if (oif >= 0) route.dev = dev;
      if (gateway >= 0) route.via = addrAt(gateway);
      if (mtu) route.mtu = mtu;
      if (onlink) route.onlink = true;
      if (prefsrc >= 0) route.src = addrAt(prefsrc);
    }
    routes.push(route);
  });
  const texts = dsts.strings();
  for (let i = 0; i < routes.length; i++) routes[i]!.dst = texts[i]!;
  return routes;
}

let warnedNoAddon = false;

/**
 * Lists the calling thread's network namespace's routes of protocol `proto` (main table, IPv4)
 * with one rtnetlink dump. Synchronous inside: call it from the thread that is in the namespace.
 */
export async function listKernelRoutes(proto = BURROW_ROUTE_PROTO): Promise<KernelRoute[]> {
  if (os.endianness() !== 'LE') throw new Error('listKernelRoutes: netlink is parsed as little-endian (host order) and this host is not');
  let rtnl: NativeRtnl;
  try {
    rtnl = rtnlAddon();
  } catch (e) {
    // An install without burrow_rtnl.node (a build that predates it, an image that did not copy
    // it): correct but slow at scale, so say so once instead of failing every reconcile.
    if (!warnedNoAddon) {
      warnedNoAddon = true;
      process.emitWarning(`${e instanceof Error ? e.message : String(e)}; listing kernel routes with \`ip -j\` instead (slow with many routes)`, 'BurrowWarning');
    }
    return listKernelRoutesWithIp(proto);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      const dump = rtnl.rtnlDump(routeDumpRequest(proto));
      // Devices come as ifindexes: their names from a link dump (not /sys, which shows the
      // namespace it was mounted in, not necessarily this thread's).
      const names = dump.length > 0 ? parseLinkDump(rtnl.rtnlDump(linkDumpRequest())) : new Map<number, string>();
      // A device gone between the two dumps: ip shows it as if<N> too.
      return parseRouteDump(dump, proto, (i) => names.get(i) ?? `if${i}`);
    } catch (e) {
      if (!(e instanceof RouteDumpInterruptedError) || attempt >= 3) throw e;
    }
  }
}

interface IpRouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
  metrics?: Array<{ mtu?: number }>;
  flags?: string[];
  prefsrc?: string;
}

function normaliseDst(dst: string): string {
  return dst.includes('/') ? dst : `${dst}/32`;
}

/**
 * The same list through `ip -j -4 route show proto N` and JSON.parse: the reference the netlink
 * listing is tested against (and what listKernelRoutes did before it). Slow at scale.
 */
export async function listKernelRoutesWithIp(proto = BURROW_ROUTE_PROTO): Promise<KernelRoute[]> {
  const out = await run(['ip', '-j', '-4', 'route', 'show', 'proto', String(proto)]);
  const rows = (out.trim() ? JSON.parse(out) : []) as IpRouteJson[];
  return rows.map((r) => {
    const route: KernelRoute = { dst: normaliseDst(r.dst) };
    if (r.dev) route.dev = r.dev;
    if (r.gateway) route.via = r.gateway;
    const mtu = r.metrics?.find((m) => m.mtu !== undefined)?.mtu;
    if (mtu) route.mtu = mtu;
    if (r.flags?.includes('onlink')) route.onlink = true;
    if (r.prefsrc) route.src = r.prefsrc;
    return route;
  });
}

export function routeReplaceLine(r: KernelRoute, proto = BURROW_ROUTE_PROTO): string {
  const parts = ['route', 'replace', r.dst];
  if (r.via) parts.push('via', r.via);
  if (r.dev) parts.push('dev', r.dev);
  if (r.onlink) parts.push('onlink');
  if (r.mtu) parts.push('mtu', ...(r.mtuLock ? ['lock'] : []), String(r.mtu));
  if (r.src) parts.push('src', r.src);
  parts.push('proto', String(proto));
  return parts.join(' ');
}

export function routeDeleteLine(r: KernelRoute, proto = BURROW_ROUTE_PROTO): string {
  return `route del ${r.dst} proto ${proto}`;
}

/**
 * Applies replaces first, then deletes (make-before-break), in one ip process; ip stops at the
 * first line the kernel refuses (a later resync converges).
 *
 * Its cost is the kernel's, and it grows with the number of distinct gateways: the kernel shares
 * one fib_info per (device, gateway, src, metrics) between routes, and finds it in a hash that
 * does not include the gateway (fib_info_hashfn: protocol, scope, prefsrc, priority, oif), so
 * every route written scans the fib_infos of all nodes on that device. At 5,000 nodes × 20 blocks
 * adding all 100k routes takes ~2–2.5 s of kernel time, rewriting 100k unchanged ones ~9–10 s
 * (the planner only writes what differs, so that happens only if the desired state really
 * changes everything), deleting 100k ~1–1.5 s, while 10 changed routes take a few ms. ip's own
 * share is ~0.2–0.3 s per 100k lines; -force or chunking would not change the kernel's part.
 * (Nexthop objects, `nhid`, are hashed by id and cut the 100k add to ~1 s and the unchanged
 * rewrite to ~0.8 s, but change what the routes look like.)
 */
export async function applyKernelRoutes(
  replace: readonly KernelRoute[],
  remove: readonly KernelRoute[],
  proto = BURROW_ROUTE_PROTO,
): Promise<void> {
  const lines = [...replace.map((r) => routeReplaceLine(r, proto)), ...remove.map((r) => routeDeleteLine(r, proto))];
  if (lines.length === 0) return;
  await run(['ip', '-4', '-batch', '-'], { input: lines.join('\n') + '\n' });
}
