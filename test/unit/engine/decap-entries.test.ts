// The incremental engine keeps the `routes` entries decap reads — pools and our own blocks — as
// the one-shot compiler makes them, through the changes that move them: a block at a pool's own
// CIDR appearing (ours), changing hands (theirs), going (the pool's entry again), a pool's NAT and
// disabled flags, and the local node's address. After each step the engine's entries, bytes and
// kinds, equal compileDesiredState's.
import test from 'ava';
import { stringify } from 'yaml';

import { desiredParts } from '../../../src/agent/plan.js';
import { burrowRoute } from '../../../src/bpf/index.js';
import { compileDesiredState, type TunnelRouteKind } from '../../../src/compile/index.js';
import { parseManifests, parseManifestText } from '../../../src/config/index.js';
import { ROUTE_KIND_BLOCK, ROUTE_KIND_LOCAL_BLOCK, ROUTE_KIND_NODE_ADDRESS, ROUTE_KIND_POOL } from '../../../src/engine/derive.js';
import { Engine } from '../../../src/engine/engine.js';
import { routeKeyText } from '../../../src/engine/packed-table.js';

const V3 = 'projectcalico.org/v3';
const UPLINK = { name: 'eth0', ifindex: 2, mac: '02:00:00:00:00:01', mtu: 1500 };
const KIND: Record<number, TunnelRouteKind> = {
  [ROUTE_KIND_BLOCK]: 'block', [ROUTE_KIND_NODE_ADDRESS]: 'node-address', [ROUTE_KIND_LOCAL_BLOCK]: 'local-block', [ROUTE_KIND_POOL]: 'pool',
};

interface World { natOutgoing: boolean; disabled: boolean; blockOwner: 'n0' | 'n1' | null; n0Address: string }

function manifests(w: World): string {
  const docs = [
    { apiVersion: V3, kind: 'IPPool', metadata: { name: 'pods' }, spec: { cidr: '10.244.0.0/16', ipipMode: 'Always', natOutgoing: w.natOutgoing } },
    { apiVersion: V3, kind: 'IPPool', metadata: { name: 'tiny' }, spec: { cidr: '10.96.0.0/26', blockSize: 26, ipipMode: 'Always', ...(w.disabled ? { disabled: true } : {}) } },
    { apiVersion: V3, kind: 'Node', metadata: { name: 'n0' }, spec: { bgp: { ipv4Address: w.n0Address } } },
    { apiVersion: V3, kind: 'Node', metadata: { name: 'n1' }, spec: { bgp: { ipv4Address: '172.16.0.2/24' } } },
    { apiVersion: V3, kind: 'BlockAffinity', metadata: { name: 'n0-a' }, spec: { node: 'n0', cidr: '10.244.0.0/26' } },
    { apiVersion: V3, kind: 'BlockAffinity', metadata: { name: 'n1-a' }, spec: { node: 'n1', cidr: '10.244.1.0/26' } },
    ...(w.blockOwner ? [{ apiVersion: V3, kind: 'BlockAffinity', metadata: { name: 'tiny-block' }, spec: { node: w.blockOwner, cidr: '10.96.0.0/26' } }] : []),
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

test('pools and our blocks: the engine follows every change the compiler would make', (t) => {
  const engine = new Engine({ localNode: 'n0' });
  const steps: [string, World][] = [
    ['no block at the tiny pool: its own entry', { natOutgoing: false, disabled: false, blockOwner: null, n0Address: '172.16.0.1/24' }],
    ['our block at the pool\'s CIDR: a local block', { natOutgoing: false, disabled: false, blockOwner: 'n0', n0Address: '172.16.0.1/24' }],
    ['the block changes hands: a remote block', { natOutgoing: false, disabled: false, blockOwner: 'n1', n0Address: '172.16.0.1/24' }],
    ['the block goes: the pool\'s entry again', { natOutgoing: false, disabled: false, blockOwner: null, n0Address: '172.16.0.1/24' }],
    ['natOutgoing on the pods pool, tiny disabled: flags of pools and our blocks', { natOutgoing: true, disabled: true, blockOwner: 'n0', n0Address: '172.16.0.1/24' }],
    ['our address changes: our blocks name the new one', { natOutgoing: true, disabled: true, blockOwner: 'n0', n0Address: '172.16.0.9/24' }],
  ];
  const seen = new Set<TunnelRouteKind>();
  for (const [what, w] of steps) {
    const text = manifests(w);
    const parsed = parseManifestText(text, 'm.yaml');
    engine.apply([{ type: 'replace', source: { id: 'm.yaml', order: [0, 'm.yaml'] }, items: [...parsed.errors.map((error) => ({ error })), ...parsed.documents] }]);
    const oneShot = parseManifests([{ file: 'm.yaml', text }]);
    if (!oneShot.ok) throw new Error(`${what}: ${JSON.stringify(oneShot.errors)}`);
    const state = compileDesiredState(oneShot.model, 'n0');
    const want = Object.fromEntries([...desiredParts(state).routes].map(([k, e]) => [k, e.value]));
    const wantKinds = Object.fromEntries(state.routes.map((r) => [r.cidr, r.kind]));
    const got: Record<string, unknown> = {};
    const gotKinds: Record<string, TunnelRouteKind | undefined> = {};
    for (const key of engine.derived.routes.keys()) {
      got[routeKeyText(key)] = burrowRoute.read(Buffer.from(engine.derived.routes.get(key)!), 0);
      gotKinds[routeKeyText(key)] = KIND[engine.derived.routes.tag(key) ?? 0];
    }
    t.true(engine.valid, what);
    t.deepEqual(got, want, what);
    t.deepEqual(gotKinds, wantKinds, what);
    // The kernel routes too: a remote block at the tiny pool's CIDR carries the pool's route.
    const routeText = (r: { dst: string; dev?: string; via?: string; mtu?: number }) => `${r.dst} ${r.dev ?? '-'} ${r.via ?? '-'} ${r.mtu ?? '-'}`;
    t.deepEqual(engine.kernelRoutes(UPLINK).map(routeText).sort(), desiredParts(state, UPLINK).kernelRoutes.map(routeText).sort(), `${what}: kernel routes`);
    for (const k of Object.values(wantKinds)) seen.add(k);
  }
  t.deepEqual([...seen].sort(), ['block', 'local-block', 'pool'], 'every kind the steps are about occurred');
});
