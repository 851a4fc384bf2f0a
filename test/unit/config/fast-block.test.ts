// The BlockAffinity fast path (resources.ts fastBlockAffinity) against the zod schema: whatever
// it accepts, the schema accepts with the same value; the plain shapes real clusters write are
// accepted (so the fast path is the one taken); anything unusual is left to the schema.
import test from 'ava';
import fc from 'fast-check';

import { deepEqual } from '../../../src/agent/diff.js';
import { fastBlockAffinity } from '../../../src/config/resources.js';
import { BlockAffinitySchema } from '../../../src/config/schema.js';

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

test('whatever the fast path accepts, the schema accepts with the same value', (t) => {
  let accepted = 0;
  fc.assert(
    fc.property(resource, (r) => {
      const fast = fastBlockAffinity(r as Record<string, unknown>);
      if (!fast) return true;
      accepted++;
      const parsed = BlockAffinitySchema.safeParse(r);
      return parsed.success && deepEqual(parsed.data, fast);
    }),
    { numRuns: 20000 },
  );
  t.true(accepted > 2000, `the fast path accepted ${accepted} generated resources`);
});

test('the shapes kubectl and calicoctl write take the fast path', (t) => {
  const plain = { apiVersion: 'projectcalico.org/v3', kind: 'BlockAffinity', metadata: { name: 'node-1-10-0-0-0-26', resourceVersion: '42', uid: 'abc', creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { node: 'node-1', cidr: '10.0.0.0/26', state: 'confirmed', deleted: 'false' } };
  t.deepEqual(fastBlockAffinity(plain), BlockAffinitySchema.parse(plain));
  t.is(fastBlockAffinity({ ...plain, spec: { ...plain.spec, extra: 1 } }), undefined, 'an unknown field is left to the schema (its diagnostic)');
  t.is(fastBlockAffinity({ ...plain, metadata: { name: 'Node_1' } }), undefined, 'a name the schema refuses is left to it');
});
