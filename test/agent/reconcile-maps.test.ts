// The reconciler against the real kernel maps in a private pin root (a bpffs of our own, removed
// afterwards): apply writes exactly the desired entries, a second apply writes nothing, a change
// writes exactly the entries that differ (adds and updates before deletes), an invalid model
// changes no byte, and a large route set goes in one batch.
import type { ExecutionContext } from 'ava';

import { loadDatapath, type Datapath } from '../../src/agent/datapath.js';
import { configValueOf, desiredMapEntries } from '../../src/agent/map-entries.js';
import { guardFingerprints } from '../../src/agent/nat.js';
import { withTransitionalPeers } from '../../src/agent/plan.js';
import { reconcile } from '../../src/agent/reconcile.js';
import { BurrowMode } from '../../src/bpf/index.js';
import type { DesiredState, TunnelRoute } from '../../src/compile/index.js';
import { agentctl, labManifests, manifestDir } from '../helpers/agentctl.js';
import { makePinDir } from '../helpers/bpffs.js';
import { privileged } from '../helpers/privileged.js';
import { desiredFor, memoryKernel, rawSnapshot, readBack, recording, type OpLog } from './_reconcile.js';

/** The datapath's maps in a fresh pin root (created by loading tc_encap); gone after the test. */
function datapath(t: ExecutionContext): { dp: Datapath; pinRoot: string } {
  const dir = makePinDir();
  let dp: Datapath | undefined;
  t.teardown(() => {
    dp?.close();
    dir.cleanup();
  });
  dp = loadDatapath(dir.path, ['tc_encap']);
  return { dp, pinRoot: dir.path };
}

function expectExactly(t: ExecutionContext, dp: Datapath, state: DesiredState): void {
  const want = desiredMapEntries(state);
  const got = readBack(dp.maps);
  t.deepEqual([...got.routes].sort(), [...want.routes].map(([k, e]) => [k, e.value]).sort(), 'routes map');
  t.deepEqual([...got.peers].sort(), [...want.peers].map(([k, e]) => [k, e.value]).sort(), 'peers map');
  t.deepEqual(got.config, configValueOf(state.node), 'config map');
}

privileged('apply populates routes, peers and config exactly, in make-before-break order', async (t) => {
  const { dp } = datapath(t);
  const state = desiredFor({ pool: { ipipMode: 'CrossSubnet' } });
  const log: OpLog = [];
  const r = await reconcile(recording(dp.maps, log), state, { kernel: false });
  t.true(r.applied);
  t.is(r.changes, 7);
  t.deepEqual(log, [
    'peers.set 10.0.2.10', 'config.set 0',
    'routes.set 192.168.0.0/16', 'routes.set 192.168.0.0/26', 'routes.set 192.168.0.64/26', 'routes.set 192.168.1.0/26', 'routes.set 192.168.2.0/26',
  ]);
  t.deepEqual(r.steps, [{ step: 'peers.set', count: 1 }, { step: 'config.set', count: 1 }, { step: 'routes.set', count: 5 }]);
  expectExactly(t, dp, state);
  // Spot-check the bytes' meaning, not just the round trip.
  const routes = readBack(dp.maps).routes;
  t.like(routes.get('192.168.2.0/26'), { mode: BurrowMode.ipip, remote: '10.0.2.10', vni: 0, flags: 0b0101, pool: 0 });
  t.like(routes.get('192.168.1.0/26'), { mode: BurrowMode.none, remote: '10.0.1.11', flags: 0b0111 });
  // The pool (nat-outgoing, in-pool; nobody's) and our own blocks (nat-outgoing, in-pool, local; ours).
  t.like(routes.get('192.168.0.0/16'), { mode: BurrowMode.none, remote: '0.0.0.0', vni: 0, flags: 0b00101, pool: 0 });
  t.like(routes.get('192.168.0.0/26'), { mode: BurrowMode.none, remote: '10.0.1.10', vni: 0, flags: 0b10101, pool: 0 });
  t.deepEqual(readBack(dp.maps).peers.get('10.0.2.10'), { modes: 1, vni: 4096 });
});

privileged('a second apply of the same input reports zero changes and writes nothing', async (t) => {
  const { dp } = datapath(t);
  const state = desiredFor();
  await reconcile(dp.maps, state, { kernel: false });
  const before = rawSnapshot(dp.maps);
  const log: OpLog = [];
  const again = await reconcile(recording(dp.maps, log), desiredFor(), { kernel: false });
  t.is(again.changes, 0);
  t.false(again.applied);
  t.deepEqual(log, []);
  t.deepEqual(rawSnapshot(dp.maps), before);
});

privileged('pool IPIP → VXLAN: exactly the tunnelled route and its peer are updated', async (t) => {
  const { dp } = datapath(t);
  await reconcile(dp.maps, desiredFor({ pool: { ipipMode: 'CrossSubnet' } }), { kernel: false });
  const vxlan = desiredFor({ pool: { ipipMode: 'Never', vxlanMode: 'CrossSubnet' } });
  const log: OpLog = [];
  const r = await reconcile(recording(dp.maps, log), vxlan, { kernel: false });
  t.deepEqual(log, ['peers.set 10.0.2.10', 'routes.set 192.168.2.0/26']);
  t.deepEqual(r.plan.routes.update.map((c) => c.key), ['192.168.2.0/26']);
  t.deepEqual([r.plan.routes.add, r.plan.routes.remove, r.plan.peers.add, r.plan.peers.remove], [[], [], [], []]);
  t.is(r.plan.config, null);
  t.is(r.changes, 2);
  t.like(readBack(dp.maps).routes.get('192.168.2.0/26'), { mode: BurrowMode.vxlan, vni: 4096, vtep_mac: '66:cc:00:00:00:0c' });
  t.deepEqual(readBack(dp.maps).peers.get('10.0.2.10'), { modes: 2, vni: 4096 });
  expectExactly(t, dp, vxlan);
});

privileged('a node removed: exactly its route and its peer are deleted', async (t) => {
  const { dp } = datapath(t);
  await reconcile(dp.maps, desiredFor(), { kernel: false });
  const log: OpLog = [];
  const without = desiredFor({ nodes: ['node-a', 'node-b'] });
  const r = await reconcile(recording(dp.maps, log), without, { kernel: false });
  t.deepEqual(log, ['routes.delete 192.168.2.0/26', 'peers.delete 10.0.2.10']);
  t.is(r.changes, 2);
  expectExactly(t, dp, without);
});

privileged('adds and updates are written before deletes, kernel routes and nft in between', async (t) => {
  const { dp } = datapath(t);
  const log: OpLog = [];
  const kernel = memoryKernel(log);
  // IPIP Always among node-a and node-b: node-b is a tunnelled peer.
  await reconcile(dp.maps, desiredFor({ pool: { ipipMode: 'Always' }, nodes: ['node-a', 'node-b'] }), { kernelState: kernel });
  log.length = 0;
  // CrossSubnet with node-c added: node-b's route becomes direct (update), node-b stops being a
  // peer (delete), node-c arrives (add; the pool's kernel route already carries it), node-b's
  // block gets a direct kernel route (more specific than the pool's).
  const next = desiredFor({ pool: { ipipMode: 'CrossSubnet', natOutgoing: false } });
  const r = await reconcile(recording(dp.maps, log), next, { kernelState: kernel });
  t.deepEqual(log, [
    'peers.set 10.0.2.10',
    'routes.set 192.168.2.0/26',
    // natOutgoing off: the pool's and our blocks' flags change too.
    'routes.set 192.168.0.0/16',
    'routes.set 192.168.0.0/26',
    'routes.set 192.168.0.64/26',
    'routes.set 192.168.1.0/26',
    'kernel.replace 192.168.1.0/26',
    'nat 0',
    'peers.delete 10.0.1.11',
  ]);
  t.deepEqual(r.plan.routes.add.map((c) => c.key), ['192.168.2.0/26']);
  t.deepEqual(r.plan.routes.update.map((c) => c.key), ['192.168.0.0/16', '192.168.0.0/26', '192.168.0.64/26', '192.168.1.0/26']);
  t.deepEqual(r.plan.peers.remove.map((c) => c.key), ['10.0.1.11']);
  t.deepEqual(kernel.fingerprints, guardFingerprints({ vxlanPort: 4789 }), 'natOutgoing off: the table keeps only the tunnel guard');
  expectExactly(t, dp, next);
});

privileged('invalid manifests (agentctl apply) change no byte of the maps', async (t) => {
  const { dp, pinRoot } = datapath(t);
  await reconcile(dp.maps, desiredFor(), { kernel: false });
  const before = rawSnapshot(dp.maps);
  const m = manifestDir();
  t.teardown(() => m.cleanup());
  // Valid documents that would change every map, plus one invalid document.
  const bad = m.write('lab.yaml', labManifests({
    pool: { ipipMode: 'Never', vxlanMode: 'Always' },
    nodes: ['node-a', 'node-b'],
    extra: 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: broken\nspec:\n  cidr: 10.244.0.0/33',
  }));
  const r = await agentctl(['--pin-root', pinRoot, 'apply', '-f', bad, '--node', 'node-a', '--no-kernel']);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /document \d+ \(IPPool broken\): spec\.cidr/);
  t.deepEqual(rawSnapshot(dp.maps), before);
  // A model that validates but does not describe the node is refused before any write too.
  const good = m.write('good.yaml', labManifests({ pool: { vxlanMode: 'Always', ipipMode: 'Never' } }));
  const unknown = await agentctl(['--pin-root', pinRoot, 'apply', '-f', good, '--node', 'node-z', '--no-kernel']);
  t.is(unknown.code, 1);
  t.deepEqual(rawSnapshot(dp.maps), before);
});

privileged('thousands of routes are written with one batch call and removed with one', async (t) => {
  const { dp } = datapath(t);
  const base = desiredFor();
  const template = base.routes.find((r) => r.mode === 'ipip')!;
  const many: TunnelRoute[] = Array.from({ length: 5000 }, (_, i) => ({
    ...template, cidr: `10.${64 + (i >> 8)}.${i & 0xff}.0/24`, remote: `10.0.2.${10 + (i % 50)}`,
  }));
  const calls: OpLog = [];
  const r = await reconcile(recording(dp.maps, [], calls), { ...base, routes: many }, { kernel: false });
  t.is(r.plan.routes.add.length, 5000);
  t.deepEqual(calls.filter((c) => c.startsWith('routes.')), ['routes.setBatch 5000']);
  t.is(readBack(dp.maps).routes.size, 5000);
  calls.length = 0;
  const half = many.filter((_, i) => i % 2 === 0);
  const r2 = await reconcile(recording(dp.maps, [], calls), { ...base, routes: half }, { kernel: false });
  t.is(r2.plan.routes.remove.length, 2500);
  t.deepEqual(calls.filter((c) => c.startsWith('routes.')), ['routes.deleteBatch 2500']);
  t.deepEqual([...readBack(dp.maps).routes.keys()].sort(), half.map((h) => h.cidr).sort());
});

privileged('IPIP → VXLAN with transitional peers: the peer accepts both tunnels until the grace ends, then only VXLAN', async (t) => {
  const { dp } = datapath(t);
  const ipip = desiredFor({ pool: { ipipMode: 'Always' } });
  const vxlan = desiredFor({ pool: { ipipMode: 'Never', vxlanMode: 'Always' } });
  await reconcile(dp.maps, ipip, { kernel: false });
  const during = await reconcile(dp.maps, withTransitionalPeers(vxlan, ipip), { kernel: false });
  t.deepEqual(during.plan.peers.update.map((c) => [c.key, c.after!.value.modes]), [['10.0.1.11', 3], ['10.0.2.10', 3]]);
  t.true([...readBack(dp.maps).routes.values()].every((r) => r.mode === BurrowMode.vxlan || r.remote === '0.0.0.0' || r.remote === '10.0.1.10'), 'routes switch at once');
  const after = await reconcile(dp.maps, vxlan, { kernel: false });
  t.deepEqual(after.plan.peers.update.map((c) => [c.key, c.after!.value.modes]), [['10.0.1.11', 2], ['10.0.2.10', 2]]);
  t.is(after.changes, 2);
  expectExactly(t, dp, vxlan);
});
