// Properties of the reconciler (fast-check): from any actual state — stale entries, entries that
// differ from the desired ones in any field, LPM keys written with host bits, a config of
// anything, stray kernel routes and nft rules — reconcile(desired) converges to exactly the
// desired state, writes only what differs, writes every add/update before any delete, and a
// second run changes nothing. Run against the in-memory maps (the same ReconcileMap interface),
// plus a few runs against the real kernel maps.
import test from 'ava';
import fc from 'fast-check';

import { loadDatapath } from '../../src/agent/datapath.js';
import { deepEqual } from '../../src/agent/diff.js';
import type { KernelRoute } from '../../src/agent/kernel-routes.js';
import { desiredMapEntries } from '../../src/agent/map-entries.js';
import { guardFingerprints, natRuleFingerprint, nftFingerprints } from '../../src/agent/nat.js';
import { canonicalRouteKey, desiredParts, guardOf, isZeroConfig, kernelRouteSatisfies } from '../../src/agent/plan.js';
import { ReconcileRefusedError, reconcile, type ReconcileMaps } from '../../src/agent/reconcile.js';
import { memoryDatapathMaps } from '../../src/agent/reconcile-memory.js';
import type { BurrowConfig, BurrowPeer, BurrowRoute, BurrowRouteKey } from '../../src/bpf/index.js';
import type { DesiredState, KernelRoute as CompiledKernelRoute, NatRule, TunnelPeer, TunnelRoute } from '../../src/compile/index.js';
import { makePinDir } from '../helpers/bpffs.js';
import { privileged } from '../helpers/privileged.js';
import { desiredFor, memoryKernel, readBack, recording, type OpLog } from './_reconcile.js';

// A small universe, so that actual and desired keys collide often.
const arbBlock = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom(0, 64, 128, 192)).map(([x, y]) => `192.168.${x}.${y}/26`);
const arbRemote = fc.constantFrom('10.0.1.11', '10.0.2.10', '10.0.2.11');
const arbMac = fc.constantFrom('00:00:00:00:00:00', '66:cc:00:00:00:0c', '66:89:3a:22:7a:ac');
const arbVni = fc.constantFrom(0, 4096, 5000);

const arbTunnelRoute: fc.Arbitrary<TunnelRoute> = fc.record({
  kind: fc.constantFrom('block' as const, 'node-address' as const, 'local-block' as const, 'pool' as const),
  cidr: arbBlock,
  mode: fc.constantFrom('ipip' as const, 'vxlan' as const, 'none' as const),
  remote: arbRemote,
  node: fc.constantFrom('node-b', 'node-c'),
  vni: fc.constantFrom(4096, 5000),
  vtepMac: arbMac,
  natOutgoing: fc.boolean(),
  sameSubnet: fc.boolean(),
  inPool: fc.boolean(),
  poolDisabled: fc.boolean(),
  pool: fc.option(fc.record({ name: fc.constantFrom('p0', 'p1'), index: fc.integer({ min: 0, max: 1 }) }), { nil: null }),
});

const arbPeer: fc.Arbitrary<TunnelPeer> = fc.record({
  address: arbRemote,
  node: fc.constant('n'),
  modes: fc.constantFrom(['ipip' as const], ['vxlan' as const], ['ipip' as const, 'vxlan' as const]),
  vni: fc.constantFrom(4096, 5000),
});

const arbKernelRoute: fc.Arbitrary<CompiledKernelRoute> = fc.oneof(
  fc.record({
    type: fc.constant('tunnel' as const), dst: arbBlock, dev: fc.constant('burrow0'), via: arbRemote, onlink: fc.constant(true as const),
    mtu: fc.constantFrom(1480, 1450), mode: fc.constantFrom('ipip' as const, 'vxlan' as const), pool: fc.constant('p'),
  }),
  fc.record({ type: fc.constant('direct' as const), dst: arbBlock, via: arbRemote, node: fc.constant('n') }, { requiredKeys: ['type', 'dst', 'via', 'node'] }),
);

const arbNat: fc.Arbitrary<NatRule> = fc.record({
  pool: fc.constant('p'),
  sourceCidr: fc.constantFrom('192.168.0.0/16', '10.244.0.0/16', '172.16.0.0/12'),
  excludeDestinations: fc.constantFrom(['192.168.0.0/16'], ['10.244.0.0/16', '192.168.0.0/16']),
});

const base = desiredFor();

const arbDesired: fc.Arbitrary<DesiredState> = fc.record({
  routes: fc.uniqueArray(arbTunnelRoute, { selector: (r) => r.cidr, maxLength: 12 }),
  peers: fc.uniqueArray(arbPeer, { selector: (p) => p.address, maxLength: 3 }),
  kernelRoutes: fc.uniqueArray(arbKernelRoute, { selector: (k) => k.dst, maxLength: 8 }),
  nat: fc.uniqueArray(arbNat, { selector: (n) => n.sourceCidr, maxLength: 2 }),
  ttl: fc.constantFrom(64, 32),
  vxlanPort: fc.constantFrom(4789, 8472),
}).map(({ ttl, vxlanPort, ...rest }) => ({ ...base, ...rest, node: { ...base.node, ttl, vxlanPort } }));

/** Anything the maps and the kernel could hold. */
interface ActualSeed {
  routes: [BurrowRouteKey, BurrowRoute][];
  peers: [string, BurrowPeer][];
  config: BurrowConfig | null;
  kernelRoutes: KernelRoute[];
  fingerprints: string[];
}

const arbRouteValue: fc.Arbitrary<BurrowRoute> = fc.record({
  mode: fc.integer({ min: 0, max: 3 }), flags: fc.integer({ min: 0, max: 15 }), pool: fc.constantFrom(0, 1, 0xffff),
  remote: arbRemote, vni: arbVni, vtep_mac: arbMac,
});

const arbActual: fc.Arbitrary<ActualSeed> = fc.record({
  routes: fc.array(
    fc.tuple(
      // Host bits set sometimes: the trie ignores them, so does the reconciler's key.
      fc.tuple(arbBlock, fc.integer({ min: 0, max: 3 })).map(([cidr, host]) => {
        const [addr, len] = cidr.split('/');
        const parts = addr!.split('.').map(Number);
        return { prefixlen: Number(len), addr: `${parts[0]}.${parts[1]}.${parts[2]}.${parts[3]! + host}` };
      }),
      arbRouteValue,
    ),
    { maxLength: 12 },
  ),
  peers: fc.array(fc.tuple(arbRemote, fc.record({ modes: fc.integer({ min: 0, max: 3 }), vni: arbVni })), { maxLength: 3 }),
  config: fc.option(
    fc.record({
      local_ip: fc.constantFrom('10.0.1.10', '10.0.9.9'), uplink_ifindex: fc.constantFrom(0, 2), uplink_mac: arbMac, vtep_mac: arbMac,
      vxlan_port: fc.constantFrom(4789, 8472), ttl: fc.constantFrom(64, 0), default_vni: arbVni, uplink_mtu: fc.constantFrom(1500, 9000), flags: fc.constant(0),
      mss_ipip: fc.constantFrom(0, 1440), mss_vxlan: fc.constantFrom(0, 1410), gro_ifindex: fc.constantFrom(0, 4), tunnel_mac: fc.constantFrom('00:00:00:00:00:00', '02:b0:00:00:00:04'),
    }),
    { nil: null },
  ),
  kernelRoutes: fc.uniqueArray(arbKernelRoute.map((k) => desiredParts({ ...base, kernelRoutes: [k] }).kernelRoutes[0]!), { selector: (k) => k.dst, maxLength: 6 }),
  fingerprints: fc.subarray([
    'burrow-nat 192.168.0.0/16 0000000000000000', natRuleFingerprint({ sourceCidr: '192.168.0.0/16', excludeDestinations: ['192.168.0.0/16'] }),
    ...guardFingerprints({ vxlanPort: 4789 }), ...guardFingerprints({ vxlanPort: 8472 }),
  ]),
});

function seed(maps: ReconcileMaps, a: ActualSeed): void {
  if (a.routes.length) maps.routes.setBatch(a.routes);
  if (a.peers.length) maps.peers.setBatch(a.peers);
  if (a.config) maps.config.set(0, a.config);
}

/** The writes a minimal reconcile must make, computed independently of plan.ts. */
function expectedWrites(before: ReturnType<typeof readBack>, desired: DesiredState, keptUplink: boolean) {
  const want = desiredMapEntries(desired);
  const routeSets = [...want.routes].filter(([k, e]) => !deepEqual(before.routes.get(k), e.value)).map(([k]) => `routes.set ${k}`);
  const routeDeletes = [...before.routes.keys()].filter((k) => !want.routes.has(k)).map((k) => `routes.delete ${k}`);
  const peerSets = [...want.peers].filter(([k, e]) => !deepEqual(before.peers.get(k), e.value)).map(([k]) => `peers.set ${k}`);
  const peerDeletes = [...before.peers.keys()].filter((k) => !want.peers.has(k)).map((k) => `peers.delete ${k}`);
  let config = want.config;
  if (keptUplink && before.config) config = {
    ...config, uplink_ifindex: before.config.uplink_ifindex, uplink_mac: before.config.uplink_mac, uplink_mtu: before.config.uplink_mtu,
    gro_ifindex: before.config.gro_ifindex, tunnel_mac: before.config.tunnel_mac,
  };
  return { sets: [...peerSets, ...routeSets].sort(), deletes: [...routeDeletes, ...peerDeletes].sort(), config };
}

async function convergesOnce(maps: ReconcileMaps, a: ActualSeed, desired: DesiredState): Promise<void> {
  seed(maps, a);
  const kernel = memoryKernel(undefined, { routes: a.kernelRoutes, fingerprints: a.fingerprints });
  const before = readBack(maps);
  const keptUplink = before.config !== undefined && before.config.uplink_ifindex !== 0;
  const expect = expectedWrites(before, desired, keptUplink);
  const log: OpLog = [];
  const r = await reconcile(recording(maps, log), desired, { kernelState: kernel });

  // Minimal: exactly the entries that differ are written, each once.
  const mapOps = log.filter((l) => !l.startsWith('config.'));
  const sets = mapOps.filter((l) => l.includes('.set '));
  const deletes = mapOps.filter((l) => l.includes('.delete '));
  if (!deepEqual([...sets].sort(), expect.sets)) throw new Error(`sets ${JSON.stringify(sets)} ≠ ${JSON.stringify(expect.sets)}`);
  if (!deepEqual([...deletes].sort(), expect.deletes)) throw new Error(`deletes ${JSON.stringify(deletes)} ≠ ${JSON.stringify(expect.deletes)}`);
  const configWritten = log.includes('config.set 0');
  const configDiffers = !before.config || isZeroConfig(before.config) || !deepEqual(before.config, expect.config);
  if (configWritten !== configDiffers) throw new Error(`config written ${configWritten}, differs ${configDiffers}`);
  // Make-before-break: every set before every delete.
  const lastSet = Math.max(-1, ...log.map((l, i) => (l.includes('.set ') ? i : -1)));
  const firstDelete = log.findIndex((l) => l.includes('.delete '));
  if (firstDelete >= 0 && lastSet > firstDelete) throw new Error(`a set after a delete: ${JSON.stringify(log)}`);
  if (r.changes !== sets.length + deletes.length + (configWritten ? 1 : 0) + r.plan.kernelRoutes.add.length + r.plan.kernelRoutes.update.length + r.plan.kernelRoutes.remove.length + (r.plan.nat ? Math.max(1, r.plan.nat.add.length + r.plan.nat.addGuard.length + r.plan.nat.remove.length) : 0)) {
    throw new Error(`changes ${r.changes} does not count the writes`);
  }

  // Converged: the maps, kernel routes and nft hold exactly the desired state.
  const after = readBack(maps);
  const want = desiredMapEntries(desired);
  if (!deepEqual(Object.fromEntries(after.routes), Object.fromEntries([...want.routes].map(([k, e]) => [k, e.value])))) throw new Error('routes did not converge');
  if (!deepEqual(Object.fromEntries(after.peers), Object.fromEntries([...want.peers].map(([k, e]) => [k, e.value])))) throw new Error('peers did not converge');
  if (!deepEqual(after.config, expect.config)) throw new Error(`config did not converge: ${JSON.stringify(after.config)}`);
  const wantKernel = desiredParts(desired).kernelRoutes;
  if (kernel.routes.size !== wantKernel.length || !wantKernel.every((w) => kernelRouteSatisfies(kernel.routes.get(w.dst)!, w))) throw new Error('kernel routes did not converge');
  if (!deepEqual([...kernel.fingerprints].sort(), nftFingerprints(desired.nat, guardOf(desired.node)))) throw new Error('nft did not converge');

  // Idempotent: nothing left to do.
  const log2: OpLog = [];
  const again = await reconcile(recording(maps, log2), desired, { kernelState: kernel });
  if (again.changes !== 0 || log2.length !== 0 || again.applied) throw new Error(`second run changed ${again.changes}: ${JSON.stringify(log2)}`);
}

test('from any actual state, reconcile converges minimally, make-before-break, and is idempotent (in-memory maps)', async (t) => {
  await t.notThrowsAsync(fc.assert(
    fc.asyncProperty(arbActual, arbDesired, async (a, desired) => {
      await convergesOnce(memoryDatapathMaps(), a, desired);
    }),
    { numRuns: 300 },
  ));
});

test('a desired state larger than a map is refused before any write (in-memory maps)', async (t) => {
  await fc.assert(
    fc.asyncProperty(arbActual, arbDesired.filter((d) => d.routes.length > 3), async (a, desired) => {
      const maps = memoryDatapathMaps({ routes: 3, peers: 16 });
      const small = { ...a, routes: a.routes.slice(0, 3) };
      seed(maps, small);
      const before = readBack(maps);
      const log: OpLog = [];
      await t.throwsAsync(reconcile(recording(maps, log), desired, { kernel: false }), { instanceOf: ReconcileRefusedError, message: /routes map holds at most 3; nothing was changed/ });
      t.deepEqual(log, []);
      t.deepEqual(readBack(maps), before);
    }),
    { numRuns: 30 },
  );
});

test('a map too full for old and new at once: its deletes go first, and it still converges (in-memory maps)', async (t) => {
  // Routes to node-b and node-c, the pool and node-a's two blocks: 5 entries, exactly the map's size.
  const desired = desiredFor({ pool: { ipipMode: 'Always' } }, 'node-a');
  const wanted = desired.routes.map((r) => r.cidr).sort();
  t.deepEqual(wanted, ['192.168.0.0/16', '192.168.0.0/26', '192.168.0.64/26', '192.168.1.0/26', '192.168.2.0/26']);
  const maps = memoryDatapathMaps({ routes: wanted.length });
  const someRoute = [...desiredMapEntries(desired).routes.values()][0]!.value;
  maps.routes.setBatch([[{ prefixlen: 24, addr: '10.9.1.0' }, someRoute], [{ prefixlen: 24, addr: '10.9.2.0' }, someRoute]]);
  const log: OpLog = [];
  const r = await reconcile(recording(maps, log), desired, { kernel: false });
  t.deepEqual(log.filter((l) => l.startsWith('routes.')), [
    'routes.delete 10.9.1.0/24', 'routes.delete 10.9.2.0/24', ...wanted.map((c) => `routes.set ${c}`),
  ]);
  t.true(r.applied);
  t.deepEqual([...readBack(maps).routes.keys()].sort(), wanted);
});

privileged.serial('the same property against the real kernel maps (a few runs)', async (t) => {
  const dir = makePinDir();
  const dp = loadDatapath(dir.path, ['tc_encap']);
  t.teardown(() => {
    dp.close();
    dir.cleanup();
  });
  const clear = () => {
    const keys = dp.maps.routes.entriesBatch().map(([k]) => k);
    if (keys.length) dp.maps.routes.deleteBatch(keys);
    const peers = dp.maps.peers.entriesBatch().map(([k]) => k);
    if (peers.length) dp.maps.peers.deleteBatch(peers);
    dp.maps.config.set(0, { local_ip: '0.0.0.0', uplink_ifindex: 0, uplink_mac: '00:00:00:00:00:00', vtep_mac: '00:00:00:00:00:00', vxlan_port: 0, ttl: 0, default_vni: 0, uplink_mtu: 0, flags: 0, mss_ipip: 0, mss_vxlan: 0, gro_ifindex: 0, tunnel_mac: '00:00:00:00:00:00' });
  };
  await t.notThrowsAsync(fc.assert(
    fc.asyncProperty(arbActual, arbDesired, async (a, desired) => {
      clear();
      await convergesOnce(dp.maps, a, desired);
      // The kernel's trie agrees about the keys: every stored key is a desired CIDR (no host-bit twins).
      const stored = dp.maps.routes.entriesBatch().map(([k]) => canonicalRouteKey(k)).sort();
      if (!deepEqual(stored, desired.routes.map((r) => r.cidr).sort())) throw new Error(`stored keys ${JSON.stringify(stored)}`);
    }),
    { numRuns: 15 },
  ));
});
