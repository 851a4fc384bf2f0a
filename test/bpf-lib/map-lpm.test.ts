// LPM_TRIE with burrow's route key: longest-prefix semantics, as the datapath sees them.
import { BpfError, BpfMap, MapFlag, burrowRoute, burrowRouteKey, type BurrowRoute } from '../../src/bpf/index.js';
import { privileged } from '../helpers/privileged.js';

function route(remote: string, vni = 0): BurrowRoute {
  return { mode: 1, flags: 0, pool: 0, remote, vni, vtep_mac: '00:00:00:00:00:00' };
}

function routes() {
  return BpfMap.create({ type: 'lpm_trie', key: burrowRouteKey, value: burrowRoute, maxEntries: 64, flags: MapFlag.noPrealloc });
}

const host = (addr: string) => ({ prefixlen: 32, addr });

privileged('lpm: the longest matching prefix wins (/26 inside /24, /32 host, /0 default)', (t) => {
  const m = routes();
  t.teardown(() => m.close());
  m.set({ prefixlen: 0, addr: '0.0.0.0' }, route('192.0.2.100'));
  m.set({ prefixlen: 24, addr: '10.244.1.0' }, route('192.0.2.24'));
  m.set({ prefixlen: 26, addr: '10.244.1.64' }, route('192.0.2.26'));
  m.set({ prefixlen: 32, addr: '10.244.1.70' }, route('192.0.2.32'));
  const cases: [string, string][] = [
    ['10.244.1.1', '192.0.2.24'], // only the /24
    ['10.244.1.64', '192.0.2.26'], // first address of the /26
    ['10.244.1.127', '192.0.2.26'], // last address of the /26
    ['10.244.1.128', '192.0.2.24'], // just past the /26
    ['10.244.1.70', '192.0.2.32'], // the host route beats the /26
    ['10.244.2.1', '192.0.2.100'], // nothing but the default
    ['8.8.8.8', '192.0.2.100'],
  ];
  for (const [dst, remote] of cases) t.is(m.get(host(dst))?.remote, remote, dst);
  t.true(m.delete({ prefixlen: 0, addr: '0.0.0.0' }));
  t.is(m.get(host('8.8.8.8')), undefined, 'no default: no match');
  t.is(m.get(host('10.244.1.100'))?.remote, '192.0.2.26');
});

privileged('lpm: exact-prefix delete and NOEXIST, keys and batch', (t) => {
  const m = routes();
  t.teardown(() => m.close());
  const entries = [
    [{ prefixlen: 16, addr: '10.244.0.0' }, route('192.0.2.1', 1)],
    [{ prefixlen: 24, addr: '10.244.7.0' }, route('192.0.2.2', 2)],
    [{ prefixlen: 32, addr: '10.244.7.7' }, route('192.0.2.3', 3)],
  ] as const;
  t.is(m.setBatch(entries), 3);
  t.throws(() => m.set(entries[1][0], route('192.0.2.9'), 'noexist'));
  // Delete matches the prefix exactly, not by longest match.
  t.false(m.delete({ prefixlen: 24, addr: '10.244.8.0' }));
  t.deepEqual([...m.keys()].map((k) => `${k.addr}/${k.prefixlen}`).sort(), ['10.244.0.0/16', '10.244.7.0/24', '10.244.7.7/32']);
  const batch = m.entriesBatch().map(([k, v]) => `${k.addr}/${k.prefixlen}=${v.vni}`).sort();
  t.deepEqual(batch, ['10.244.0.0/16=1', '10.244.7.0/24=2', '10.244.7.7/32=3']);
  t.is(m.deleteBatch([entries[2][0]]), 1);
  t.is(m.get(host('10.244.7.7'))?.vni, 2);
});

privileged('lpm: the kernel requires BPF_F_NO_PREALLOC', (t) => {
  const e = t.throws(() => BpfMap.create({ type: 'lpm_trie', key: burrowRouteKey, value: burrowRoute, maxEntries: 4 }), { instanceOf: BpfError });
  t.is(e.code, 'EINVAL');
});
