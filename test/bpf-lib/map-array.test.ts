// ARRAY maps: every index exists, NOEXIST always fails, elements cannot be deleted, and batch
// delete falls back to single deletes (which the kernel then refuses).
import { BpfError, BpfMap, ErrKeyExist, burrowConfig, u32 } from '../../src/bpf/index.js';
import { privileged } from '../helpers/privileged.js';

const cfg = {
  local_ip: '10.0.1.10',
  uplink_ifindex: 2,
  uplink_mac: '02:00:00:00:00:0a',
  vtep_mac: '66:00:00:00:00:0a',
  vxlan_port: 4789,
  ttl: 64,
  default_vni: 4096,
  uplink_mtu: 1500,
  flags: 0, mss_ipip: 0, mss_vxlan: 0, gro_ifindex: 0, tunnel_mac: '00:00:00:00:00:00',
};

function configMap(n = 4) {
  return BpfMap.create({ type: 'array', key: u32, value: burrowConfig, maxEntries: n });
}

privileged('array: all indexes exist zeroed; out of range is absent; update works in place', (t) => {
  const m = configMap();
  t.teardown(() => m.close());
  t.deepEqual(m.get(3), { ...cfg, local_ip: '0.0.0.0', uplink_ifindex: 0, uplink_mac: '00:00:00:00:00:00', vtep_mac: '00:00:00:00:00:00', vxlan_port: 0, ttl: 0, default_vni: 0, uplink_mtu: 0 });
  t.is(m.get(4), undefined);
  m.set(0, cfg);
  t.deepEqual(m.get(0), cfg);
  t.deepEqual([...m.keys()], [0, 1, 2, 3]);
});

privileged('array: NOEXIST is always ErrKeyExist; delete is refused (EINVAL)', (t) => {
  const m = configMap();
  t.teardown(() => m.close());
  t.throws(() => m.set(1, cfg, 'noexist'), { instanceOf: ErrKeyExist });
  t.notThrows(() => m.set(1, cfg, 'exist'));
  const e = t.throws(() => m.delete(1), { instanceOf: BpfError });
  t.is(e.code, 'EINVAL');
});

privileged('array: batch update and lookup; batch delete is unsupported and falls back', (t) => {
  const m = configMap(16);
  t.teardown(() => m.close());
  const entries = Array.from({ length: 16 }, (_, i) => [i, { ...cfg, uplink_ifindex: i + 1 }] as const);
  t.is(m.setBatch(entries), 16);
  const got = m.entriesBatch({ batchSize: 5 });
  t.deepEqual(got.map(([k, v]) => [k, v.uplink_ifindex]), entries.map(([k, v]) => [k, v.uplink_ifindex]));
  const e = t.throws(() => m.deleteBatch([0]), { instanceOf: BpfError });
  t.is(e.code, 'EINVAL', 'the single-delete fallback ran and got the array\'s own answer');
  t.is(m.batchSupport.delete, false, 'ENOTSUPP from BPF_MAP_DELETE_BATCH was detected');
});
