// The BlockAffinity and Node fast paths (resources.ts fastBlockAffinity, fastNode) against the zod schema: whatever
// it accepts, the schema accepts with the same value; the plain shapes real clusters write are
// accepted (so the fast path is the one taken); anything unusual is left to the schema.
import test from 'ava';
import fc from 'fast-check';
import type { z } from 'zod';

import { deepEqual } from '../../../src/agent/diff.js';
import { fastBlockAffinity, fastNode } from '../../../src/config/resources.js';
import { BlockAffinitySchema, NodeSchema } from '../../../src/config/schema.js';

const anyValue = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant('true'), fc.constant('false'), fc.dictionary(fc.string(), fc.string()), fc.array(fc.string()));
const mostly = <T, U>(good: fc.Arbitrary<T>, other: fc.Arbitrary<U>) => fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: other });
/** Present most of the time (absent: the key is left out). */
const often = <T>(a: fc.Arbitrary<T>, freq = 5) => fc.option(a, { freq, nil: undefined });
const rarely = <T>(a: fc.Arbitrary<T>) => fc.option(a, { freq: 1, nil: undefined }).chain((v) => fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(v) }));
const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const name = mostly(fc.constantFrom('node-1-10-0-0-0-26', 'a', 'a.b-c', 'x'.repeat(253)), fc.oneof(fc.constantFrom('', 'A', '-x', 'x-', 'a..b', 'x'.repeat(254)), fc.string()));
const meta = fc.record({
  name: often(mostly(name, anyValue), 10),
  namespace: rarely(mostly(fc.string(), anyValue)),
  uid: rarely(mostly(fc.string(), anyValue)),
  resourceVersion: rarely(mostly(fc.string(), fc.integer())),
  creationTimestamp: rarely(mostly(fc.string(), fc.constant(null))),
  labels: rarely(fc.dictionary(fc.string(), fc.string())),
  weird: rarely(anyValue),
}).map(defined);
const spec = fc.record({
  node: often(mostly(fc.constantFrom('node-1', 'n'), fc.oneof(fc.constant(''), anyValue)), 10),
  cidr: often(mostly(fc.constantFrom('10.0.0.0/26', 'bogus'), anyValue), 10),
  state: often(mostly(fc.constantFrom('confirmed', 'pending', 'pendingDeletion'), fc.oneof(fc.constant('Confirmed'), anyValue)), 2),
  deleted: often(mostly(fc.constantFrom(true, false, 'true', 'false'), fc.oneof(fc.constant('yes'), anyValue)), 2),
  type: rarely(mostly(fc.constantFrom('host', 'virtual'), fc.oneof(fc.constant('guest'), anyValue))),
  extra: rarely(anyValue),
}).map(defined);
const resource = fc.record({
  apiVersion: fc.constantFrom('projectcalico.org/v3', 'crd.projectcalico.org/v1'),
  kind: fc.constant('BlockAffinity'),
  metadata: mostly(meta, anyValue),
  spec: mostly(spec, anyValue),
  status: rarely(anyValue),
}).map(defined);

/** 20,000 generated resources: whatever `fast` accepts, `schema` accepts with the same value; how many `fast` took. */
function acceptedLikeTheSchema(arb: fc.Arbitrary<Record<string, unknown>>, fast: (r: Record<string, unknown>) => unknown, schema: z.ZodType): number {
  let accepted = 0;
  fc.assert(
    fc.property(arb, (r) => {
      const value = fast(r);
      if (!value) return true;
      accepted++;
      const parsed = schema.safeParse(r);
      return parsed.success && deepEqual(parsed.data, value);
    }),
    { numRuns: 20000 },
  );
  return accepted;
}

test('whatever the fast path accepts, the schema accepts with the same value', (t) => {
  const accepted = acceptedLikeTheSchema(resource, fastBlockAffinity, BlockAffinitySchema);
  t.true(accepted > 2000, `the fast path accepted ${accepted} generated resources`);
});

test('the shapes kubectl and calicoctl write take the fast path', (t) => {
  const plain = { apiVersion: 'projectcalico.org/v3', kind: 'BlockAffinity', metadata: { name: 'node-1-10-0-0-0-26', resourceVersion: '42', uid: 'abc', creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { node: 'node-1', cidr: '10.0.0.0/26', state: 'confirmed', deleted: 'false' } };
  t.deepEqual(fastBlockAffinity(plain), BlockAffinitySchema.parse(plain));
  t.is(fastBlockAffinity({ ...plain, spec: { ...plain.spec, extra: 1 } }), undefined, 'an unknown field is left to the schema (its diagnostic)');
  t.is(fastBlockAffinity({ ...plain, metadata: { name: 'Node_1' } }), undefined, 'a name the schema refuses is left to it');
});

// ── Node ─────────────────────────────────────────────────────────────────────────────────────

const ipv4ish = mostly(fc.constantFrom('10.0.0.1', '192.168.7.250', '0.0.0.0'), fc.oneof(fc.constantFrom('10.0.0', '10.0.0.256', '10.0.0.1/24', '01.2.3.4', ''), anyValue));
const nodeMeta = fc.record({
  name: often(mostly(fc.constantFrom('node-1', 'a', 'worker-3.example.com', 'x'.repeat(253)), fc.oneof(fc.constantFrom('', 'Node_1', 'x'.repeat(254)), fc.string())), 10),
  uid: rarely(mostly(fc.string(), anyValue)),
  resourceVersion: rarely(mostly(fc.string(), fc.integer())),
  creationTimestamp: rarely(mostly(fc.string(), fc.constant(null))),
  labels: often(mostly(fc.dictionary(fc.string(), fc.string()), fc.dictionary(fc.string(), anyValue)), 2),
  annotations: rarely(mostly(fc.dictionary(fc.string(), fc.string()), anyValue)),
  generation: rarely(mostly(fc.integer(), anyValue)),
  weird: rarely(anyValue),
}).map(defined);
const bgp = fc.record({
  ipv4Address: often(mostly(fc.constantFrom('10.0.0.1/24', '10.0.0.1'), anyValue), 10),
  ipv6Address: rarely(mostly(fc.string(), anyValue)),
  ipv4IPIPTunnelAddr: often(ipv4ish, 2),
  asNumber: rarely(mostly(fc.oneof(fc.integer(), fc.string()), fc.oneof(fc.double(), anyValue))),
  routeReflectorClusterID: rarely(mostly(fc.string(), anyValue)),
  extra: rarely(anyValue),
}).map(defined);
const nodeSpec = fc.record({
  bgp: often(mostly(bgp, anyValue), 10),
  ipv4VXLANTunnelAddr: often(ipv4ish, 2),
  vxlanTunnelMACAddr: often(mostly(fc.constantFrom('66:0a:1b:2c:3d:4e', '66-0A-1B-2C-3D-4E'), fc.oneof(fc.constantFrom('67:0a:1b:2c:3d:4e', '66:0a:1b:2c:3d', 'zz:0a:1b:2c:3d:4e'), anyValue)), 2),
  ipv6VXLANTunnelAddr: rarely(mostly(fc.string(), anyValue)),
  vxlanTunnelMACAddrV6: rarely(mostly(fc.string(), anyValue)),
  orchRefs: often(mostly(fc.array(fc.record({ nodeName: often(mostly(fc.string(), anyValue)), orchestrator: often(mostly(fc.constant('k8s'), anyValue), 10), more: rarely(anyValue) }).map(defined), { maxLength: 2 }), anyValue), 2),
  addresses: often(mostly(fc.array(fc.record({ address: often(mostly(fc.constantFrom('10.0.0.1/24', '10.0.0.1'), anyValue), 10), type: often(mostly(fc.constantFrom('CalicoNodeIP', 'InternalIP'), anyValue)), more: rarely(anyValue) }).map(defined), { maxLength: 3 }), anyValue), 2),
  wireguard: rarely(mostly(fc.record({ interfaceIPv4Address: often(mostly(fc.string(), anyValue)), interfaceIPv6Address: rarely(fc.string()), more: rarely(anyValue) }).map(defined), anyValue)),
  extra: rarely(anyValue),
}).map(defined);
const nodeResource = fc.record({
  apiVersion: fc.constant('projectcalico.org/v3'),
  kind: fc.constant('Node'),
  metadata: mostly(nodeMeta, anyValue),
  spec: mostly(nodeSpec, anyValue),
  status: rarely(mostly(fc.dictionary(fc.string(), anyValue), anyValue)),
}).map(defined);

test('Node: whatever the fast path accepts, the schema accepts with the same value', (t) => {
  const accepted = acceptedLikeTheSchema(nodeResource, fastNode, NodeSchema);
  t.true(accepted > 1000, `the fast path accepted ${accepted} generated resources`);
});

test('Node: what calico-node and the lab write take the fast path; the rest is left to the schema', (t) => {
  const plain = {
    apiVersion: 'projectcalico.org/v3', kind: 'Node',
    metadata: { name: 'worker-1', uid: 'u', resourceVersion: '7', creationTimestamp: '2026-11-29T00:00:00Z', labels: { 'kubernetes.io/hostname': 'worker-1', 'kubernetes.io/os': 'linux' } },
    spec: {
      bgp: { ipv4Address: '10.0.1.10/24', ipv4IPIPTunnelAddr: '192.168.1.1' }, ipv4VXLANTunnelAddr: '192.168.1.2', vxlanTunnelMACAddr: '66:0a:1b:2c:3d:4e',
      orchRefs: [{ nodeName: 'worker-1', orchestrator: 'k8s' }], addresses: [{ address: '10.0.1.10/24', type: 'CalicoNodeIP' }, { address: '10.0.1.10', type: 'InternalIP' }],
    },
    status: { podCIDRs: ['192.168.1.0/24'] },
  };
  t.deepEqual(fastNode(plain), NodeSchema.parse(plain));
  t.deepEqual(fastNode({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'n' }, spec: { bgp: { ipv4Address: '10.0.0.1/24' } } }), NodeSchema.parse({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'n' }, spec: { bgp: { ipv4Address: '10.0.0.1/24' } } }));
  t.is(fastNode({ ...plain, spec: { ...plain.spec, vxlanTunnelMACAddr: '67:0a:1b:2c:3d:4e' } }), undefined, 'a multicast VTEP MAC: the schema reports it');
  t.is(fastNode({ ...plain, spec: { ...plain.spec, bgp: { ipv4Address: '10.0.1.10/24', ipv4IPIPTunnelAddr: '192.168.1' } } }), undefined, 'a bad tunnel address: the schema reports it');
  t.is(fastNode({ ...plain, spec: { bgp: plain.spec.bgp, extra: 1 } }), undefined, 'an unknown field is left to the schema');
  t.is(fastNode({ ...plain, spec: {} }), undefined, 'no bgp: the schema reports it');
  t.is(fastNode({ ...plain, metadata: { name: 'n', labels: JSON.parse('{"__proto__":"x"}') as Record<string, string> } }), undefined,
    'a __proto__ label: zod\'s copy would not keep it, so the schema decides');
});
