// Path MTU across the underlay (issue 12, point 1): the lab's router reaches node-c's segment over
// a link narrower (1400, 1280) than node-a's uplink (1500, so node-a's tunnel MTU is 1480 IPIP /
// 1450 VXLAN). The router answers node-a's too-big outer packets (always DF) with ICMP
// frag-needed; decap learns the path MTU for node-c (`pmtu` map) and agentd installs routes to
// node-c's block with the inner MTU (path − 20 / − 50), so that the kernel tells the pods and
// fragments non-DF packets before encapsulation. Without that, TCP pod → pod delivers nothing.
// node-c sits behind the narrow link, so with MSS clamping on (the default) its SYN-ACKs already
// keep TCP within the path: the matrix teaches the path with a DF ping, and the clamping-off
// tests have TCP teach it alone.
import path from 'node:path';

import type { ExecutionContext } from 'ava';

import { openDatapathMaps } from '../../src/agent/datapath.js';
import { PMTU_ROUTE_PROTO } from '../../src/agent/pmtu.js';
import type { Lab } from '../../src/lab/lab.js';
import { clusterManifests, poolManifest, writeLabManifests } from '../../src/lab/manifests.js';
import { defaultTopology } from '../../src/lab/topology.js';
import { ping, readSyns, startCapture, tcpTransfer } from '../../src/lab/traffic.js';
import { sendFragNeeded } from '../helpers/craft.js';
import { counters as countersOf, labWithAgents, MiB } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';
import { until } from '../helpers/wait.js';

const MODES = [
  { mode: 'ipip', pool: { ipipMode: 'Always' }, overhead: 20, tunnelMtu: 1480 },
  { mode: 'vxlan', pool: { vxlanMode: 'Always' }, overhead: 50, tunnelMtu: 1450 },
] as const;
const NARROW = [1400, 1280] as const;
const HOOKS = ['tc', 'xdp'] as const;
const ROUTER_SEG1 = '10.0.1.1';

type Counters = Record<'pmtu_learned' | 'drop_pmtu_forged' | 'drop_pmtu_too_small', number> & Record<string, number>;
/** A node's datapath counters, the path MTU ones always present. */
function counters(lab: Lab, node: string): Counters {
  const c = countersOf(lab, node);
  return { ...c, pmtu_learned: c['pmtu_learned'] ?? 0, drop_pmtu_forged: c['drop_pmtu_forged'] ?? 0, drop_pmtu_too_small: c['drop_pmtu_too_small'] ?? 0 };
}

/** The `pmtu` entries of `node`: peer → MTU. */
function learned(lab: Lab, node: string): Map<string, number> {
  const maps = openDatapathMaps(lab.node(node).pinRoot);
  try {
    return new Map(maps.pmtu.entriesBatch().map(([peer, v]) => [peer, v.mtu]));
  } finally {
    maps.close();
  }
}

/** `node`'s path MTU routes (proto 212): destination → `mtu lock N` as ip prints it. */
function pmtuRoutes(lab: Lab, node: string): Map<string, string> {
  const out = lab.ip(lab.node(node).ns, '-4', 'route', 'show', 'proto', String(PMTU_ROUTE_PROTO));
  return new Map(out.split('\n').filter(Boolean).map((l) => [l.split(' ')[0]!, /mtu (lock )?\d+/.exec(l)?.[0] ?? l]));
}

async function narrowLab(t: ExecutionContext, narrow: number, pool: { ipipMode: 'Always' } | { vxlanMode: 'Always' }, hook: 'tc' | 'xdp', extraArgs: string[] = []) {
  return labWithAgents(t, {
    pool,
    topology: defaultTopology({ narrow: { segment: 'seg2', mtu: narrow } }),
    agent: { decapHook: hook, extraArgs },
  });
}

for (const { mode, pool, overhead, tunnelMtu } of MODES) {
  for (const narrow of NARROW) {
    for (const hook of HOOKS) {
      const inner = narrow - overhead;
      privileged.serial(`${mode}, ${hook} decap, path ${narrow}: 1 MiB TCP from the first try; ping -M do gets frag-needed ${inner}; non-DF pings bigger than the path arrive; forged ICMP is counted and changes nothing`, async (t) => {
        const { lab } = await narrowLab(t, narrow, pool, hook);
        const a = lab.pod('node-a');
        const c = lab.pod('node-c');
        const nodeC = lab.node('node-c').address;
        const nodeA = lab.node('node-a').address;

        // TCP across the narrow link, no MTU changed by hand, no earlier traffic.
        const x = await tcpTransfer(a.ns, c.ns, c.address, MiB);
        t.true(x.ok, `TCP node-a → node-c: sent ${x.sent.bytes} bytes sha256 ${x.sent.sha256}, received ${x.received.bytes} sha256 ${x.received.sha256}`);
        t.is(x.received.bytes, MiB);
        t.is(x.received.sha256, x.sent.sha256);

        // node-c's uplink is the narrow link, so its tunnel MTU is narrow − overhead and its MSS
        // clamp (docs/datapath.md "MSS clamping") narrow − overhead − 40: the SYN-ACK it encapsulates
        // keeps pod-a's segments within the path, and TCP alone need not meet a refusal (the
        // clamping-off tests below have TCP teach the path). A DF packet that fits node-a's tunnel
        // route but not the path does: the router refuses it and node-a learns.
        await ping(a.ns, c.address, { count: 1, size: tunnelMtu - 28, dontFragment: true, wait: 1 });
        await until(`node-a learns ${narrow} for node-c`, () => learned(lab, 'node-a').get(nodeC) === narrow, 30_000);

        // What was learned, and the route that tells the pods.
        t.deepEqual(learned(lab, 'node-a'), new Map([[nodeC, narrow]]), 'node-a learned the path MTU to node-c only');
        const cBlock = lab.node('node-c').block;
        await until(`node-a's path MTU route to ${cBlock}`, () => pmtuRoutes(lab, 'node-a').get(cBlock) === `mtu lock ${inner}`, 30_000);
        t.is(counters(lab, 'node-a').pmtu_learned > 0, true, 'the ICMP was counted as learned');

        // A connection opened now has its SYN clamped to the learned path (docs/datapath.md "MSS
        // clamping", step 3b): narrow − overhead − 40, not the tunnel MTU's tunnelMtu − 40. The
        // pod's own PMTU cache is flushed first, so that it announces its veth's 1460 and the
        // clamp, not the pod, lowers it; tshark on the router reads the MSS on the wire.
        lab.ip(a.ns, 'route', 'flush', 'cache');
        const synFile = path.join(lab.dir, `syn-${mode}-${hook}-${narrow}.pcap`);
        const clampedBefore = counters(lab, 'node-a')['mss_clamped'] ?? 0;
        const capture = await startCapture(lab.routerNs, synFile);
        const y = await tcpTransfer(a.ns, c.ns, c.address, 64 * 1024);
        await capture.stop();
        t.true(y.ok, `TCP after learning: sent ${y.sent.sha256}, received ${y.received.bytes} bytes ${y.received.sha256}`);
        const synsA = readSyns(synFile).filter((s) => s.src === a.address && s.dst === c.address && !s.ack);
        // The router's capture sees the SYN on both of its interfaces.
        t.true(synsA.length >= 1, 'pod a\'s SYN crossed the router');
        t.deepEqual([...new Set(synsA.map((s) => s.mss))], [narrow - overhead - 40], `pod a's SYN on the wire carries the path's MSS: ${JSON.stringify(synsA)}`);
        t.true((counters(lab, 'node-a')['mss_clamped'] ?? 0) > clampedBefore, 'node-a clamped it (MSS_CLAMPED)');

        // DF: too big for the path (but not for the tunnel device) → frag-needed naming the inner MTU.
        const tooBig = await ping(a.ns, c.address, { count: 2, interval: 0.3, size: tunnelMtu - 28, dontFragment: true });
        t.is(tooBig.received, 0, `${tunnelMtu}-byte DF packets do not cross a ${narrow} path:\n${tooBig.output}`);
        t.is(tooBig.fragNeededMtu, inner, `frag-needed names path − ${overhead}:\n${tooBig.output}`);
        const fits = await ping(a.ns, c.address, { count: 3, interval: 0.1, size: inner - 28, dontFragment: true });
        t.is(fits.received, 3, `${inner}-byte DF packets get through:\n${fits.output}`);

        // Non-DF, bigger than the path (and than the pods' MTU): fragmented before encapsulation.
        const big = await ping(a.ns, c.address, { count: 3, interval: 0.1, size: 1472, allowFragments: true });
        t.is(big.received, 3, `1500-byte non-DF packets arrive:\n${big.output}`);
        const bigger = await ping(a.ns, c.address, { count: 2, interval: 0.1, size: 3000, allowFragments: true });
        t.is(bigger.received, 2, `3028-byte non-DF packets arrive:\n${bigger.output}`);

        // Forged frag-needed: a packet we never sent (another source), about a non-peer, MTU < 552.
        const before = counters(lab, 'node-a');
        sendFragNeeded(lab.routerNs, nodeA, '10.0.1.99', nodeC, 600, mode);
        sendFragNeeded(lab.routerNs, nodeA, nodeA, '10.0.2.99', 600, mode);
        sendFragNeeded(lab.routerNs, nodeA, nodeA, nodeC, 500, mode);
        await until('the forged ICMPs counted', () => {
          const now = counters(lab, 'node-a');
          return now.drop_pmtu_forged - before.drop_pmtu_forged >= 2 && now.drop_pmtu_too_small - before.drop_pmtu_too_small >= 1;
        }, 30_000);
        const after = counters(lab, 'node-a');
        t.is(after.drop_pmtu_forged - before.drop_pmtu_forged, 2, 'two forgeries (source not us; destination not a peer)');
        t.is(after.drop_pmtu_too_small - before.drop_pmtu_too_small, 1, 'one MTU below 552');
        t.is(after.pmtu_learned, before.pmtu_learned, 'nothing forged was learned');
        t.deepEqual(learned(lab, 'node-a'), new Map([[nodeC, narrow]]), 'the learned path MTU is unchanged');
        t.is(pmtuRoutes(lab, 'node-a').get(cBlock), `mtu lock ${inner}`, 'the route is unchanged');
        t.false(pmtuRoutes(lab, 'node-a').has(lab.node('node-b').block), 'no route for node-b');
        t.is(countersOf(lab, 'node-c')['pass_fragment'], 0, 'no outer fragment ever reached node-c (outer DF)');
        t.log(`router ${ROUTER_SEG1}; node-a counters: ${JSON.stringify(Object.fromEntries(Object.entries(after).filter(([, v]) => v > 0)))}`);
      });
    }
  }
}

for (const { mode, pool, overhead } of MODES) {
  privileged.serial(`${mode}, clamping off (tunnelMSSClampEnabled: false), path 1400: TCP alone teaches the path MTU; 1 MiB from the first try`, async (t) => {
    const { lab } = await labWithAgents(t, {
      pool, topology: defaultTopology({ narrow: { segment: 'seg2', mtu: 1400 } }), agent: { decapHook: 'tc' }, felix: { tunnelMSSClampEnabled: false },
    });
    const a = lab.pod('node-a');
    const c = lab.pod('node-c');
    const nodeC = lab.node('node-c').address;
    // The pods announce 1460: full-size segments meet node-a's tunnel route (frag-needed from the
    // node), then the 1400 link (frag-needed from the router, learned), then the learned route.
    const x = await tcpTransfer(a.ns, c.ns, c.address, MiB);
    t.true(x.ok, `TCP node-a → node-c: sent ${x.sent.bytes} bytes sha256 ${x.sent.sha256}, received ${x.received.bytes} sha256 ${x.received.sha256}`);
    t.is(x.received.bytes, MiB);
    t.is(x.received.sha256, x.sent.sha256);
    t.deepEqual(learned(lab, 'node-a'), new Map([[nodeC, 1400]]), 'the transfer taught node-a the path MTU to node-c');
    const cBlock = lab.node('node-c').block;
    await until(`node-a's path MTU route to ${cBlock}`, () => pmtuRoutes(lab, 'node-a').get(cBlock) === `mtu lock ${1400 - overhead}`, 30_000);
    t.is(counters(lab, 'node-a').mss_clamped, 0, 'nothing clamped');
    t.is(counters(lab, 'node-c').mss_clamped, 0, 'nothing clamped');
  });
}

for (const { mode, pool, overhead } of MODES) {
  privileged.serial(`${mode}: non-DF traffic first: the outer packets carry DF, so the router refuses (and teaches) rather than fragments; node-c never sees an outer fragment, and the pings arrive`, async (t) => {
    const { lab } = await narrowLab(t, 1400, pool, 'tc');
    const a = lab.pod('node-a');
    const c = lab.pod('node-c');
    // 1480 bytes, DF clear: fits node-a's tunnel route, not the 1400 path. The first one is lost
    // (refused with DF, the router's ICMP teaches node-a); then they are fragmented before encap.
    let arrived = 0;
    await until('a non-DF 1480-byte ping arrives', async () => {
      arrived = (await ping(a.ns, c.address, { count: 1, size: 1452, allowFragments: true, wait: 1 })).received;
      return arrived === 1;
    }, 60_000, 200);
    t.is(arrived, 1);
    const more = await ping(a.ns, c.address, { count: 3, interval: 0.1, size: 1452, allowFragments: true });
    t.is(more.received, 3, `after learning every one arrives:\n${more.output}`);
    t.is(learned(lab, 'node-a').get(lab.node('node-c').address), 1400, 'learned from the refusal of a DF outer packet');
    t.is(pmtuRoutes(lab, 'node-a').get(lab.node('node-c').block), `mtu lock ${1400 - overhead}`);
    t.is(countersOf(lab, 'node-c')['pass_fragment'], 0, 'no outer fragment ever reached node-c');
  });
}

privileged.serial('a learned path MTU expires (agentd --pmtu-expiry): the entry and its route go, and come back with the next frag-needed', async (t) => {
  const { lab, agents } = await narrowLab(t, 1400, { ipipMode: 'Always' }, 'tc', ['--pmtu-expiry', '3000']);
  const a = lab.pod('node-a');
  const c = lab.pod('node-c');
  const nodeC = lab.node('node-c').address;
  const cBlock = lab.node('node-c').block;
  // A DF packet that fits the tunnel device but not the path: the router's ICMP teaches node-a.
  const probe = () => ping(a.ns, c.address, { count: 1, size: 1452, dontFragment: true, wait: 1 });
  await probe();
  await until('node-a learns 1400 for node-c', () => learned(lab, 'node-a').get(nodeC) === 1400, 30_000);
  await until('the route', () => pmtuRoutes(lab, 'node-a').get(cBlock) === 'mtu lock 1380', 30_000);
  await until('the entry expires', () => !learned(lab, 'node-a').has(nodeC), 60_000);
  await until('the route goes with it', () => !pmtuRoutes(lab, 'node-a').has(cBlock), 30_000);
  const expiryLogged = () => agents['node-a']!.records.some((r) => r.msg === 'path MTU forgotten' && r['reason'] === 'expired' && r['peer'] === nodeC);
  await until('agentd logs the expiry', expiryLogged, 30_000).catch(() => undefined);
  t.true(expiryLogged(), 'agentd logged why the entry went');
  // Learned again on the next too-big packet (the pod's own PMTU cache still says 1380: ping -M want would not send one).
  await until('learned again', async () => {
    lab.ip(a.ns, 'route', 'flush', 'cache'); // the pod's own PMTU cache would refuse to send 1480 bytes
    await probe();
    return learned(lab, 'node-a').get(nodeC) === 1400;
  }, 30_000, 500);
  await until('the route again', () => pmtuRoutes(lab, 'node-a').get(cBlock) === 'mtu lock 1380', 30_000);
  const x = await tcpTransfer(a.ns, c.ns, c.address, MiB);
  t.true(x.ok, `TCP after relearning: sent ${x.sent.sha256}, received ${x.received.bytes} bytes ${x.received.sha256}`);
});

privileged.serial('a learned path MTU goes with its peer: node-c leaves the datastore, node-a forgets its entry and routes', async (t) => {
  const { lab, agents } = await narrowLab(t, 1400, { vxlanMode: 'Always' }, 'xdp');
  const a = lab.pod('node-a');
  const c = lab.pod('node-c');
  const nodeC = lab.node('node-c').address;
  const cBlock = lab.node('node-c').block;
  await ping(a.ns, c.address, { count: 1, size: 1422, dontFragment: true, wait: 1 });
  await until('node-a learns 1400 for node-c', () => learned(lab, 'node-a').get(nodeC) === 1400, 30_000);
  await until('the route', () => pmtuRoutes(lab, 'node-a').get(cBlock) === 'mtu lock 1350', 30_000);
  const withoutC = { ...lab.topology, nodes: lab.topology.nodes.filter((n) => n.name !== 'node-c') };
  const next = agents['node-a']!.nextReconcile();
  writeLabManifests(lab, { ...clusterManifests(withoutC), 'pool.yaml': poolManifest({ vxlanMode: 'Always' }) });
  await next;
  await until('the entry goes', () => !learned(lab, 'node-a').has(nodeC), 30_000);
  await until('its route goes', () => pmtuRoutes(lab, 'node-a').size === 0, 30_000);
  const gone = () => agents['node-a']!.records.some((r) => r.msg === 'path MTU forgotten' && r['reason'] === 'no longer a peer' && r['peer'] === nodeC);
  await until('agentd says why', gone, 30_000).catch(() => undefined);
  t.true(gone(), 'agentd logged that node-c is no longer a peer');
  t.deepEqual(learned(lab, 'node-a'), new Map());
});
