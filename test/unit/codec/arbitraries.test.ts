// The generators cover what the differential tests rely on them to cover. Fixed seeds: these
// are statements about distributions, and must not flake.
import test from 'ava';
import fc from 'fast-check';
import {
  BURROW_ROUTE_FLAG, buildVxlanFrame, decap, encap, ETH_HLEN, lookupRoute, parseCidr, parseIpv4, readIpv4, readU16, type StatName,
} from '../../../src/codec/index.js';
import {
  acceptedByTestRun, applyTruncation, arbBadIpHeaderFrame, arbDecapScenario, arbEncapScenario, arbGarbageFrame, arbIpv4Frame, arbIpv4Plan,
  arbNodeConfig, arbNonIpv4Frame, arbPacketPlan, arbPeerList, arbRouteTable, arbTruncatedFrame, arbVlanFrame,
  buildPacketFrame, headerBoundaries, TC_TEST_RUN_MAX, truncateFrame, XDP_TEST_RUN_LINEAR_MAX,
} from '../../arbitraries/index.js';
import { ipPart, podTcp } from './fixtures.js';

const sample = <T>(arb: fc.Arbitrary<T>, n: number, seed = 42): T[] => fc.sample(arb, { numRuns: n, seed });
const tally = <T>(values: T[]): Map<T, number> => {
  const m = new Map<T, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
};

test('IPv4 plans: all 64 DSCP values, all 4 ECN values, TTL 0/1/64/255, DF on and off', (t) => {
  const plans = sample(arbIpv4Plan(), 3000);
  t.is(new Set(plans.map((p) => p.dscp)).size, 64);
  t.deepEqual([...new Set(plans.map((p) => p.ecn))].sort(), [0, 1, 2, 3]);
  const ttls = new Set(plans.map((p) => p.ttl));
  for (const ttl of [0, 1, 64, 255]) t.true(ttls.has(ttl), `TTL ${ttl}`);
  t.true(ttls.size > 50, 'random TTLs too');
  t.true(plans.some((p) => p.df) && plans.some((p) => !p.df));
});

test('IPv4 frames: IHL 5 to 15, fragments (MF, offset), TCP/UDP/ICMP/others, sizes 34 to ~3000', (t) => {
  const frames = sample(arbIpv4Frame(), 3000);
  const ips = frames.map((f) => parseIpv4(f, ETH_HLEN)!);
  t.deepEqual([...new Set(ips.map((ip) => ip.ihl))].sort((a, b) => a - b), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  t.true(ips.some((ip) => ip.mf && ip.fragOffset === 0), 'first fragments');
  t.true(ips.some((ip) => ip.fragOffset !== 0), 'later fragments');
  t.true(ips.filter((ip) => !ip.isFragment).length > ips.length / 2, 'mostly whole packets');
  const protocols = tally(ips.map((ip) => ip.protocol));
  for (const p of [6, 17, 1]) t.true((protocols.get(p) ?? 0) > 150, `protocol ${p}`);
  t.true([...protocols.keys()].filter((p) => ![6, 17, 1].includes(p)).length > 5, 'other protocols');
  const lengths = frames.map((f) => f.length);
  t.true(Math.min(...lengths) <= 42);
  t.true(Math.max(...lengths) > 2800 && Math.max(...lengths) <= 3100);
  t.true(lengths.filter((l) => l > 1514).length > 150, 'beyond 1500 often');
  t.true(frames.some((f) => f.length > ETH_HLEN + parseIpv4(f, ETH_HLEN)!.totalLength), 'Ethernet padding');
});

test('a plan always builds the same bytes', (t) => {
  for (const plan of sample(arbPacketPlan(), 50)) t.deepEqual(buildPacketFrame(plan), buildPacketFrame(plan));
});

test('frames the datapath leaves alone: not 0x0800, VLAN-tagged, garbage, bad version/IHL', (t) => {
  t.true(sample(arbNonIpv4Frame(), 300).every((f) => readU16(f, 12) !== 0x0800));
  const vlan = sample(arbVlanFrame(), 300);
  t.true(vlan.every((f) => [0x8100, 0x88a8].includes(readU16(f, 12)) && readU16(f, 16) === 0x0800));
  t.true(sample(arbBadIpHeaderFrame(), 300).every((f) => f[ETH_HLEN]! >> 4 !== 4 || (f[ETH_HLEN]! & 0xf) < 5));
  const garbage = sample(arbGarbageFrame(), 300);
  t.true(garbage.some((f) => f.length < 14) && garbage.some((f) => f.length >= 34 && readU16(f, 12) === 0x0800));
});

test('headerBoundaries walks Ethernet, outer IPv4 with options, UDP, VXLAN, inner Ethernet, inner IPv4 and TCP', (t) => {
  const frame = buildVxlanFrame({ src: '10.0.1.11', dst: '10.0.1.10', sport: 1, vni: 1, options: Uint8Array.of(1, 1, 1, 1), inner: ipPart(podTcp()) });
  const outer = ETH_HLEN + 24;
  const inner = outer + 30;
  t.deepEqual(headerBoundaries(frame), [0, 14, 34, outer, outer + 8, outer + 16, inner, inner + 20, inner + 40]);
});

test('truncation: cuts at every boundary ±1; "consistent" rewrites the outer total length', (t) => {
  const frame = buildVxlanFrame({ src: '10.0.1.11', dst: '10.0.1.10', sport: 1, vni: 1, inner: ipPart(podTcp()) });
  const cuts = new Set(sample(fc.tuple(fc.nat(30), fc.constantFrom(-1, 0, 1)), 2000).map(([boundary, delta]) =>
    applyTruncation(frame, { boundary, delta, mode: 'cut' }).length));
  for (const b of headerBoundaries(frame)) {
    for (const at of [b - 1, b, b + 1]) if (at >= 0 && at < frame.length) t.true(cuts.has(at), `cut at ${at}`);
  }
  const consistent = truncateFrame(frame, 60, 'consistent');
  t.is(parseIpv4(consistent, ETH_HLEN)?.totalLength, 46);
  t.is(parseIpv4(truncateFrame(frame, 60, 'cut'), ETH_HLEN)?.totalLength, frame.length - ETH_HLEN);
  t.true(sample(arbTruncatedFrame(arbIpv4Frame()), 500).some((f) => f.length < ETH_HLEN));
});

test('route tables: /0 and /32, every mode, VNI 0 and set, nested prefixes', (t) => {
  const tables = sample(arbRouteTable(), 1000);
  const entries = tables.flat();
  const lengths = new Set(entries.map((e) => parseCidr(e.cidr).prefixLength));
  t.true(lengths.has(0) && lengths.has(32) && lengths.size > 20);
  t.deepEqual([...new Set(entries.map((e) => e.route.mode))].sort(), ['ipip', 'none', 'vxlan']);
  t.true(entries.some((e) => e.route.vni === 0) && entries.some((e) => e.route.vni !== 0));
  t.true(entries.every((e) => e.route.vni >= 0 && e.route.vni <= 0xffffff));
  t.true(tables.some((table) => table.length === 0) && tables.some((table) => table.length >= 6));
});

test('configs: uplink ifindex 0 now and then, VXLAN port 4789 and others, TTL 0 and others, MTU 0 or 1280–1500', (t) => {
  const configs = sample(arbNodeConfig(), 1000);
  const noUplink = configs.filter((c) => c.uplinkIfindex === 0).length;
  t.true(noUplink > 50 && noUplink < 200, `uplink ifindex 0: ${noUplink} of 1000`);
  t.true(configs.filter((c) => c.vxlanPort === 4789).length > 500 && configs.some((c) => c.vxlanPort !== 4789));
  t.true(configs.some((c) => c.ttl === 0) && configs.some((c) => c.ttl !== 0));
  t.true(configs.some((c) => c.uplinkMtu === 0));
  t.true(configs.every((c) => c.uplinkMtu === 0 || (c.uplinkMtu >= 1280 && c.uplinkMtu <= 1500)));
  t.true(configs.some((c) => c.uplinkMtu === 1280) && configs.some((c) => c.uplinkMtu === 1500));
});

test('peers: distinct addresses; modes as sets and as bits; VNIs', (t) => {
  const lists = sample(arbPeerList({ minLength: 1 }), 500);
  t.true(lists.every((l) => new Set(l.map(([a]) => a)).size === l.length));
  const peers = lists.flat().map(([, p]) => p);
  t.true(peers.some((p) => typeof p.modes === 'number') && peers.some((p) => typeof p.modes !== 'number'));
});

function counterShares(counters: StatName[]): Map<StatName, number> {
  const shares = new Map<StatName, number>();
  for (const [name, count] of tally(counters)) shares.set(name, count / counters.length);
  return shares;
}

test('encap scenarios reach every tc_encap outcome often', (t) => {
  const shares = counterShares(sample(arbEncapScenario({ hook: 'tc' }), 2000).map((s) => encap(s.frame, s.options).counter));
  for (const c of ['PASS', 'DROP_ALREADY_ENCAP', 'DROP_TOO_BIG', 'ENCAP_IPIP', 'ENCAP_VXLAN'] as const) {
    t.true((shares.get(c) ?? 0) > 0.05, `${c}: ${shares.get(c)}`);
  }
  // One config in ten has no uplink; about half the frames get as far as step 7.
  t.true((shares.get('DROP_NO_ROUTE') ?? 0) > 0.03, `DROP_NO_ROUTE: ${shares.get('DROP_NO_ROUTE')}`);
  t.is(shares.get('DROP_ENCAP_FAILED'), undefined, 'not reachable without skbMaxLen');
});

test('encap scenarios reach every xdp_encap outcome often, XDP_TX and XDP_REDIRECT both', (t) => {
  const results = sample(arbEncapScenario({ hook: 'xdp' }), 2000).map((s) => encap(s.frame, s.options));
  const shares = counterShares(results.map((r) => r.counter));
  for (const c of ['PASS', 'DROP_ALREADY_ENCAP', 'PASS_TOO_BIG', 'PASS_FIB', 'ENCAP_IPIP', 'ENCAP_VXLAN'] as const) {
    t.true((shares.get(c) ?? 0) > 0.05, `${c}: ${shares.get(c)}`);
  }
  t.is(shares.get('DROP_NO_ROUTE'), undefined, 'the uplink ifindex is tc_encap\'s alone');
  const verdicts = tally(results.map((r) => r.verdict));
  t.true((verdicts.get('tx') ?? 0) > 100 && (verdicts.get('redirect') ?? 0) > 100);
});

test('encap scenarios: step 5 (node addresses) and the exact MTU boundary are hit', (t) => {
  let step5 = 0;
  let atBoundary = 0;
  for (const s of sample(arbEncapScenario({ hook: 'tc' }), 2000)) {
    const r = encap(s.frame, s.options);
    const dst = parseIpv4(s.frame, ETH_HLEN)?.dst;
    if (r.counter === 'PASS_TUNNEL_ENDPOINT' && r.route && r.route.route.mode !== 'none' && (dst === r.route.route.remote || dst === s.config.localIp || s.peers.has(dst ?? ''))) step5++;
    if (r.mode && s.config.uplinkMtu !== 0 && s.frame.length - ETH_HLEN + (r.mode === 'ipip' ? 20 : 50) === s.config.uplinkMtu) atBoundary++;
  }
  t.true(step5 > 40, `step 5: ${step5}`);
  t.true(atBoundary > 10, `exactly at the MTU: ${atBoundary}`);
});

test('decap scenarios reach every decap outcome', (t) => {
  const shares = counterShares(sample(arbDecapScenario(), 4000).map((s) => decap(s.frame, s.options).counter));
  const expected: [StatName, number][] = [
    ['PASS', 0.1], ['PASS_FRAGMENT', 0.02], ['DROP_MALFORMED', 0.05], ['DROP_UNKNOWN_PEER', 0.05], ['DROP_BAD_VNI', 0.01],
    ['DROP_ECN', 0.005], ['DROP_TTL', 0.01], ['DECAP_IPIP', 0.05], ['DECAP_VXLAN', 0.03],
    ['DROP_SPOOFED', 0.01], ['DROP_OUTSIDE_POOL', 0.005],
  ];
  for (const [c, min] of expected) t.true((shares.get(c) ?? 0) > min, `${c}: ${shares.get(c)}`);
});

test('decap scenarios: all 16 outer/inner ECN pairs reach step 14', (t) => {
  const pairs = new Set<string>();
  for (const s of sample(arbDecapScenario(), 4000)) {
    const r = decap(s.frame, s.options);
    if (!r.counter.startsWith('DECAP_') && r.counter !== 'DROP_ECN') continue;
    const innerAt = s.frame.length - (r.output.length - ETH_HLEN);
    pairs.add(`${s.frame[ETH_HLEN + 1]! & 3}/${r.counter === 'DROP_ECN' ? 0 : s.frame[innerAt + 1]! & 3}`);
  }
  t.is(pairs.size, 16, [...pairs].sort().join(' '));
});

test('decap scenarios: step 12 meets sources of the sender, its blocks, other nodes\' blocks, ours, the bare pool and nobody\'s, under both checks', (t) => {
  const seen = new Set<string>();
  let outsidePool = 0;
  for (const s of sample(arbDecapScenario(), 6000)) {
    const r = decap(s.frame, s.options);
    if (!['DECAP_IPIP', 'DECAP_VXLAN', 'DROP_SPOOFED', 'DROP_OUTSIDE_POOL', 'DROP_TTL', 'DROP_ECN'].includes(r.counter)) continue;
    const innerAt = ETH_HLEN + (s.frame[ETH_HLEN]! & 0x0f) * 4 + (r.mode === 'vxlan' ? 30 : 0);
    const outerSrc = readIpv4(s.frame, ETH_HLEN + 12);
    const src = readIpv4(s.frame, innerAt + 12);
    const entry = lookupRoute(s.routes, src);
    const whose = src === outerSrc ? 'the sender' : !entry ? 'nobody' : (entry.route.flags & BURROW_ROUTE_FLAG.LOCAL) !== 0 ? 'ours'
      : entry.route.remote === outerSrc ? 'its block' : entry.route.remote === '0.0.0.0' ? 'the bare pool' : 'another node';
    seen.add(`${(s.config.flags & 1) !== 0 ? 'pool' : 'strict'}: ${whose} → ${r.counter === 'DROP_SPOOFED' ? 'spoofed' : 'accepted'}`);
    if (r.counter === 'DROP_OUTSIDE_POOL') outsidePool++;
  }
  for (const want of [
    'strict: the sender → accepted', 'strict: its block → accepted', 'strict: another node → spoofed', 'strict: ours → spoofed',
    'strict: the bare pool → spoofed', 'strict: nobody → spoofed',
    'pool: the sender → accepted', 'pool: its block → accepted', 'pool: another node → accepted', 'pool: ours → spoofed',
    'pool: the bare pool → accepted', 'pool: nobody → spoofed',
  ]) t.true(seen.has(want), `${want} (seen: ${[...seen].sort().join('; ')})`);
  t.true(outsidePool > 20, `inner destinations outside the pools: ${outsidePool}`);
});

test('testRunnable scenarios hold only frames BPF_PROG_TEST_RUN accepts', (t) => {
  const encaps = sample(arbEncapScenario({ hook: 'tc', testRunnable: true }), 1000);
  const decaps = sample(arbDecapScenario({ testRunnable: true }), 1000);
  t.true(encaps.every((s) => acceptedByTestRun(s.frame, 'tc')));
  t.true(decaps.every((s) => acceptedByTestRun(s.frame, s.hook)));
  t.true(decaps.some((s) => s.hook === 'xdp' && s.frame.length < 34 && readU16(s.frame, 12) === 0x0800), 'short IPv4 frames stay for XDP');
  t.true(sample(arbEncapScenario({ hook: 'tc' }), 1000).some((s) => !acceptedByTestRun(s.frame, 'tc')), 'without the option they occur');
});

test('acceptedByTestRun: 14 bytes minimum; TC also 34 for IPv4 and 54 for IPv6; at most 3712 (TC) and 3520 (XDP)', (t) => {
  const frame = (type: number, length: number) => Uint8Array.from({ length }, (_, i) => (i === 12 ? type >> 8 : i === 13 ? type & 0xff : 0));
  t.false(acceptedByTestRun(new Uint8Array(13), 'xdp'));
  t.true(acceptedByTestRun(frame(0x0800, 14), 'xdp'));
  t.false(acceptedByTestRun(frame(0x0800, 33), 'tc'));
  t.true(acceptedByTestRun(frame(0x0800, 34), 'tc'));
  t.false(acceptedByTestRun(frame(0x86dd, 53), 'tc'));
  t.true(acceptedByTestRun(frame(0x86dd, 54), 'tc'));
  t.true(acceptedByTestRun(frame(0x0806, 14), 'tc'));
  t.is(TC_TEST_RUN_MAX, 3712);
  t.is(XDP_TEST_RUN_LINEAR_MAX, 3520);
  for (const type of [0x0800, 0x86dd, 0x0806]) {
    t.true(acceptedByTestRun(frame(type, 3712), 'tc'));
    t.false(acceptedByTestRun(frame(type, 3713), 'tc'));
    t.true(acceptedByTestRun(frame(type, 3520), 'xdp'));
    t.false(acceptedByTestRun(frame(type, 3521), 'xdp'));
  }
});
