// The hand-written Range codec (src/engine/etcd-range.ts) against etcd3's own generated one (the
// same rpc.proto through @grpc/proto-loader, as etcd3 loads it): requests it encodes decode to the
// same fields there, responses encoded there decode to the same keys, values, revision and `more`
// here, and a cut or corrupted message is a RangeError, never a crash or a wrong page.
import { createRequire } from 'node:module';
import path from 'node:path';

import test from 'ava';
import fc from 'fast-check';

import { decodeRangeResponse, encodeRangeRequest } from '../../../src/engine/etcd-range.js';

const requireFromEtcd3 = createRequire(createRequire(import.meta.url).resolve('etcd3'));
const protoLoader = requireFromEtcd3('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
const definition = protoLoader.loadSync(path.join(path.dirname(requireFromEtcd3.resolve('etcd3')), '../proto/rpc.proto'), {
  keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
});
interface Method { requestDeserialize(b: Buffer): unknown; responseSerialize(v: object): Buffer }
const range = (definition['etcdserverpb.KV'] as unknown as Record<string, Method>)['Range']!;

const bytes = fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a));
const int64 = fc.bigInt({ min: 0n, max: (1n << 63n) - 1n });

test('requests: what it encodes is the request etcd3\'s codec reads', (t) => {
  fc.assert(fc.property(bytes, bytes, fc.integer({ min: 0, max: 2 ** 31 }), fc.option(int64, { nil: undefined }), (key, rangeEnd, limit, revision) => {
    const wire = encodeRangeRequest({ key, rangeEnd, limit, ...(revision !== undefined ? { revision: revision.toString() } : {}) });
    const read = range.requestDeserialize(wire) as { key: Buffer; range_end: Buffer; limit: string; revision: string };
    t.deepEqual(Buffer.from(read.key), key);
    t.deepEqual(Buffer.from(read.range_end), rangeEnd);
    t.is(read.limit, String(limit));
    t.is(read.revision, (revision ?? 0n).toString());
  }));
});

test('responses: etcd3\'s encoding of a page decodes to the same keys, values, revision and more', (t) => {
  const kv = fc.record({ key: bytes, value: bytes, create_revision: int64, mod_revision: int64, version: int64, lease: int64 });
  fc.assert(fc.property(fc.array(kv, { maxLength: 20 }), int64, fc.boolean(), int64, (kvs, revision, more, count) => {
    const wire = range.responseSerialize({
      header: { cluster_id: '12345678901234', member_id: '42', revision: revision.toString(), raft_term: '7' },
      kvs: kvs.map((k) => ({ ...k, create_revision: k.create_revision.toString(), mod_revision: k.mod_revision.toString(), version: k.version.toString(), lease: k.lease.toString() })),
      more, count: count.toString(),
    });
    const page = decodeRangeResponse(wire);
    t.is(page.revision, revision.toString());
    t.is(page.more, more);
    t.deepEqual(page.kvs.map((k) => [k.key.toString('hex'), k.value.toString('hex')]), kvs.map((k) => [k.key.toString('hex'), k.value.toString('hex')]));
  }));
});

test('a cut or corrupted response is a RangeError or a shorter valid page, never another error', (t) => {
  const wire = range.responseSerialize({
    header: { revision: '987654321' },
    kvs: [{ key: Buffer.from('/calico/ipam/v2/host/n/ipv4/block/10.0.0.0-26'), value: Buffer.from('{"state":"confirmed"}'), mod_revision: '5' }],
    more: true,
  });
  let errors = 0;
  for (let cut = 0; cut < wire.length; cut++) {
    try {
      const page = decodeRangeResponse(wire.subarray(0, cut));
      t.true(page.kvs.length <= 1);
    } catch (e) {
      t.true(e instanceof RangeError, String(e));
      errors++;
    }
  }
  t.true(errors > 0, 'cuts inside a field are refused');
  const bad = Buffer.from(wire);
  bad[0] = (1 << 3) | 3; // field 1 with the (deprecated) group wire type
  t.throws(() => decodeRangeResponse(bad), { instanceOf: RangeError, message: /wire type 3/ });
  t.throws(() => decodeRangeResponse(Buffer.from([0x12, 0xff])), { instanceOf: RangeError }, 'a length past the end');
  t.throws(() => decodeRangeResponse(Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), { instanceOf: RangeError }, 'an 11-byte varint');
});
