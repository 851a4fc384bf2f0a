// Wire-like links (issue 16): with the lab's node uplinks carrying MTU-sized frames (segmentation
// offloads off where a frame leaves a node, GRO on where it enters; src/lab/offloads.ts), pod
// traffic is segmented after encapsulation and aggregated again before (XDP) or after (TC) decap.
// In IPIP and VXLAN, with TC and with XDP decap: the largest DF ping whose outer packet is exactly
// the uplink MTU passes, one byte more gets frag-needed naming the tunnel MTU, and TCP both ways
// arrives intact (sha256) in segments that fill the MTU exactly, and GRO merged them again before
// the pods (their IP layer counts more segments than packets: for VXLAN with TC decap through the
// tunnel device's GRO, docs/datapath.md step 16; the control without it sees one per packet). An
// nftables counter on the segment's bridge proves the mode: no frame above the MTU crosses it (and
// in the default GSO mode, the control below, frames far above it do).
import type { ExecutionContext } from 'ava';

import type { Lab } from '../../src/lab/lab.js';
import { wireProblems } from '../../src/lab/offloads.js';
import { defaultTopology } from '../../src/lab/topology.js';
import { ipReceive, ping, type IpReceive } from '../../src/lab/traffic.js';
import { openDatapathMaps } from '../../src/agent/datapath.js';
import { assertNoReplies, assertPodsConnected, counters, labWithAgents, MiB } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

const MTU = 1500;
const BYTES = 4 * MiB;
const TABLE = 'burrow_wire_test';

/** node-a and node-b on seg1: every frame between them crosses seg1's bridge. */
function twoNodes() {
  const base = defaultTopology();
  return defaultTopology({ nodes: base.nodes.filter((n) => n.name === 'node-a' || n.name === 'node-b') });
}

/**
 * Counts the frames seg1's bridge forwards by size. `meta length` at the bridge hook is the frame's
 * length after the Ethernet header, that is the outer IPv4 packet: a GSO packet the uplink did not
 * segment counts with its whole length.
 */
function countFrames(lab: Lab): () => { over: number; exact: number; all: number } {
  const ns = lab.segmentNs('seg1');
  lab.exec(ns, ['nft', '-f', '-'], [
    `table bridge ${TABLE} {`,
    '  chain forward {',
    '    type filter hook forward priority 0; policy accept;',
    `    meta length > ${MTU} counter comment "over"`,
    `    meta length ${MTU} counter comment "exact"`,
    '    counter comment "all"',
    '  }',
    '}',
  ].join('\n') + '\n');
  return () => {
    const out = JSON.parse(lab.exec(ns, ['nft', '-j', 'list', 'table', 'bridge', TABLE])) as {
      nftables: Array<{ rule?: { comment?: string; expr?: Array<{ counter?: { packets: number } }> } }>;
    };
    const count = (comment: string): number => {
      const packets = out.nftables.find((i) => i.rule?.comment === comment)?.rule?.expr?.find((e) => e.counter)?.counter?.packets;
      if (packets === undefined) throw new Error(`seg1's nft table ${TABLE} has no counted rule '${comment}': ${JSON.stringify(out)}`);
      return packets;
    };
    return { over: count('over'), exact: count('exact'), all: count('all') };
  };
}

/** Segments per packet the two pods' IP layers received since `before` (what GRO merged on the way). */
function podSegmentsPerPacket(lab: Lab, before?: IpReceive[]): { now: IpReceive[]; ratio: number } {
  const now = ['node-a', 'node-b'].map((n) => ipReceive(lab.pod(n).ns));
  const d = now.map((c, i) => ({ packets: c.packets - (before?.[i]?.packets ?? 0), segments: c.segments - (before?.[i]?.segments ?? 0) }));
  const packets = d.reduce((a, x) => a + x.packets, 0);
  return { now, ratio: packets ? d.reduce((a, x) => a + x.segments, 0) / packets : 0 };
}

/** Read back with ethtool -k: the uplinks segment nothing and aggregate; their bridge ports neither. */
function assertWireLike(t: ExecutionContext, lab: Lab): void {
  for (const [node, f] of Object.entries(lab.uplinkFeatures())) t.deepEqual(wireProblems(f, 'on'), [], `${node}'s uplink is wire-like`);
  for (const [node, f] of Object.entries(lab.segmentPortFeatures())) t.deepEqual(wireProblems(f, 'off'), [], `${node}'s bridge port is wire-like`);
}

// `auto`: what `--decap-hook auto` chooses on a wire-like veth for that encapsulation
// (src/agent/uplink.ts): that hook is asked for as auto, so these tests also check the choice.
const cases = [
  { mode: 'ipip', pool: { ipipMode: 'Always' }, tunnelMtu: MTU - 20, auto: 'tc' },
  { mode: 'vxlan', pool: { vxlanMode: 'Always' }, tunnelMtu: MTU - 50, auto: 'tc' },
] as const;

for (const { mode, pool, tunnelMtu, auto } of cases) {
  for (const hook of ['tc', 'xdp'] as const) {
    const asked = hook === auto ? 'auto' : hook;
    privileged.serial(`wire-like links, ${mode}, ${hook.toUpperCase()} decap${asked === 'auto' ? ' (auto\'s choice)' : ''}: MTU-sized boundary pings, TCP ${BYTES / MiB} MiB both ways intact in MTU-filling segments, no frame above the MTU`, async (t) => {
      const { lab, agents } = await labWithAgents(t, { pool, links: 'wire', topology: twoNodes(), agent: { decapHook: asked } });
      for (const a of Object.values(agents)) t.like(a.records.find((r) => r.msg === 'decap hook chosen'), { decapHook: hook });
      // After agentd attached its programs (XDP on a veth takes TSO from its peer).
      assertWireLike(t, lab);
      const frames = countFrames(lab);

      for (const [from, to] of [['node-a', 'node-b'], ['node-b', 'node-a']] as const) {
        const src = lab.pod(from).ns;
        const dst = lab.pod(to).address;
        // ICMP header 8 + IPv4 20: the inner packet is the tunnel MTU, the outer one the uplink's.
        const fits = await ping(src, dst, { count: 3, interval: 0.05, size: tunnelMtu - 28, dontFragment: true });
        t.is(fits.received, 3, `${from} → ${to}: a DF ping whose outer packet is exactly ${MTU} bytes passes:\n${fits.output}`);
        const oneMore = await ping(src, dst, { count: 2, interval: 0.1, size: tunnelMtu - 27, dontFragment: true });
        assertNoReplies(t, oneMore, 2, `${from} → ${to}: one byte more`);
        t.is(oneMore.fragNeededMtu, tunnelMtu, `frag-needed names the tunnel MTU:\n${oneMore.output}`);
      }
      const pings = frames();
      t.true(pings.exact >= 12, `the boundary pings (6 requests, 6 replies) crossed seg1 as ${MTU}-byte frames: ${JSON.stringify(pings)}`);

      const rx = podSegmentsPerPacket(lab);
      await assertPodsConnected(t, lab, 'node-a', 'node-b', BYTES);
      const merged = podSegmentsPerPacket(lab, rx.now).ratio;
      t.true(merged >= 3, `GRO merged the segments before the pods: ${merged.toFixed(2)} segments per packet`);
      const after = frames();
      t.is(after.over, 0, `no frame above ${MTU} bytes crossed seg1: ${JSON.stringify(after)}`);
      // MSS is clamped to tunnelMtu - 40; with TCP timestamps a full segment carries 12 bytes
      // fewer, and still fills the MTU exactly. Counted without the options: a lower bound.
      const fullSegments = Math.floor((2 * BYTES) / (tunnelMtu - 40));
      t.true(after.exact - pings.exact >= 0.9 * fullSegments, `TCP crossed seg1 in ${MTU}-byte frames (≥ 90% of ${fullSegments}): ${JSON.stringify(after)}`);

      for (const node of ['node-a', 'node-b']) {
        const c = counters(lab, node);
        t.true(c[`encap_${mode}`]! > 0 && c[`decap_${mode}`]! > 0, `${node} encapsulated and decapsulated: ${JSON.stringify(c)}`);
        t.is(c.drop_too_big! + c.drop_malformed! + c.drop_encap_failed!, 0, `${node}: nothing dropped: ${JSON.stringify(c)}`);
        // The GRO hop is written for both hooks (only tc_decap reads it): burrow0's peer, burrow0's MAC.
        const links = JSON.parse(lab.ip(lab.node(node).ns, '-j', 'link', 'show')) as Array<{ ifname: string; ifindex: number; address: string }>;
        const maps = openDatapathMaps(lab.node(node).pinRoot);
        try {
          const cfg = maps.config.get(0)!;
          t.deepEqual([cfg.gro_ifindex, cfg.tunnel_mac], [links.find((l) => l.ifname === 'burrow0p')!.ifindex, links.find((l) => l.ifname === 'burrow0')!.address], `${node}: config's GRO hop`);
        } finally {
          maps.close();
        }
      }
    });
  }
}

privileged.serial('control: wire-like links, vxlan, TC decap with --vxlan-gro off: TCP intact, but every segment reaches the pods alone (so the GRO assertion above can fail)', async (t) => {
  const { lab, agents } = await labWithAgents(t, { pool: { vxlanMode: 'Always' }, links: 'wire', topology: twoNodes(), agent: { decapHook: 'tc', extraArgs: ['--vxlan-gro', 'off'] } });
  for (const a of Object.values(agents)) t.like(a.records.find((r) => r.msg === 'VXLAN GRO hop chosen'), { vxlanGro: false });
  const rx = podSegmentsPerPacket(lab);
  await assertPodsConnected(t, lab, 'node-a', 'node-b', BYTES);
  const ratio = podSegmentsPerPacket(lab, rx.now).ratio;
  t.true(ratio < 1.05, `one packet per segment without the GRO hop: ${ratio.toFixed(2)} segments per packet`);
  t.is(counters(lab, 'node-b').decap_vxlan! > 0, true);
});

privileged.serial('control: with the default GSO links the same counter sees frames above the MTU (so the wire-like tests can fail), and auto chooses TC decap there', async (t) => {
  const { lab, agents } = await labWithAgents(t, { pool: { ipipMode: 'Always' }, topology: twoNodes(), agent: { decapHook: 'auto' } });
  for (const a of Object.values(agents)) t.like(a.records.find((r) => r.msg === 'decap hook chosen'), { decapHook: 'tc' });
  t.true(Object.values(lab.uplinkFeatures()).every((f) => wireProblems(f).length > 0), 'the default uplinks are not wire-like');
  const frames = countFrames(lab);
  await assertPodsConnected(t, lab, 'node-a', 'node-b', BYTES);
  const seen = frames();
  t.true(seen.over > 0, `GSO packets above ${MTU} bytes crossed seg1: ${JSON.stringify(seen)}`);
});
