// A loopback tunnel source (issue 12 point 3; docs/datapath.md, "Loopback tunnel source"):
// node-a holds its node address on lo (a loopback source) and reaches the router over two uplinks, eth0 preferred
// by metric, eth1 the backup (src/lab/topology.ts, loopbackSourceTopology). agentd finds both
// uplinks from the routes (no --uplink), attaches decap to each and sets UPLINK_FIB, so tc_encap
// sends each outer packet where the FIB says. Traffic flows over eth0; `ip link set eth0 down`
// moves it to eth1 with no agent restart, the gap in a 100/s ping is printed (and only bounded
// by 10 s), and afterwards a sha256-checked TCP transfer works both ways, its packets to node-a
// arriving (and decapsulated) on eth1.
import type { ExecutionContext } from 'ava';

import { openDatapathMaps } from '../../src/agent/datapath.js';
import type { Lab } from '../../src/lab/lab.js';
import { loopbackSourceTopology } from '../../src/lab/topology.js';
import { ping, startPing } from '../../src/lab/traffic.js';
import { BurrowConfigFlag } from '../../src/bpf/structs.js';
import { MiB, MODE_HOOK_CASES as cases, assertPodsConnected, counters, labWithAgents } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

/** Packets through node-a's `dev` so far (ip -s link). */
function linkStats(lab: Lab, dev: string): { rx: number; tx: number; rxBytes: number } {
  const [row] = JSON.parse(lab.ip(lab.node('node-a').ns, '-j', '-s', 'link', 'show', 'dev', dev)) as Array<{ stats64: { rx: { packets: number; bytes: number }; tx: { packets: number } } }>;
  return { rx: row!.stats64.rx.packets, tx: row!.stats64.tx.packets, rxBytes: row!.stats64.rx.bytes };
}

function delta(before: { rx: number; tx: number; rxBytes: number }, after: { rx: number; tx: number; rxBytes: number }): { rx: number; tx: number; rxBytes: number } {
  return { rx: after.rx - before.rx, tx: after.tx - before.tx, rxBytes: after.rxBytes - before.rxBytes };
}

/** The longest run of echo requests without a reply, between the first and the last reply. */
function longestGap(output: string): { missing: number; firstSeq: number; lastSeq: number } {
  const seqs = [...output.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  let missing = 0;
  for (let i = 1; i < seqs.length; i++) missing = Math.max(missing, seqs[i]! - seqs[i - 1]! - 1);
  return { missing, firstSeq: seqs[0] ?? 0, lastSeq: seqs.at(-1) ?? 0 };
}

function configFlags(lab: Lab, node: string): number {
  const maps = openDatapathMaps(lab.node(node).pinRoot);
  try {
    return maps.config.get(0)!.flags;
  } finally {
    maps.close();
  }
}

async function trafficOver(t: ExecutionContext, lab: Lab, dev: string, idle: string, what: string): Promise<void> {
  const a = lab.pod('node-a');
  const c = lab.pod('node-c');
  const before = { [dev]: linkStats(lab, dev), [idle]: linkStats(lab, idle) };
  const p = await ping(a.ns, c.address, { count: 200, interval: 0.01 });
  t.is(p.received, 200, `${what}: 200 pings pod a → pod c:\n${p.output.slice(-400)}`);
  const used = delta(before[dev]!, linkStats(lab, dev));
  const unused = delta(before[idle]!, linkStats(lab, idle));
  t.true(used.tx >= 200 && used.rx >= 200, `${what}: the pings left and came back over ${dev}: ${JSON.stringify(used)}`);
  t.true(unused.tx < 20 && unused.rx < 20, `${what}: ${idle} carried (almost) none of them: ${JSON.stringify(unused)}`);
}

for (const { mode, hook } of cases) {
  privileged.serial(`${mode}Mode Always, ${hook.toUpperCase()} decap: a tunnel source on lo fails over from eth0 to eth1 without a restart`, async (t) => {
    const pool = mode === 'ipip' ? { ipipMode: 'Always' as const } : { vxlanMode: 'Always' as const };
    const { lab, agents } = await labWithAgents(t, { topology: loopbackSourceTopology(), pool, agent: { decapHook: hook, detectUplink: true } });
    const agentA = agents['node-a']!;
    const links = (agentA.reconciles()[0]?.['links'] ?? []) as Array<{ iface: string; pin: string }>;
    for (const dev of ['eth0', 'eth1']) {
      t.true(links.some((l) => l.iface === dev && l.pin.startsWith(`${hook}_decap@`)), `node-a: ${hook}_decap on ${dev}: ${JSON.stringify(links)}`);
    }
    t.is(configFlags(lab, 'node-a') & BurrowConfigFlag.uplink_fib, BurrowConfigFlag.uplink_fib, 'node-a: tc_encap asks the FIB (UPLINK_FIB)');
    t.is(configFlags(lab, 'node-c') & BurrowConfigFlag.uplink_fib, 0, 'node-c, address on its uplink: a fixed uplink');

    await assertPodsConnected(t, lab, 'node-a', 'node-c', 4 * MiB);
    await assertPodsConnected(t, lab, 'node-a', 'node-b', 4 * MiB);
    await trafficOver(t, lab, 'eth0', 'eth1', 'before');

    // 100/s for 8 s; eth0 goes down after 2 s.
    const a = lab.pod('node-a');
    const c = lab.pod('node-c');
    const running = startPing(a.ns, c.address, { count: 800, interval: 0.01, wait: 1 });
    await new Promise((r) => setTimeout(r, 2000));
    lab.ip(lab.node('node-a').ns, 'link', 'set', 'eth0', 'down');
    const p = await running.done;
    const gap = longestGap(p.output);
    t.log(`${mode}/${hook}: failover gap ${gap.missing} pings of 10 ms = ${gap.missing * 10} ms; ${p.received}/${p.transmitted} answered`);
    t.is(p.transmitted, 800, `the ping ran to its end:\n${p.output.slice(-400)}`);
    t.true(gap.missing * 10 < 10_000, `failover within 10 s: ${gap.missing} pings unanswered in a row`);
    t.is(gap.lastSeq, 800, `pings are answered again after the failover (last answered: ${gap.lastSeq})`);
    t.true(agentA.running, 'node-a\'s agentd never restarted');

    await trafficOver(t, lab, 'eth1', 'eth0', 'after eth0 went down');
    const beforeTcp = linkStats(lab, 'eth1');
    const decapBefore = counters(lab, 'node-a')[`decap_${mode}`]!;
    await assertPodsConnected(t, lab, 'node-a', 'node-c', 4 * MiB);
    await assertPodsConnected(t, lab, 'node-a', 'node-b', 4 * MiB);
    const overEth1 = delta(beforeTcp, linkStats(lab, 'eth1'));
    const decapped = counters(lab, 'node-a')[`decap_${mode}`]! - decapBefore;
    // Two 4 MiB transfers towards node-a (from node-c and node-b); veth GRO makes few, large packets.
    t.true(overEth1.rxBytes >= 8 * MiB && decapped >= 50, `the transfers came in over eth1 (${overEth1.rxBytes} bytes in ${overEth1.rx} packets) and node-a decapsulated them (${decapped} packets)`);
    for (const node of ['node-a', 'node-b', 'node-c']) {
      const drops = Object.entries(counters(lab, node)).filter(([k, v]) => k.startsWith('drop_') && v > 0);
      t.deepEqual(drops, [], `${node} dropped nothing`);
    }
  });
}
