// Listing burrow's kernel routes with one rtnetlink dump (kernel-routes.ts) gives exactly what
// parsing `ip -j route show proto 211` gave: every shape the reconciler makes (tunnel: via + dev +
// onlink + mtu, with and without src; direct: via, with and without dev) and the odd ones ip also
// shows (host route, locked mtu, metric, multipath, blackhole), in throwaway namespaces; other
// protocols and tables stay out; 5,000 routes round-trip exactly through apply and list. The
// parser itself is checked on hand-made replies (no root): what it does not understand throws.
import test, { type ExecutionContext } from 'ava';

import {
  applyKernelRoutes,
  linkDumpRequest,
  listKernelRoutes,
  listKernelRoutesWithIp,
  parseLinkDump,
  parseRouteDump,
  routeDumpRequest,
  RouteDumpError,
  RouteDumpInterruptedError,
  type KernelRoute,
} from '../../src/agent/kernel-routes.js';
import { rtnlAddon } from '../../src/bpf/native.js';
import { addVeth, createNetns, type TestNetns } from '../helpers/netns.js';
import { privileged } from '../helpers/privileged.js';

// ---- hand-made netlink replies -----------------------------------------------------------------

function nla(type: number, data: Buffer): Buffer {
  const b = Buffer.alloc((4 + data.length + 3) & ~3);
  b.writeUInt16LE(4 + data.length, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const ip4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));

function nlmsg(type: number, payload: Buffer, flags = 0x2 /* NLM_F_MULTI */): Buffer {
  const b = Buffer.alloc(16 + payload.length);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  payload.copy(b, 16);
  return b;
}

interface RtSpec {
  dst?: string;
  dstLen: number;
  proto?: number;
  table?: number;
  family?: number;
  flags?: number;
  attrs?: Buffer[];
}

function rtmsg(s: RtSpec): Buffer {
  const head = Buffer.alloc(12);
  head[0] = s.family ?? 2;
  head[1] = s.dstLen;
  const table = s.table ?? 254;
  head[4] = table > 255 ? 252 : table; // RT_TABLE_COMPAT when it needs RTA_TABLE
  head[5] = s.proto ?? 211;
  head[7] = 1; // RTN_UNICAST
  head.writeUInt32LE(s.flags ?? 0, 8);
  const attrs = [nla(15, u32(table)), ...(s.dst ? [nla(1, ip4(s.dst))] : []), ...(s.attrs ?? [])];
  return nlmsg(24, Buffer.concat([head, ...attrs]));
}

const names = (i: number): string => ({ 3: 'burrow0', 2: 'eth0' })[i] ?? `if${i}`;
const tunnelAttrs = [nla(5, ip4('10.0.2.10')), nla(4, u32(3)), nla(8 | 0x8000, nla(2, u32(1480)))];

test('parseRouteDump: a tunnel route, with src, a direct route, a default route; others are skipped', (t) => {
  const dump = Buffer.concat([
    rtmsg({ dst: '192.168.2.0', dstLen: 26, flags: 4 /* onlink */, attrs: tunnelAttrs }),
    rtmsg({ dst: '192.168.3.0', dstLen: 26, flags: 4, attrs: [...tunnelAttrs, nla(7, ip4('192.168.0.1')), nla(6, u32(100))] }),
    rtmsg({ dst: '192.168.1.0', dstLen: 26, attrs: [nla(5, ip4('10.0.1.11')), nla(4, u32(2))] }),
    rtmsg({ dstLen: 0, attrs: [nla(5, ip4('10.0.1.1')), nla(4, u32(2))] }),
    rtmsg({ dst: '192.168.4.0', dstLen: 26, proto: 4, attrs: tunnelAttrs }), // another protocol
    rtmsg({ dst: '192.168.5.0', dstLen: 26, table: 100, attrs: tunnelAttrs }), // another table
    rtmsg({ dst: '192.168.6.0', dstLen: 26, flags: 0x200, attrs: tunnelAttrs }), // a cached clone
    rtmsg({ dst: '192.168.7.0', dstLen: 26, family: 10, attrs: [] }), // IPv6 (never asked for)
  ]);
  t.deepEqual(parseRouteDump(dump, 211, names), [
    { dst: '192.168.2.0/26', dev: 'burrow0', via: '10.0.2.10', mtu: 1480, onlink: true },
    { dst: '192.168.3.0/26', dev: 'burrow0', via: '10.0.2.10', mtu: 1480, onlink: true, src: '192.168.0.1' },
    { dst: '192.168.1.0/26', dev: 'eth0', via: '10.0.1.11' },
    { dst: '0.0.0.0/0', dev: 'eth0', via: '10.0.1.1' },
  ]);
  t.deepEqual(parseRouteDump(Buffer.alloc(0), 211, names), []);
});

test('parseRouteDump: what it does not understand throws instead of being dropped', (t) => {
  const good = rtmsg({ dst: '192.168.2.0', dstLen: 26, attrs: tunnelAttrs });
  const cases: [string, Buffer, RegExp][] = [
    ['another message type', nlmsg(16, Buffer.alloc(16)), /unexpected netlink message type 16/],
    ['a short rtmsg', nlmsg(24, Buffer.alloc(8)), /shorter than struct rtmsg/],
    ['a truncated message', good.subarray(0, good.length - 4), /message of length/],
    ['stray bytes', Buffer.concat([good, Buffer.alloc(6)]), /stray bytes/],
    ['an attribute past its message', rtmsg({ dst: '192.168.2.0', dstLen: 26, attrs: [Buffer.from([40, 0, 5, 0, 10, 0, 2, 10])] }), /runs past/],
    ['a 16-byte gateway in an IPv4 route', rtmsg({ dst: '192.168.2.0', dstLen: 26, attrs: [nla(5, Buffer.alloc(16))] }), /attribute 5 of 16 bytes/],
    ['an 8-byte mtu', rtmsg({ dst: '192.168.2.0', dstLen: 26, attrs: [nla(8, nla(2, Buffer.alloc(8)))] }), /RTAX_MTU of 8 bytes/],
  ];
  for (const [what, buf, message] of cases) {
    t.throws(() => parseRouteDump(buf, 211, names), { instanceOf: RouteDumpError, message }, what);
  }
  const interrupted = Buffer.from(good);
  interrupted.writeUInt16LE(0x2 | 0x10, 6); // NLM_F_DUMP_INTR
  t.throws(() => parseRouteDump(interrupted, 211, names), { instanceOf: RouteDumpInterruptedError });
});

test('parseLinkDump and the dump requests', (t) => {
  const link = (index: number, name: string) => {
    const ifi = Buffer.alloc(16);
    ifi.writeInt32LE(index, 4);
    return nlmsg(16, Buffer.concat([ifi, nla(4, u32(1500)), nla(3, Buffer.from(`${name}\0`))]));
  };
  t.deepEqual([...parseLinkDump(Buffer.concat([link(1, 'lo'), link(7, 'burrow0')]))], [[1, 'lo'], [7, 'burrow0']]);
  // nlmsghdr{len 28, RTM_GETROUTE, REQUEST|DUMP, seq 1, pid 0} rtmsg{AF_INET, table main, proto 211}
  t.is(routeDumpRequest(211).toString('hex'), '1c0000001a000103010000000000000002000000fed3000000000000');
  t.is(linkDumpRequest().readUInt16LE(4), 18);
});

// ---- in a namespace --------------------------------------------------------------------------

/** A node: eth0 10.0.1.10/24 (uplink), burrow0 with the tunnel address 192.168.0.1/32. */
function node(t: ExecutionContext): TestNetns {
  const ns = createNetns();
  t.teardown(() => ns.destroy()); // takes its routes and devices with it
  addVeth(ns, 'eth0', 'eth0p');
  ns.ip('addr', 'add', '10.0.1.10/24', 'dev', 'eth0');
  addVeth(ns, 'burrow0', 'burrow0p');
  ns.ip('addr', 'add', '192.168.0.1/32', 'dev', 'burrow0');
  return ns;
}

/** Runs an async function with the thread in `ns` for its synchronous part (the dump, the spawn). */
function inNs<T>(ns: TestNetns, fn: () => Promise<T>): Promise<T> {
  let p!: Promise<T>;
  ns.run(() => {
    p = fn();
  });
  return p;
}

const byDst = (a: KernelRoute, b: KernelRoute): number => (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0);

privileged('every route shape lists the same through netlink as through ip -j', async (t) => {
  const ns = node(t);
  const add = (...args: string[]) => ns.ip('route', 'add', ...args);
  // The reconciler's shapes, written as it writes them (applyKernelRoutes: ip -batch, replace).
  await inNs(ns, () =>
    applyKernelRoutes(
      [
        { dst: '192.168.2.0/26', via: '10.0.2.10', dev: 'burrow0', onlink: true, mtu: 1480 },
        { dst: '192.168.3.0/26', via: '10.0.3.10', dev: 'burrow0', onlink: true, mtu: 1450, src: '192.168.0.1' },
        { dst: '192.168.1.0/26', via: '10.0.1.11' },
        { dst: '192.168.4.0/26', via: '10.0.1.12', dev: 'eth0' },
      ],
      [],
    ),
  );
  // What else ip shows under proto 211.
  add('192.168.5.7/32', 'via', '10.0.2.11', 'dev', 'burrow0', 'onlink', 'mtu', '1480', 'proto', '211');
  add('192.168.6.0/26', 'via', '10.0.1.13', 'dev', 'eth0', 'mtu', 'lock', '1400', 'proto', '211');
  add('192.168.7.0/26', 'via', '10.0.1.14', 'metric', '100', 'proto', '211');
  add('192.168.8.0/26', 'proto', '211', 'nexthop', 'via', '10.0.1.15', 'nexthop', 'via', '10.0.1.16');
  add('blackhole', '192.168.9.0/26', 'proto', '211');
  add('192.168.10.0/26', 'dev', 'eth0', 'scope', 'link', 'proto', '211');
  // Not burrow's: another protocol, another table, the kernel's own.
  add('172.31.0.0/16', 'via', '10.0.1.1');
  add('192.168.11.0/26', 'via', '10.0.1.17', 'proto', '212');
  add('192.168.12.0/26', 'via', '10.0.1.18', 'table', '100', 'proto', '211');

  const viaNetlink = await inNs(ns, () => listKernelRoutes());
  const viaIp = await inNs(ns, () => listKernelRoutesWithIp());
  t.deepEqual(viaNetlink, viaIp);
  t.deepEqual(viaNetlink, [
    { dst: '192.168.1.0/26', dev: 'eth0', via: '10.0.1.11' },
    { dst: '192.168.2.0/26', dev: 'burrow0', via: '10.0.2.10', mtu: 1480, onlink: true },
    { dst: '192.168.3.0/26', dev: 'burrow0', via: '10.0.3.10', mtu: 1450, onlink: true, src: '192.168.0.1' },
    { dst: '192.168.4.0/26', dev: 'eth0', via: '10.0.1.12' },
    { dst: '192.168.5.7/32', dev: 'burrow0', via: '10.0.2.11', mtu: 1480, onlink: true },
    { dst: '192.168.6.0/26', dev: 'eth0', via: '10.0.1.13', mtu: 1400 },
    { dst: '192.168.7.0/26', dev: 'eth0', via: '10.0.1.14' },
    { dst: '192.168.8.0/26' },
    { dst: '192.168.9.0/26' },
    { dst: '192.168.10.0/26', dev: 'eth0' },
  ]);

  // Reading them back and writing them again changes nothing (for the reconciler's shapes).
  const mine = viaNetlink.filter((r) => r.via && /^192\.168\.[1-4]\./.test(r.dst));
  await inNs(ns, () => applyKernelRoutes(mine, []));
  t.deepEqual(await inNs(ns, () => listKernelRoutes()), viaNetlink);

  // A default route: ip -j says "default" (the old parser made it "default/32"); netlink 0.0.0.0/0.
  add('default', 'via', '10.0.1.1', 'proto', '211');
  const withDefault = await inNs(ns, () => listKernelRoutes());
  t.deepEqual(withDefault[0], { dst: '0.0.0.0/0', dev: 'eth0', via: '10.0.1.1' });
  t.deepEqual((await inNs(ns, () => listKernelRoutesWithIp()))[0], { dst: 'default/32', dev: 'eth0', via: '10.0.1.1' });
  await inNs(ns, () => applyKernelRoutes([], [withDefault[0]!]));
  t.deepEqual(await inNs(ns, () => listKernelRoutes()), viaNetlink, 'route del 0.0.0.0/0 proto 211 removes it');
});

privileged('the dump runs in the calling thread\'s namespace; a kernel refusal carries its reason', (t) => {
  const ns = node(t);
  ns.ip('route', 'add', '192.168.2.0/26', 'via', '10.0.1.11', 'proto', '211');
  const inside = ns.run(() => rtnlAddon().rtnlDump(routeDumpRequest(211)));
  t.deepEqual(parseRouteDump(inside, 211, (i) => `if${i}`).map((r) => r.dst), ['192.168.2.0/26']);
  // A table that does not exist: the kernel says so (strict checking, extended ack).
  const request = routeDumpRequest(211);
  request[16 + 4] = 77;
  const e = t.throws(() => ns.run(() => rtnlAddon().rtnlDump(request)));
  t.regex(e!.message, /ENOENT/);
  t.regex(e!.message, /table does not exist/i);
  t.throws(() => rtnlAddon().rtnlDump(Buffer.alloc(8)), { instanceOf: TypeError });
  const notDump = routeDumpRequest(211);
  notDump.writeUInt16LE(0x1, 6);
  t.throws(() => rtnlAddon().rtnlDump(notDump), { instanceOf: TypeError });
});

function scaleRoutes(count: number): KernelRoute[] {
  const out: KernelRoute[] = [];
  for (let i = 0; i < count; i++) {
    const n = i * 64;
    const dst = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}/26`;
    const node = Math.floor(i / 20);
    const via = `10.0.${2 + (node >> 8)}.${node & 255}`;
    if (node % 10 === 9) out.push({ dst, dev: 'eth0', via: `10.0.1.${20 + (node % 200)}` });
    else if (node % 4 === 1) out.push({ dst, dev: 'burrow0', via, mtu: 1480, onlink: true, src: '192.168.0.1' });
    else out.push({ dst, dev: 'burrow0', via, mtu: node % 3 ? 1480 : 1450, onlink: true });
  }
  return out;
}

privileged('5,000 routes round-trip exactly through apply and list, and after a few changes', async (t) => {
  const ns = node(t);
  const want = scaleRoutes(5000);
  await inNs(ns, () => applyKernelRoutes(want, []));
  const listed = await inNs(ns, () => listKernelRoutes());
  t.is(listed.length, 5000);
  t.deepEqual([...listed].sort(byDst), [...want].sort(byDst));
  t.deepEqual(listed, await inNs(ns, () => listKernelRoutesWithIp()));

  // An event: 3 routes change MTU, 2 go, 1 comes.
  const changed = [want[10]!, want[2500]!, want[4999]!].map((r) => ({ ...r, mtu: 1400 }));
  const gone = [want[0]!, want[3333]!];
  const fresh: KernelRoute = { dst: '11.0.0.0/26', dev: 'burrow0', via: '10.0.2.1', mtu: 1480, onlink: true };
  await inNs(ns, () => applyKernelRoutes([...changed, fresh], gone));
  const next = new Map(want.map((r) => [r.dst, r]));
  for (const r of changed) next.set(r.dst, r);
  for (const r of gone) next.delete(r.dst);
  next.set(fresh.dst, fresh);
  const after = await inNs(ns, () => listKernelRoutes());
  t.deepEqual([...after].sort(byDst), [...next.values()].sort(byDst));

  await inNs(ns, () => applyKernelRoutes([], after));
  t.deepEqual(await inNs(ns, () => listKernelRoutes()), []);
});
