// PERCPU_ARRAY: values are one element per possible CPU, each padded to 8 bytes.
import { BpfMap, burrowStatValue, perCpu, possibleCpus, sumPerCpu, sumStats, u32, ErrInvalid } from '../../src/bpf/index.js';
import { privileged } from '../helpers/privileged.js';

privileged('percpu: set and get one value per CPU; sums add them up', (t) => {
  const n = possibleCpus();
  t.true(n >= 1);
  const m = BpfMap.create({ type: 'percpu_array', key: u32, value: perCpu(burrowStatValue), maxEntries: 4 });
  t.teardown(() => m.close());
  t.is(m.value.size, 16 * n);
  const per = Array.from({ length: n }, (_, i) => ({ packets: BigInt(i + 1), bytes: BigInt(100 * (i + 1)) }));
  m.set(2, per);
  t.deepEqual(m.get(2), per);
  const total = BigInt((n * (n + 1)) / 2);
  t.deepEqual(sumPerCpu(m.get(2) ?? []), { packets: total, bytes: 100n * total });
  t.deepEqual(sumStats(m.get(2) ?? []), { packets: total, bytes: 100n * total });
  t.deepEqual(m.get(0), Array.from({ length: n }, () => ({ packets: 0n, bytes: 0n })));
});

privileged('percpu: elements smaller than 8 bytes are padded per CPU', (t) => {
  const n = possibleCpus();
  const m = BpfMap.create({ type: 'percpu_array', key: u32, value: perCpu(u32), maxEntries: 2 });
  t.teardown(() => m.close());
  t.is(m.info.valueSize, 4);
  t.is(m.value.size, 8 * n);
  const vals = Array.from({ length: n }, (_, i) => 0xa0000000 + i);
  m.set(1, vals);
  t.deepEqual(m.get(1), vals);
});

privileged('percpu: batch lookup and update; misuse of codecs is a clear TypeError', (t) => {
  const n = possibleCpus();
  const m = BpfMap.create({ type: 'percpu_array', key: u32, value: perCpu(burrowStatValue), maxEntries: 8 });
  t.teardown(() => m.close());
  const entries = Array.from({ length: 8 }, (_, k) => [k, Array.from({ length: n }, (_, c) => ({ packets: BigInt(k), bytes: BigInt(c) }))] as const);
  t.is(m.setBatch(entries), 8);
  t.deepEqual(m.entriesBatch({ batchSize: 3 }), entries.map(([k, v]) => [k, v]));
  t.true(m.batchSupport.lookup);
  t.throws(() => m.withCodecs(u32, burrowStatValue), { instanceOf: ErrInvalid, message: /per-CPU map: use perCpu\(codec\)/ });
  t.throws(() => BpfMap.create({ type: 'percpu_array', key: u32, value: burrowStatValue, maxEntries: 1 }), { instanceOf: ErrInvalid });
  t.throws(() => m.set(0, [{ packets: 1n, bytes: 1n }, ...Array.from({ length: n }, () => ({ packets: 0n, bytes: 0n }))]), { instanceOf: ErrInvalid });
});
