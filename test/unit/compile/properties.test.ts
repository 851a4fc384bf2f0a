// Properties over generated clusters: compiling is deterministic and does not depend on how the
// resources are ordered or split into files and documents (multi-document YAML, one JSON List);
// and the structural invariants every DesiredState must keep.
import test from 'ava';
import fc from 'fast-check';
import { compileDesiredState, desiredStateJson, type DesiredState } from '../../../src/compile/index.js';
import { parseManifests, type ManifestSource, type Model } from '../../../src/config/index.js';
import { block, felix, node, pool, yamlDocs } from '../config/_fixtures.js';

const MODES = ['Always', 'CrossSubnet', 'Never'] as const;
const V4_POOLS = [
  { cidr: '192.168.0.0/16', base: 0xc0a80000 },
  { cidr: '172.16.0.0/16', base: 0xac100000 },
  { cidr: '10.244.0.0/16', base: 0x0af40000 },
];
const ipv4 = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

const poolArb = fc.record({
  encap: fc.constantFrom('ipip', 'vxlan', 'default'),
  mode: fc.constantFrom(...MODES),
  natOutgoing: fc.boolean(),
  disabled: fc.boolean(),
  blockSize: fc.integer({ min: 24, max: 28 }),
  owners: fc.array(fc.option(fc.nat(5), { nil: undefined }), { minLength: 0, maxLength: 4 }),
});

const clusterArb = fc.record({
  nodes: fc.array(fc.record({ subnet: fc.integer({ min: 1, max: 3 }), prefix: fc.constantFrom(16, 24, 24, 32) }), { minLength: 1, maxLength: 6 }),
  pools: fc.tuple(fc.option(poolArb, { nil: undefined }), fc.option(poolArb, { nil: undefined }), fc.option(poolArb, { nil: undefined })),
  v6: fc.boolean(),
  felix: fc.option(fc.record({ vxlanVNI: fc.integer({ min: 1, max: 0xffffff }), vxlanPort: fc.integer({ min: 1, max: 65535 }) }), { nil: undefined }),
  konvoyVxlan: fc.boolean(),
  local: fc.nat(),
});

type Cluster = typeof clusterArb extends fc.Arbitrary<infer T> ? T : never;

/** The cluster's resources as plain objects, in a canonical order. */
function resources(c: Cluster): unknown[] {
  const out: unknown[] = [];
  c.nodes.forEach((n, i) => out.push(node(`n${i}`, `10.0.${n.subnet}.${10 + i}/${n.prefix}`)));
  c.pools.forEach((p, i) => {
    if (!p) return;
    const { cidr, base } = V4_POOLS[i]!;
    const spec: Record<string, unknown> = { natOutgoing: p.natOutgoing, disabled: p.disabled, blockSize: p.blockSize };
    if (p.encap !== 'default') spec[`${p.encap}Mode`] = p.mode;
    out.push(pool(`pool-${i}`, cidr, spec));
    p.owners.forEach((owner, j) => {
      if (owner === undefined) return;
      const cidrOfBlock = `${ipv4(base + j * 2 ** (32 - p.blockSize))}/${p.blockSize}`;
      out.push(block(`n${owner % c.nodes.length}`, cidrOfBlock));
    });
  });
  if (c.v6) out.push(pool('pool-v6', 'fd00:10::/48', { vxlanMode: 'Always', natOutgoing: true }));
  if (c.felix) out.push(felix(c.felix));
  if (c.konvoyVxlan) out.push({ kind: 'ClusterConfiguration', apiVersion: 'konvoy.mesosphere.io/v1beta2', spec: { kubernetes: { containerNetworking: { calico: { encapsulation: 'vxlan' } } } } });
  return out;
}

/** Spread resources over up to three YAML files in the given order, or one JSON List. */
function layout(docs: unknown[], order: number[], files: number[], asList: boolean): ManifestSource[] {
  const ordered = order.map((i) => docs[i]);
  if (asList) return [{ file: 'all.json', text: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: ordered }) }];
  const byFile: unknown[][] = [[], [], []];
  ordered.forEach((d, i) => byFile[files[i % files.length]!]!.push(d));
  return byFile.filter((f) => f.length > 0).map((f, i) => ({ file: `f${i}.yaml`, text: yamlDocs(...f) }));
}

function modelOrThrow(sources: ManifestSource[]): Model {
  const r = parseManifests(sources);
  if (!r.ok) throw new Error(`generated cluster rejected: ${r.errors.map((e) => `${e.rule} ${e.message}`).join('; ')}`);
  return r.model;
}

/** The state with warnings stripped of where they came from (file, document, List item move with the layout). */
function comparable(state: DesiredState): unknown {
  const json = desiredStateJson(state);
  return {
    ...json,
    warnings: json.warnings.map(({ file: _f, document: _d, path, ...rest }) => ({ ...rest, path: path.replace(/^items\[\d+\]\.?/, '') })),
  };
}

const layoutArb = (n: number) =>
  fc.record({
    order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
    files: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 8 }),
    asList: fc.boolean(),
  });

const arbitrary = clusterArb.chain((c) => {
  const n = resources(c).length;
  return fc.tuple(fc.constant(c), layoutArb(n), layoutArb(n));
});

test('compile is deterministic and independent of resource order, files and documents', (t) => {
  fc.assert(
    fc.property(arbitrary, ([c, a, b]) => {
      const docs = resources(c);
      const local = `n${c.local % c.nodes.length}`;
      const first = compileDesiredState(modelOrThrow(layout(docs, a.order, a.files, a.asList)), local);
      const second = compileDesiredState(modelOrThrow(layout(docs, b.order, b.files, b.asList)), local);
      const again = compileDesiredState(modelOrThrow(layout(docs, a.order, a.files, a.asList)), local);
      t.deepEqual(again, first);
      t.deepEqual(comparable(second), comparable(first));
      t.is(JSON.stringify(comparable(second)), JSON.stringify(comparable(first))); // key order too
    }),
    { numRuns: 150 },
  );
});

test('invariants: no route to our own blocks, remotes are owners, modes follow the pool, sorted outputs', (t) => {
  fc.assert(
    fc.property(clusterArb, (c) => {
      const docs = resources(c);
      const model = modelOrThrow(layout(docs, [...docs.keys()], [0], false));
      const localName = `n${c.local % c.nodes.length}`;
      const state = compileDesiredState(model, localName);
      const nodes = new Map(model.nodes.map((n) => [n.name, n]));
      const pools = new Map(model.pools.map((p) => [p.name, p]));
      const blocks = state.routes.filter((r) => r.kind === 'block');
      t.false(blocks.some((r) => r.node === localName));
      t.is(blocks.length, model.blocks.filter((b) => b.node !== localName).length); // one route per remote block
      for (const r of blocks) {
        t.is(r.remote, nodes.get(r.node)!.address);
        const p = pools.get(r.pool!.name)!;
        t.is(r.pool!.index, p.index);
        const encap = p.ipipMode !== 'Never' ? 'ipip' : p.vxlanMode !== 'Never' ? 'vxlan' : 'none';
        const when = p.ipipMode !== 'Never' ? p.ipipMode : p.vxlanMode;
        const want = encap === 'none' || when === 'Never' ? 'none' : when === 'CrossSubnet' && r.sameSubnet ? 'none' : encap;
        t.is(r.mode, want);
        t.is(r.poolDisabled, p.disabled);
        t.is(r.natOutgoing, p.natOutgoing);
      }
      // Every encapsulated block is carried by its pool's tunnel kernel route, with that mode's MTU;
      // tunnel routes are pools', one each; direct routes are same-subnet blocks that are not tunnelled.
      for (const r of blocks.filter((x) => x.mode !== 'none')) {
        const p = pools.get(r.pool!.name)!;
        const k = state.kernelRoutes.find((x) => x.dst === p.cidr);
        t.true(k?.type === 'tunnel' && k.mtu === state.node.tunnelMtu[r.mode as 'ipip' | 'vxlan'] && k.mode === r.mode, `${r.cidr} in ${p.cidr}`);
      }
      for (const k of state.kernelRoutes) {
        if (k.type === 'tunnel') t.is(pools.get(k.pool)?.cidr, k.dst);
        else t.true(blocks.some((b) => b.cidr === k.dst && b.mode === 'none' && b.sameSubnet));
      }
      t.is(new Set(state.kernelRoutes.map((k) => k.dst)).size, state.kernelRoutes.length);
      t.false(state.peers.some((p) => p.node === localName));
      const sortedBy = <T>(xs: readonly T[], key: (x: T) => string) => xs.map(key).join(',') === [...xs].map(key).sort(byNet).join(',');
      t.true(sortedBy(state.routes, (r) => r.cidr));
      t.true(sortedBy(state.kernelRoutes, (r) => r.dst));
      t.true(sortedBy(state.peers, (p) => p.address));
      t.true(state.nat.every((n) => n.excludeDestinations.includes(n.sourceCidr)));
    }),
    { numRuns: 150 },
  );
});

/** Sort CIDR/address strings numerically (what the compiler promises), not as text. */
function byNet(a: string, b: string): number {
  const key = (s: string) => {
    const [ip, len] = s.split('/');
    return ip!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0) * 64 + Number(len ?? 32);
  };
  return key(a) - key(b);
}
