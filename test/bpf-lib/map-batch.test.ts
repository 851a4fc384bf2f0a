// The batch fallback, against a fake native map (the kernel here supports most batches; these
// cases pin down what happens on kernels and map types that do not).
import test from 'ava';

import { overrideFeature } from '../../src/bpf/features.js';
import { deleteMany, lookupAll, updateMany, type BatchSupport } from '../../src/bpf/map-batch.js';
import type { NativeError, NativeMapHandle } from '../../src/bpf/native.js';

function err(code: string, syscall: string): NativeError {
  return Object.assign(new Error(code), { code, errno: 524, syscall });
}

/** A hash of u32 → u32 held in a JS Map; batch ops throw `batchError` when set. */
function fakeMap(entries: [number, number][], batchError?: string, bucket = 1) {
  const data = new Map(entries);
  const calls: string[] = [];
  const h: NativeMapHandle = {
    fd: 3,
    valueBufferSize: 4,
    info: () => ({ type: 1, id: 1, keySize: 4, valueSize: 4, maxEntries: 64, flags: 0, name: 'fake' }),
    lookup(key, out) {
      const v = data.get(Buffer.from(key).readUInt32LE(0));
      if (v === undefined) throw err('ENOENT', 'bpf_map_lookup_elem');
      Buffer.from(out.buffer, out.byteOffset).writeUInt32LE(v, 0);
    },
    update(key, value) {
      calls.push('update');
      data.set(Buffer.from(key).readUInt32LE(0), Buffer.from(value).readUInt32LE(0));
    },
    delete(key) {
      calls.push('delete');
      if (!data.delete(Buffer.from(key).readUInt32LE(0))) throw err('ENOENT', 'bpf_map_delete_elem');
    },
    nextKey: () => false,
    lookupBatch(inTok, outTok, keys, values, count) {
      calls.push(`lookupBatch(${count})`);
      if (batchError) throw err(batchError, 'bpf_map_lookup_batch');
      if (count < bucket) throw err('ENOSPC', 'bpf_map_lookup_batch');
      const all = [...data];
      const start = inTok ? Buffer.from(inTok).readUInt32LE(0) : 0;
      const chunk = all.slice(start, start + count);
      chunk.forEach(([k, v], i) => {
        Buffer.from(keys.buffer, keys.byteOffset).writeUInt32LE(k, i * 4);
        Buffer.from(values.buffer, values.byteOffset).writeUInt32LE(v, i * 4);
      });
      Buffer.from(outTok.buffer, outTok.byteOffset).writeUInt32LE(start + chunk.length, 0);
      return { count: chunk.length, done: start + chunk.length >= all.length };
    },
    updateBatch() {
      calls.push('updateBatch');
      throw err(batchError ?? 'EINVAL', 'bpf_map_update_batch');
    },
    deleteBatch() {
      calls.push('deleteBatch');
      throw err(batchError ?? 'EINVAL', 'bpf_map_delete_batch');
    },
    close() {},
  };
  return { h, data, calls };
}

test('lookup batches walk the map with the cursor, growing the batch on ENOSPC (fake native map)', (t) => {
  const entries: [number, number][] = Array.from({ length: 10 }, (_, i) => [i, i * 10]);
  const { h, calls } = fakeMap(entries, undefined, 4);
  const support: BatchSupport = {};
  const rows = lookupAll(h, h.info(), support, 2);
  t.deepEqual(rows?.map(([k, v]) => [k.readUInt32LE(0), v.readUInt32LE(0)]), entries);
  t.deepEqual(calls, ['lookupBatch(2)', 'lookupBatch(4)', 'lookupBatch(4)', 'lookupBatch(4)']);
  t.true(support.lookup);
});

for (const code of ['ENOTSUPP', 'EOPNOTSUPP', 'EINVAL']) {
  const kernel = code === 'EINVAL' ? ', on a kernel without the batch commands (probe overridden)' : '';
  test.serial(`${code} from a batch op falls back to single operations, remembered per map${kernel} (fake native map)`, (t) => {
    if (code === 'EINVAL') t.teardown(overrideFeature('batchApi', false));
    const { h, data, calls } = fakeMap([[1, 10]], code);
    const support: BatchSupport = {};
    t.is(lookupAll(h, h.info(), support, 8), null);
    const keys = Buffer.alloc(8);
    keys.writeUInt32LE(2, 0);
    keys.writeUInt32LE(3, 4);
    const values = Buffer.alloc(8);
    values.writeUInt32LE(20, 0);
    values.writeUInt32LE(30, 4);
    t.is(updateMany(h, support, keys, values, 2, 0), 2);
    t.deepEqual([...data], [[1, 10], [2, 20], [3, 30]]);
    t.is(deleteMany(h, support, keys, 2), 2);
    t.deepEqual([...data], [[1, 10]]);
    t.deepEqual(support, { lookup: false, update: false, delete: false });
    updateMany(h, support, keys, values, 2, 0);
    t.is(calls.filter((c) => c === 'updateBatch').length, 1, 'the batch is not retried once known unsupported');
  });
}

test.serial('EINVAL from a batch op on a kernel with the batch commands is an error, not a fallback (probe overridden, fake native map)', (t) => {
  t.teardown(overrideFeature('batchApi', true));
  const { h, data, calls } = fakeMap([[1, 10]], 'EINVAL');
  const support: BatchSupport = {};
  t.throws(() => lookupAll(h, h.info(), support, 8), { code: 'EINVAL' });
  t.throws(() => updateMany(h, support, Buffer.alloc(4), Buffer.alloc(4), 1, 0), { code: 'EINVAL' });
  t.throws(() => deleteMany(h, support, Buffer.alloc(4), 1), { code: 'EINVAL' });
  t.deepEqual([...data], [[1, 10]], 'nothing written one by one');
  t.false(calls.includes('update') || calls.includes('delete'));
  t.deepEqual(support, {}, 'nothing remembered');
});

test('errors that are not "unsupported" propagate from batch ops (fake native map)', (t) => {
  const { h } = fakeMap([], 'EPERM');
  t.throws(() => updateMany(h, {}, Buffer.alloc(4), Buffer.alloc(4), 1, 0), { message: 'EPERM' });
});
