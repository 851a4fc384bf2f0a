// Next hops (issue 16 point 4; docs/datapath.md, "Next hops"): agentd keeps each peer's device,
// next-hop MAC, source MAC and MTU in the `nexthops` map, so tc_encap (and xdp_encap) write the
// outer Ethernet header themselves instead of the kernel's route + neighbour lookup per packet.
// In the lab node-a and node-b share seg1, node-c sits behind the router on seg2:
//   - before any pod traffic, node-a's map holds node-b (node-b's eth0 MAC) and node-c (the
//     router's seg1 MAC), and those neighbours are managed (the kernel resolved them ahead of
//     traffic and keeps them valid), protocol 211;
//   - pods talk across (ping, sha256-checked TCP both ways) through those entries;
//   - node-b's eth0 changes its MAC: once node-a's kernel hears of it (an ARP from node-b),
//     agentd follows the neighbour event and the map and the pods' traffic follow;
//   - agentd stopping (with cleanup) removes the managed neighbours it made; without cleanup it
//     empties the map (nobody would follow a change while it is away).
import type { ExecutionContext } from 'ava';

import type { MapsDump, NexthopView } from '../../src/cli/views.js';
import type { Lab } from '../../src/lab/lab.js';
import { agentctlJson } from '../helpers/agentctl.js';
import { MiB, assertPodsConnected, labWithAgents } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';
import { until } from '../helpers/wait.js';

async function nexthops(lab: Lab, node: string): Promise<Map<string, NexthopView>> {
  const n = lab.node(node);
  const dump = await agentctlJson<MapsDump>(['--pin-root', n.pinRoot, 'maps', 'dump', 'nexthops', '-o', 'json'], { netns: n.ns });
  return new Map((dump.nexthops ?? []).map((h) => [h.peer, h]));
}

function macOf(lab: Lab, ns: string, dev: string): string {
  return (JSON.parse(lab.ip(ns, '-j', 'link', 'show', 'dev', dev)) as Array<{ address: string }>)[0]!.address;
}

/** The router's device on the segment of `address`, and its MAC. */
function routerMac(lab: Lab, address: string): string {
  const rows = JSON.parse(lab.ip(lab.routerNs, '-j', '-4', 'addr', 'show')) as Array<{ ifname: string; addr_info: Array<{ local: string }> }>;
  const dev = rows.find((r) => r.addr_info.some((a) => a.local === address))?.ifname;
  if (!dev) throw new Error(`no router device holds ${address}`);
  return macOf(lab, lab.routerNs, dev);
}

interface NeighbourRow { dst: string; dev: string; lladdr?: string; managed?: null; protocol?: string; state?: string[] }
function neighbours(lab: Lab, node: string): NeighbourRow[] {
  return JSON.parse(lab.ip(lab.node(node).ns, '-j', '-d', '-4', 'neigh', 'show')) as NeighbourRow[];
}

function assertEntry(t: ExecutionContext, got: NexthopView | undefined, want: Partial<NexthopView>, what: string): void {
  t.truthy(got, `${what}: an entry`);
  if (got) t.like(got, want, `${what}: ${JSON.stringify(got)}`);
}

privileged.serial('IPIP Always, TC decap: peers\' next hops resolved ahead of traffic, used, and followed across a MAC change', async (t) => {
  const { lab, agents } = await labWithAgents(t, { pool: { ipipMode: 'Always' }, agent: { decapHook: 'tc' } });
  const a = lab.node('node-a');
  const b = lab.node('node-b');
  // No pod traffic yet: the entries come from managed neighbours the kernel resolves on its own.
  let hops = new Map<string, NexthopView>();
  await until('node-a: next hops for node-b and node-c', async () => {
    hops = await nexthops(lab, 'node-a');
    return hops.has('10.0.1.11') && hops.has('10.0.2.10');
  });
  const aMac = macOf(lab, a.ns, a.uplink);
  const bMac = macOf(lab, b.ns, b.uplink);
  assertEntry(t, hops.get('10.0.1.11'), { device: a.uplink, dmac: bMac, smac: aMac, mtu: 1500 }, 'node-b, same segment: its own MAC');
  assertEntry(t, hops.get('10.0.2.10'), { device: a.uplink, dmac: routerMac(lab, '10.0.1.1'), smac: aMac, mtu: 1500 }, 'node-c, behind the router: the gateway\'s MAC');
  t.is(hops.size, 2, `only the peers: ${JSON.stringify([...hops.keys()])}`);
  for (const via of ['10.0.1.11', '10.0.1.1']) {
    const n = neighbours(lab, 'node-a').find((r) => r.dst === via && r.dev === a.uplink);
    t.true(n !== undefined && 'managed' in n && n.protocol === '211', `node-a's neighbour ${via} is managed, protocol 211: ${JSON.stringify(n)}`);
  }

  await assertPodsConnected(t, lab, 'node-a', 'node-b', 2 * MiB);
  await assertPodsConnected(t, lab, 'node-a', 'node-c', 2 * MiB);

  // node-b's uplink gets another MAC; it tells node-a by asking for node-a's address (an ARP
  // request from the new MAC overrides node-a's entry), as a replaced NIC or a moved VM would.
  const newMac = '02:42:0b:0b:0b:0b';
  lab.ip(b.ns, 'link', 'set', 'dev', b.uplink, 'address', newMac);
  lab.ip(b.ns, 'neigh', 'flush', 'dev', b.uplink);
  lab.exec(b.ns, ['ping', '-c', '1', '-W', '2', '10.0.1.10']);
  await until('node-a: the next hop of node-b follows its new MAC', async () => (await nexthops(lab, 'node-a')).get('10.0.1.11')?.dmac === newMac);
  await assertPodsConnected(t, lab, 'node-a', 'node-b', 2 * MiB);

  // Stopped without cleanup: the map is emptied (the datapath keeps forwarding the kernel's way).
  t.is(await agents['node-b']!.stop(), 0, 'node-b: agentd exits 0');
  t.is((await nexthops(lab, 'node-b')).size, 0, 'node-b: the nexthops map is empty while agentd is away');
  await assertPodsConnected(t, lab, 'node-b', 'node-c', 1 * MiB);

  // agentctl cleanup removes the managed neighbours agentd made (protocol 211), and nothing else.
  t.is(await agents['node-a']!.stop(), 0, 'node-a: agentd exits 0');
  const before = neighbours(lab, 'node-a');
  t.true(before.some((n) => n.protocol === '211'), 'node-a: managed neighbours are still there before cleanup');
  await agentctlJson(['--pin-root', a.pinRoot, 'cleanup', '-o', 'json'], { netns: a.ns });
  const after = neighbours(lab, 'node-a');
  t.deepEqual(after.filter((n) => n.protocol === '211'), [], 'node-a: no managed neighbour of protocol 211 left');
  t.true(after.every((n) => before.some((m) => m.dst === n.dst && m.dev === n.dev)), 'no other neighbour was added');
});
