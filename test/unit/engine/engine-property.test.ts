// The incremental engine against the one-shot path (issue 9, point 5): random sequences of file
// events — files written (adds, updates, deletes of resources inside), removed, rewritten whole
// (a relist), invalid documents and syntax errors interleaved — over a small universe of pools,
// nodes, blocks, Felix and Konvoy resources where names, CIDRs and addresses collide often.
// After every event:
//   - the engine is valid exactly when parseManifests + compileDesiredState accept the same files;
//   - valid: its desired routes, peers, config, kernel routes and NAT rules equal the from-scratch
//     compile's (desiredParts), and its warnings equal the compile's;
//   - invalid: its errors equal parseManifests' (as formatted lines, order aside), and a flush writes
//     nothing: the maps stay as they were;
//   - the maps (in memory) the engine flushed into equal the maps a full reconcile() wrote.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { stringify } from 'yaml';

import { deepEqual } from '../../../src/agent/diff.js';
import type { KernelRoute } from '../../../src/agent/kernel-routes.js';
import { peerValueOf } from '../../../src/agent/map-entries.js';
import { natRuleFingerprint } from '../../../src/agent/nat.js';
import { canonicalRouteKey, desiredParts, kernelRouteSatisfies } from '../../../src/agent/plan.js';
import { reconcile } from '../../../src/agent/reconcile.js';
import { memoryDatapathMaps, type MemoryDatapathMaps } from '../../../src/agent/reconcile-memory.js';
import { burrowRoute } from '../../../src/bpf/index.js';
import { compileDesiredState, CompileError, type DesiredState } from '../../../src/compile/index.js';
import { formatDiagnostic, parseManifests, parseManifestText, type ConfigDiagnostic } from '../../../src/config/index.js';
import { Engine } from '../../../src/engine/engine.js';
import type { SourceEvent } from '../../../src/engine/events.js';
import { routeKeyText } from '../../../src/engine/packed-table.js';
import { rawRoutesOf } from '../../../src/engine/target.js';
import { memoryKernel, type MemoryKernel } from '../../agent/_reconcile.js';

const LOCAL = 'n0';
const UPLINK = { name: 'eth0', ifindex: 2, mac: '02:00:00:00:00:01', mtu: 1500 };
const V3 = 'projectcalico.org/v3';

// ── the universe ────────────────────────────────────────────────────────────────────────────

const pool = (name: string, cidr: string, spec: Record<string, unknown> = {}) => ({ apiVersion: V3, kind: 'IPPool', metadata: { name }, spec: { cidr, ...spec } });
const node = (name: string, address: string, spec: Record<string, unknown> = {}) => ({ apiVersion: V3, kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address: address }, ...spec } });
const block = (node: string, cidr: string, extra: Record<string, unknown> = {}, name = `${node}-${cidr.replace(/[./]/g, '-')}`) =>
  ({ apiVersion: V3, kind: 'BlockAffinity', metadata: { name }, spec: { node, cidr, ...extra } });

const arbMode = fc.constantFrom('Always', 'CrossSubnet', 'Never');
const arbPool = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ name: fc.constantFrom('p1', 'p2', 'p0'), net: fc.constantFrom('10.0.0.0/16', '10.1.0.0/16', '10.0.0.0/8'), mode: arbMode, vx: fc.boolean(), nat: fc.boolean(), disabled: fc.boolean() })
      .map(({ name, net, mode, vx, nat, disabled }) => pool(name, net, { [vx ? 'vxlanMode' : 'ipipMode']: mode, natOutgoing: nat, ...(disabled ? { disabled } : {}) })),
  },
  // 172.16.0.0/24 is n0's and n1's subnet (refused against those nodes, issue 13).
  { weight: 3, arbitrary: fc.constantFrom(pool('p1', '10.0.0.0/16'), pool('p9', '10.0.0.1/16'), pool('p3', '10.2.0.0/16', { blockSize: 24 }), pool('p1', '172.16.0.0/24', { ipipMode: 'Always' })) },
  // Refused on their own (issue 13): reserved ranges, larger than a /8 (0.0.0.0/1 also holds every node and block).
  { weight: 1, arbitrary: fc.constantFrom(pool('p4', '127.0.0.0/8'), pool('p4', '224.0.0.0/4'), pool('p2', '0.0.0.0/1'), pool('p3', '255.255.255.255/32', { blockSize: 32 })) },
);
const arbNode = fc.record({
  name: fc.constantFrom('n0', 'n1', 'n2', 'n3'),
  address: fc.constantFrom('172.16.0.1/24', '172.16.0.2/24', '172.16.1.3/24', '172.17.0.4/16', '172.16.0.5/32', '10.0.5.7/24', '172.16.0.2'),
  mac: fc.constantFrom(undefined, '66:00:00:00:00:01', '66:00:00:00:00:02'),
  tunnel: fc.constantFrom(undefined, '10.0.9.1'),
}).map(({ name, address, mac, tunnel }) =>
  node(name, address, { ...(mac ? { vxlanTunnelMACAddr: mac } : {}), ...(tunnel ? { ipv4VXLANTunnelAddr: tunnel } : {}) }));
const arbBlock = fc.record({
  node: fc.constantFrom('n0', 'n1', 'n2', 'n3', 'nx'),
  cidr: fc.constantFrom('10.0.0.0/26', '10.0.0.64/26', '10.0.1.0/26', '10.1.0.0/26', '10.1.2.0/26', '10.2.0.0/24', '10.0.5.7/32', '10.0.0.5/26', '10.9.0.0/26', '127.0.0.0/26'),
  state: fc.constantFrom(undefined, 'confirmed', 'pending'),
  deleted: fc.constantFrom(undefined, 'true'),
  // Mostly Calico's own name (node + CIDR); sometimes another block's, or one that only looks like
  // it (a leading zero, the CIDR's dashes in the node): the store keys the first kind by its CIDR
  // and tells them apart by node, so duplicates across the forms must still be found.
  name: fc.constantFrom(undefined, undefined, undefined, undefined, 'n1-10-0-0-0-26', 'n2-10-0-0-64-26', 'n1-10-0-00-0-26', 'n-1-10-0-0-0-26', 'blk'),
}).map(({ node, cidr, state, deleted, name }) => block(node, cidr, { ...(state ? { state } : {}), ...(deleted ? { deleted } : {}) }, name));
const arbFelix = fc.record({ name: fc.constantFrom('default', 'node.n1'), vni: fc.constantFrom(undefined, 4096, 5000), mtu: fc.constantFrom(undefined, 1400, 1490) })
  .map(({ name, vni, mtu }) => ({ apiVersion: V3, kind: 'FelixConfiguration', metadata: { name }, spec: { ...(vni ? { vxlanVNI: vni } : {}), ...(mtu ? { ipipMTU: mtu } : {}) } }));
const arbKonvoy = fc.constantFrom('ipip', 'vxlan').map((encapsulation) => ({
  apiVersion: 'konvoy.mesosphere.io/v1beta2', kind: 'ClusterConfiguration', metadata: { name: 'konvoy' },
  spec: { kubernetes: { containerNetworking: { calico: { encapsulation } } } },
}));
const arbJunk = fc.constantFrom(
  { apiVersion: V3, kind: 'IPPool', metadata: { name: 'bad' }, spec: { cidr: '10.3.0.0/16', ipipMode: 'Sometimes' } },
  { apiVersion: V3, kind: 'Node', metadata: { name: 'n2' }, spec: { bgp: {} } },
  { apiVersion: V3, kind: 'Gadget', metadata: { name: 'x' } },
  'just a string',
  { apiVersion: V3, kind: 'BGPPeer', metadata: { name: 'skipped' }, spec: {} },
);

const arbDoc: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: arbPool },
  { weight: 4, arbitrary: arbNode },
  { weight: 6, arbitrary: arbBlock },
  { weight: 1, arbitrary: arbFelix },
  { weight: 1, arbitrary: arbKonvoy },
  { weight: 1, arbitrary: arbJunk },
);

/** A file's text: documents, sometimes one List of them, sometimes a syntax error. */
const arbText = fc.oneof(
  { weight: 6, arbitrary: fc.array(arbDoc, { maxLength: 6 }).map((docs) => docs.map((d) => stringify(d)).join('---\n')) },
  { weight: 2, arbitrary: fc.array(arbDoc, { maxLength: 6 }).map((items) => stringify({ apiVersion: 'v1', kind: 'List', items })) },
  { weight: 1, arbitrary: fc.constant('kind: [unclosed\n') },
);

type Ev = { type: 'write'; file: number; text: string } | { type: 'remove'; file: number } | { type: 'noop' };
const arbEvent: fc.Arbitrary<Ev> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ type: fc.constant('write' as const), file: fc.integer({ min: 0, max: 3 }), text: arbText }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('remove' as const), file: fc.integer({ min: 0, max: 3 }) }) },
);

/** A base set of files that is valid (so that sequences spend time on the valid side too). */
const BASE: Record<number, string> = {
  0: [pool('p1', '10.0.0.0/16', { ipipMode: 'CrossSubnet', natOutgoing: true }), pool('p2', '10.1.0.0/16', { vxlanMode: 'Always' })].map((d) => stringify(d)).join('---\n'),
  1: [node('n0', '172.16.0.1/24'), node('n1', '172.16.0.2/24'), node('n2', '172.16.1.3/24'), node('n3', '172.16.2.7/24')].map((d) => stringify(d)).join('---\n'),
  2: stringify({ apiVersion: 'v1', kind: 'List', items: [block('n1', '10.0.0.0/26'), block('n2', '10.1.0.0/26'), block('n0', '10.0.1.0/26'), block('n3', '10.0.0.64/26')] }),
};
const BASE_EVENTS: readonly Ev[] = Object.entries(BASE).map(([f, text]) => ({ type: 'write', file: Number(f), text }));

// ── the two paths ───────────────────────────────────────────────────────────────────────────

const fileName = (i: number) => `m/${i}.yaml`;
const sourceRef = (i: number) => ({ id: fileName(i), order: [0, fileName(i)] });

function oracle(files: Map<number, string>): { ok: true; state: DesiredState } | { ok: false; errors: ConfigDiagnostic[] } {
  const sources = [...files.keys()].sort((a, b) => a - b).map((i) => ({ file: fileName(i), text: files.get(i)! }));
  const r = parseManifests(sources);
  if (!r.ok) return { ok: false, errors: [...r.errors] };
  try {
    return { ok: true, state: compileDesiredState(r.model, LOCAL, { uplinkMtu: UPLINK.mtu, uplinkIfindex: UPLINK.ifindex, uplinkMac: UPLINK.mac, uplinkDevice: UPLINK.name }) };
  } catch (e) {
    if (e instanceof CompileError) return { ok: false, errors: [...e.diagnostics] };
    throw e;
  }
}

function eventOf(ev: Ev): SourceEvent | undefined {
  if (ev.type === 'write') {
    const parsed = parseManifestText(ev.text, fileName(ev.file));
    return { type: 'replace', source: sourceRef(ev.file), items: [...parsed.errors.map((error) => ({ error })), ...parsed.documents] };
  }
  if (ev.type === 'remove') return { type: 'remove', source: sourceRef(ev.file) };
  return undefined;
}

const lines = (ds: readonly ConfigDiagnostic[]) => ds.map(formatDiagnostic).sort();
const sortedKernel = (rs: readonly KernelRoute[]) => [...rs].sort((a, b) => (a.dst < b.dst ? -1 : 1));

interface World {
  engine: Engine;
  files: Map<number, string>;
  engineMaps: MemoryDatapathMaps;
  engineKernel: MemoryKernel;
  fullMaps: MemoryDatapathMaps;
  fullKernel: MemoryKernel;
}

function newWorld(): World {
  const engineMaps = memoryDatapathMaps();
  return { engine: new Engine({ localNode: LOCAL }), files: new Map(), engineMaps, engineKernel: memoryKernel(), fullMaps: memoryDatapathMaps(), fullKernel: memoryKernel() };
}

const targetOf = (w: World) => ({ routes: rawRoutesOf(w.engineMaps.routes), peers: w.engineMaps.peers, config: w.engineMaps.config, kernel: w.engineKernel });
const mapsText = (m: MemoryDatapathMaps, k: MemoryKernel) =>
  JSON.stringify({
    routes: m.routes.entriesBatch().map(([key, v]) => [canonicalRouteKey(key), v]).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    peers: m.peers.entriesBatch().sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    config: m.config.get(0),
    kernel: sortedKernel([...k.routes.values()]),
    nat: [...k.fingerprints].sort(),
  });

/** Compares the engine with the one-shot path after an event; returns a description of the first difference. */
async function step(w: World, ev: Ev): Promise<string | undefined> {
  const e = eventOf(ev);
  if (ev.type === 'write') w.files.set(ev.file, ev.text);
  if (ev.type === 'remove') w.files.delete(ev.file);
  if (e) w.engine.apply([e]);
  const want = oracle(w.files);
  if (w.engine.valid !== want.ok) {
    return `valid: engine ${w.engine.valid}, one-shot ${want.ok}; engine errors ${JSON.stringify(lines(w.engine.errors()))}; one-shot ${want.ok ? '' : JSON.stringify(lines(want.errors))}`;
  }
  const before = mapsText(w.engineMaps, w.engineKernel);
  const flushed = await w.engine.flush(targetOf(w), { uplink: UPLINK });
  if (!want.ok) {
    if (!deepEqual(lines(w.engine.errors()), lines(want.errors))) return `errors differ:\n engine   ${lines(w.engine.errors()).join('\n          ')}\n one-shot ${lines(want.errors).join('\n          ')}`;
    if (flushed.applied || mapsText(w.engineMaps, w.engineKernel) !== before) return 'an invalid model changed the maps';
    return undefined;
  }
  const parts = desiredParts(want.state, UPLINK);
  const routes = new Map<string, unknown>();
  for (const key of w.engine.derived.routes.keys()) routes.set(routeKeyText(key), burrowRoute.read(Buffer.from(w.engine.derived.routes.get(key)!), 0));
  const wantRoutes = new Map([...parts.routes].map(([k, v]) => [k, v.value]));
  if (!deepEqual(Object.fromEntries(routes), Object.fromEntries(wantRoutes))) return `routes differ:\n engine   ${JSON.stringify([...routes])}\n one-shot ${JSON.stringify([...wantRoutes])}`;
  const peers = Object.fromEntries([...w.engine.derived.peers].map(([a, p]) => [a, peerValueOf(p)]));
  if (!deepEqual(peers, Object.fromEntries([...parts.peers].map(([a, p]) => [a, p.value])))) return `peers differ: ${JSON.stringify(peers)} vs ${JSON.stringify([...parts.peers])}`;
  if (!deepEqual(w.engine.derived.nodeConfig(UPLINK)!.config, parts.config)) return 'config differs';
  const kernel = sortedKernel(w.engine.kernelRoutes(UPLINK));
  const wantKernel = sortedKernel(parts.kernelRoutes);
  if (kernel.length !== wantKernel.length || kernel.some((r, i) => !kernelRouteSatisfies(r, wantKernel[i]!) || !kernelRouteSatisfies(wantKernel[i]!, r))) {
    return `kernel routes differ:\n engine   ${JSON.stringify(kernel)}\n one-shot ${JSON.stringify(wantKernel)}`;
  }
  const nat = w.engine.derived.nat.map(natRuleFingerprint).sort();
  if (!deepEqual(nat, parts.nat.map(natRuleFingerprint).sort())) return 'nat differs';
  if (!deepEqual(lines(w.engine.warnings(UPLINK)), lines(want.state.warnings))) return `warnings differ:\n engine   ${lines(w.engine.warnings(UPLINK)).join('\n          ')}\n one-shot ${lines(want.state.warnings).join('\n          ')}`;
  await reconcile(w.fullMaps, want.state, { uplink: UPLINK, kernelState: w.fullKernel });
  if (mapsText(w.engineMaps, w.engineKernel) !== mapsText(w.fullMaps, w.fullKernel)) {
    return `maps differ after flush:\n engine ${mapsText(w.engineMaps, w.engineKernel)}\n full   ${mapsText(w.fullMaps, w.fullKernel)}`;
  }
  return undefined;
}

export async function run(events: readonly Ev[], withBase: boolean): Promise<string | undefined> {
  const w = newWorld();
  const seq: Ev[] = withBase ? [...BASE_EVENTS, ...events] : [...events];
  for (const [i, ev] of seq.entries()) {
    const problem = await step(w, ev);
    if (problem) return `after event ${i} (${ev.type}${'file' in ev ? ` ${fileName(ev.file)}` : ''}): ${problem}`;
  }
  return undefined;
}

/** A world that took BASE's files, each step agreeing with the one-shot path. */
async function baseWorld(t: ExecutionContext): Promise<World> {
  const w = newWorld();
  for (const ev of BASE_EVENTS) t.is(await step(w, ev), undefined);
  return w;
}

test('the base universe is valid, routes something, and the engine agrees with the one-shot path (in-memory maps and kernel)', async (t) => {
  const w = await baseWorld(t);
  t.true(w.engine.valid);
  t.true(w.engine.derived.routes.size >= 3, 'blocks of other nodes are routes');
  t.true(w.engine.derived.peers.size >= 2);
});

test('after every event of random sequences, the engine equals a from-scratch compile, and the maps a full apply (in-memory maps and kernel)', async (t) => {
  let valid = 0;
  let invalid = 0;
  let lastProblem = '';
  t.teardown(() => { if (lastProblem) console.error(`last difference found: ${lastProblem}`); });
  await fc.assert(
    fc.asyncProperty(fc.array(arbEvent, { minLength: 1, maxLength: 12 }), fc.boolean(), async (events, withBase) => {
      const problem = await run(events, withBase);
      if (problem) {
        lastProblem = problem;
        throw new Error(problem);
      }
    }),
    { numRuns: 2000 },
  );
  // Both sides of the property were exercised (a generator that only made invalid input would
  // prove little). A fixed sample: unseeded, ~10 % of single events leave BASE valid, and a
  // threshold on a fresh random count failed now and then (19 of 200).
  for (const ev of fc.sample(arbEvent, { numRuns: 200, seed: 16 })) {
    const w = await baseWorld(t);
    await step(w, ev);
    if (w.engine.valid) valid++;
    else invalid++;
  }
  t.true(valid > 20, `valid states reached: ${valid}`);
  t.true(invalid > 20, `invalid states reached: ${invalid}`);
});

test('two nodes on one address, then one moves away: the other keeps its peer entry (found by the property, CI seed -1373852429)', async (t) => {
  // BASE's n2 is at 172.16.1.3; a second n3 on the same address (an error) shadows BASE's n3,
  // then goes: n3 is back at 172.16.2.7 and n2's peer entry must still be there.
  const events: Ev[] = [
    { type: 'write', file: 0, text: '' },
    { type: 'write', file: 2, text: stringify(pool('p1', '10.0.0.0/16', { ipipMode: 'Always', natOutgoing: false })) },
    { type: 'write', file: 0, text: stringify(node('n3', '172.16.1.3/24')) },
    { type: 'remove', file: 0 },
  ];
  const w = await baseWorld(t);
  for (const ev of events) t.is(await step(w, ev), undefined);
  t.deepEqual([...w.engine.derived.peers.keys()].sort(), ['172.16.0.2', '172.16.1.3', '172.16.2.7']);
});

test('a node moves onto the address another node leaves, in one change: one peer entry, at the new address (found by the property, seed 1414769371)', async (t) => {
  // n1 (172.16.0.2) goes and n2 moves from 172.16.1.3 onto its address: whichever is recomputed
  // first, nothing may stay at 172.16.1.3.
  const w = await baseWorld(t);
  t.is(await step(w, { type: 'write', file: 1, text: [node('n0', '172.16.0.1/24'), node('n2', '172.16.0.2/24')].map((d) => stringify(d)).join('---\n') }), undefined);
  t.is(await step(w, { type: 'remove', file: 2 }), undefined);
  t.deepEqual([...w.engine.derived.peers.keys()], ['172.16.0.2']);
});

test('invalid input after a valid state changes nothing in the maps, and fixing it converges (in-memory maps and kernel)', async (t) => {
  const w = await baseWorld(t);
  const before = mapsText(w.engineMaps, w.engineKernel);
  t.is(await step(w, { type: 'write', file: 3, text: stringify(pool('p7', '10.0.0.0/8')) }), undefined); // overlaps p1 and p2
  t.false(w.engine.valid);
  t.is(mapsText(w.engineMaps, w.engineKernel), before);
  t.true(w.engine.errors().some((d) => d.rule === 'pool-overlap' && d.file === 'm/3.yaml'));
  t.is(await step(w, { type: 'write', file: 2, text: stringify(block('n2', '10.0.1.64/26')) }), undefined); // a change while invalid: queued
  t.is(mapsText(w.engineMaps, w.engineKernel), before);
  t.is(await step(w, { type: 'remove', file: 3 }), undefined); // fixed: the queued change lands
  t.true(w.engine.valid);
  t.not(mapsText(w.engineMaps, w.engineKernel), before);
});

test('nodes against pools (issue 13) follow both sides incrementally: a pool over node addresses, nodes moving in and out, the pool going (in-memory maps and kernel)', async (t) => {
  const w = await baseWorld(t);
  t.is(await step(w, { type: 'write', file: 3, text: stringify(pool('p5', '172.16.0.0/23')) }), undefined);
  t.false(w.engine.valid);
  t.deepEqual(w.engine.errors().map((d) => [d.name, d.rule]).sort(), [
    ['n0', 'node-address-in-pool'], ['n1', 'node-address-in-pool'], ['n2', 'node-address-in-pool'],
    ['p5', 'pool-contains-node-address'], ['p5', 'pool-contains-node-address'], ['p5', 'pool-contains-node-address'],
  ]);
  const moved = [node('n0', '172.18.0.1/24'), node('n1', '172.16.0.2/24'), node('n2', '172.16.2.3/22'), node('n3', '172.16.2.7/24')];
  t.is(await step(w, { type: 'write', file: 1, text: moved.map((d) => stringify(d)).join('---\n') }), undefined);
  t.deepEqual(w.engine.errors().map((d) => [d.name, d.rule]).sort(), [['n1', 'node-address-in-pool'], ['n2', 'node-subnet-overlaps-pool'], ['p5', 'pool-contains-node-address']]);
  t.is(await step(w, { type: 'write', file: 3, text: stringify(pool('p5', '127.0.0.0/8')) }), undefined);
  t.deepEqual(w.engine.errors().map((d) => d.rule), ['reserved-range-overlap']);
  t.is(await step(w, { type: 'remove', file: 3 }), undefined);
  t.true(w.engine.valid);
});

test('resync finds what changed behind its back (routes, peers, config, kernel routes, nft), counts it, and the next flush repairs it (in-memory maps and kernel)', async (t) => {
  const w = await baseWorld(t);
  const good = mapsText(w.engineMaps, w.engineKernel);
  t.deepEqual(await w.engine.resync(targetOf(w)), { routes: 0, peers: 0, config: 0, kernelRoutes: 0, nat: 0 }, 'nothing drifted yet');
  t.is((await w.engine.flush(targetOf(w), { uplink: UPLINK })).changes, 0);
  // Tamper: a route removed, a route changed, a stray route, a peer removed, the config zeroed,
  // a kernel route removed and a stray one added, the nft table emptied.
  const [first, second] = w.engineMaps.routes.entriesBatch();
  w.engineMaps.routes.deleteBatch([first![0]]);
  w.engineMaps.routes.set(second![0], { ...second![1], mode: second![1].mode === 1 ? 2 : 1 });
  w.engineMaps.routes.set({ prefixlen: 26, addr: '10.9.9.0' }, { ...second![1] });
  const [peer] = w.engineMaps.peers.entriesBatch();
  w.engineMaps.peers.deleteBatch([peer![0]]);
  w.engineMaps.config.set(0, { ...w.engineMaps.config.get(0)!, ttl: 1 });
  const [kr] = [...w.engineKernel.routes.keys()];
  w.engineKernel.routes.delete(kr!);
  w.engineKernel.routes.set('10.8.0.0/26', { dst: '10.8.0.0/26', dev: 'burrow0', via: '172.16.0.2', onlink: true, mtu: 1480 });
  w.engineKernel.fingerprints = [];
  const drift = await w.engine.resync(targetOf(w));
  t.deepEqual(drift, { routes: 3, peers: 1, config: 1, kernelRoutes: 2, nat: 1 });
  await w.engine.flush(targetOf(w), { uplink: UPLINK });
  t.is(mapsText(w.engineMaps, w.engineKernel), good, 'repaired to exactly what was written before');
  t.deepEqual(await w.engine.resync(targetOf(w)), { routes: 0, peers: 0, config: 0, kernelRoutes: 0, nat: 0 });
});

test('events applied while a flush awaits the kernel are not lost: the next flush writes them (in-memory maps and kernel)', async (t) => {
  const w = await baseWorld(t);
  // A kernel that takes its time, as `ip -batch` does.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow = { ...w.engineKernel, applyRoutes: async (replace: readonly KernelRoute[], remove: readonly KernelRoute[]) => { await gate; return w.engineKernel.applyRoutes(replace, remove); } };
  w.engine.apply([eventOf({ type: 'write', file: 3, text: stringify(block('n1', '10.0.0.128/26')) })!]);
  const first = w.engine.flush({ ...targetOf(w), kernel: slow }, { uplink: UPLINK });
  await new Promise((r) => setImmediate(r));
  // While the first flush waits on the kernel, another block arrives (a datastore watch does not wait).
  w.files.set(3, stringify(block('n1', '10.0.0.128/26')) + '---\n' + stringify(block('n2', '10.0.0.192/26')));
  w.engine.apply([eventOf({ type: 'write', file: 3, text: w.files.get(3)! })!]);
  release();
  await first;
  t.true(w.engine.pending > 0, 'the second block is still queued after the first flush');
  await w.engine.flush(targetOf(w), { uplink: UPLINK });
  const keys = w.engineMaps.routes.entriesBatch().map(([k]) => canonicalRouteKey(k));
  t.true(keys.includes('10.0.0.128/26') && keys.includes('10.0.0.192/26'), `both blocks written: ${keys.join(' ')}`);
  t.is(await step(w, { type: 'noop' }), undefined, 'and the maps equal a full apply');
});
