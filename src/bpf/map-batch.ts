// The batch operations behind BpfMap.entriesBatch/setBatch/deleteBatch, with the fallback to
// single-element calls for map types without them (arrays cannot batch-delete; older kernels lack
// LPM_TRIE batches). A map type without the operation answers ENOTSUPP (the kernel's internal
// errno) or EOPNOTSUPP before touching any element; a kernel without the batch commands at all
// (before 5.6) answers EINVAL, which is read as "not here" only when the haveBatchApi probe said
// so (src/bpf/features.ts): on a kernel with the commands, EINVAL is an error like any other. The
// answer is remembered per map. The count the kernel reports back cannot tell us that nothing was
// processed: on ENOTSUPP it leaves the caller's count untouched, so the error code alone decides.
import { BpfError, ErrKeyNotExist, nativeCall } from './errors.js';
import { haveBatchApi } from './features.js';
import type { NativeMapHandle, NativeMapInfo } from './native.js';

export interface BatchSupport {
  lookup?: boolean;
  update?: boolean;
  delete?: boolean;
}

const UNSUPPORTED = new Set(['ENOTSUPP', 'EOPNOTSUPP']);

function isUnsupported(e: unknown): boolean {
  if (!(e instanceof BpfError)) return false;
  return UNSUPPORTED.has(e.code) || (e.code === 'EINVAL' && !haveBatchApi());
}

/** All [key, value] byte pairs, or null when the map has no batch lookup (caller iterates). */
export function lookupAll(
  h: NativeMapHandle,
  info: NativeMapInfo,
  support: BatchSupport,
  batchSize: number,
  label?: string,
): [Buffer, Buffer][] | null {
  const ks = info.keySize;
  const vs = h.valueBufferSize;
  const rows: [Buffer, Buffer][] = [];
  const ok = lookupBatches(h, info, support, batchSize, (keys, values, count) => {
    for (let i = 0; i < count; i++) {
      rows.push([Buffer.from(keys.subarray(i * ks, (i + 1) * ks)), Buffer.from(values.subarray(i * vs, (i + 1) * vs))]);
    }
  }, label);
  return ok ? rows : null;
}

/**
 * Every entry, a batch at a time: `each` sees `count` keys and values laid end to end in buffers
 * that are reused for the next batch (copy what you keep). False when the map has no batch
 * lookup (nothing was read; the caller iterates).
 */
export function lookupBatches(
  h: NativeMapHandle,
  info: NativeMapInfo,
  support: BatchSupport,
  batchSize: number,
  each: (keys: Buffer, values: Buffer, count: number) => void,
  label?: string,
): boolean {
  if (support.lookup === false) return false;
  const ks = info.keySize;
  const vs = h.valueBufferSize;
  let n = Math.max(1, Math.min(batchSize, info.maxEntries));
  let keys = Buffer.alloc(n * ks);
  let values = Buffer.alloc(n * vs);
  // The cursor is opaque: a bucket index for hashes, a key for arrays.
  const tokenSize = Math.max(ks, 8);
  let inTok: Buffer | null = null;
  let outTok = Buffer.alloc(tokenSize);
  let seen = false;
  for (;;) {
    let r: { count: number; done: boolean };
    try {
      r = nativeCall(() => h.lookupBatch(inTok, outTok, keys, values, n), label);
    } catch (e) {
      if (inTok === null && !seen && isUnsupported(e)) {
        support.lookup = false;
        return false;
      }
      // ENOSPC: one hash bucket holds more than n entries; retry the same step with more room.
      if (e instanceof BpfError && e.code === 'ENOSPC' && n < info.maxEntries * 2) {
        n *= 2;
        keys = Buffer.alloc(n * ks);
        values = Buffer.alloc(n * vs);
        continue;
      }
      throw e;
    }
    support.lookup = true;
    seen = true;
    if (r.count > 0) each(keys, values, r.count);
    if (r.done) return true;
    inTok = Buffer.from(outTok);
    outTok = Buffer.alloc(tokenSize);
  }
}

export function updateMany(
  h: NativeMapHandle,
  support: BatchSupport,
  keys: Buffer,
  values: Buffer,
  count: number,
  flags: number,
  label?: string,
): number {
  if (count === 0) return 0;
  const ks = keys.length / count;
  const vs = values.length / count;
  // BPF_MAP_UPDATE_BATCH takes no BPF_NOEXIST/BPF_EXIST (elem_flags may only be BPF_F_LOCK):
  // those updates go one by one, so each key still gets its own ErrKeyExist/ErrKeyNotExist.
  if (support.update !== false && flags === 0) {
    try {
      const n = nativeCall(() => h.updateBatch(keys, values, count, flags), label);
      support.update = true;
      return n;
    } catch (e) {
      if (!isUnsupported(e) || support.update === true) throw e;
      support.update = false;
    }
  }
  for (let i = 0; i < count; i++) {
    nativeCall(() => h.update(keys.subarray(i * ks, (i + 1) * ks), values.subarray(i * vs, (i + 1) * vs), flags), label);
  }
  return count;
}

export function deleteMany(h: NativeMapHandle, support: BatchSupport, keys: Buffer, count: number, label?: string): number {
  if (count === 0) return 0;
  const ks = keys.length / count;
  if (support.delete !== false) {
    try {
      const n = nativeCall(() => h.deleteBatch(keys, count), label);
      support.delete = true;
      return n;
    } catch (e) {
      if (e instanceof ErrKeyNotExist || !isUnsupported(e) || support.delete === true) throw e;
      support.delete = false;
    }
  }
  for (let i = 0; i < count; i++) nativeCall(() => h.delete(keys.subarray(i * ks, (i + 1) * ks)), label);
  return count;
}
