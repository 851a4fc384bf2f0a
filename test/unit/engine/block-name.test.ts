// Calico's block names, `<node>-a-b-c-d-nn` (src/engine/block-name.ts): the store keeps no string
// for a block named so and rebuilds it on demand, so building, reading and recognising one must
// agree exactly with the plain template — for any node name, including ones that contain dashes
// and digits, characters beyond latin1, and look-alikes with leading zeros or too few parts.
import test from 'ava';
import fc from 'fast-check';

import { blockNameCidr, blockNameOf, isBlockName } from '../../../src/engine/block-name.js';

const template = (node: string, addr: number, prefix: number) => `${node}-${addr >>> 24}-${(addr >>> 16) & 255}-${(addr >>> 8) & 255}-${addr & 255}-${prefix}`;
const nodeName = fc.oneof(
  fc.constantFrom('n1', 'node-1', 'a-1-2', 'x-0', '-', 'ü-node', 'узел', '節點-7'),
  fc.string({ minLength: 1, maxLength: 12 }),
);
const addr = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 0x0a000000, 0xffffffff, 0x01020304));
const prefix = fc.integer({ min: 0, max: 32 });

test('blockNameOf is the template, and blockNameCidr reads back its CIDR and where the node ends', (t) => {
  fc.assert(
    fc.property(nodeName, addr, prefix, (node, a, p) => {
      const name = blockNameOf(node, a, p);
      t.is(name, template(node, a, p));
      t.deepEqual(blockNameCidr(name), { nodeLength: node.length, addr: a, prefix: p });
      t.true(isBlockName(name, node, a, p));
      return true;
    }),
    { numRuns: 3000 },
  );
});

test('isBlockName is exactly "equals the template", for names that nearly are', (t) => {
  const part = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '007', '', 'x', '-1', '256', '33'));
  const nearName = fc.tuple(nodeName, part, part, part, part, part).map(([n, ...parts]) => `${n}-${parts.join('-')}`);
  fc.assert(
    fc.property(fc.oneof(nearName, fc.string()), nodeName, addr, prefix, (name, node, a, p) => {
      t.is(isBlockName(name, node, a, p), name === template(node, a, p), name);
      const c = blockNameCidr(name);
      if (c) t.is(blockNameOf(name.slice(0, c.nodeLength), c.addr, c.prefix), name, `${name} is read back only when it is one`);
      return true;
    }),
    { numRuns: 5000 },
  );
  t.is(blockNameCidr('10-0-0-0-26'), undefined, 'no node');
  t.is(blockNameCidr('n-10-0-0-026'), undefined, 'four numbers');
  t.is(blockNameCidr('n-10-0-0-0-33'), undefined, 'prefix above 32');
  t.is(blockNameCidr('n-10-0-00-0-26'), undefined, 'a leading zero');
});
