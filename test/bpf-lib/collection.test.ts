// Collection against an object that declares the four datapath maps with burrow.h's types
// (test/fixtures/bpf/burrow_maps.bpf.c): the BTF check accepts the real codecs and refuses wrong
// ones before loading; xdp_report shows C reading every field where the TS codecs wrote it;
// maps are shared through a pin root and through replacements.
import fs from 'node:fs';
import path from 'node:path';

import {
  ErrInvalid,
  BpfError, BpfMap, BurrowStat, Collection, CollectionSpec, ErrMapIncompatible, LayoutMismatchError, MapFlag, XdpAction,
  burrowConfig, burrowConfigKey, burrowEnums, burrowPeer, burrowPeerKey, burrowRoute, burrowRouteKey, burrowStatEnum,
  burrowStatKey, burrowStatValue, burrowStructs, ipv4, mac, pad, perCpu, struct, sumStats, u16, u32, u64, u8,
} from '../../src/bpf/index.js';
import { makePinDir } from '../helpers/bpffs.js';
import { ipv4Frame } from '../helpers/frames.js';
import { fixture } from '../helpers/paths.js';
import { privileged } from '../helpers/privileged.js';

const OBJ = fixture('burrow_maps');

privileged('the object\'s maps and programs are listed with their BTF key/value types', (t) => {
  const spec = CollectionSpec.open(OBJ);
  t.teardown(() => spec.close());
  const routes = spec.map('routes');
  t.like(routes, { typeName: 'lpm_trie', keySize: 8, valueSize: 20, maxEntries: 1024, flags: MapFlag.noPrealloc, internal: false });
  t.deepEqual(routes.keyType, { kind: 'struct', name: 'burrow_route_key', size: 8 });
  t.deepEqual(spec.map('peers').keyType, { kind: 'typedef', name: '__u32', size: 4 });
  t.is(spec.map('stats').maxEntries, Object.keys(BurrowStat).length);
  t.deepEqual(spec.programs.map((p) => [p.name, p.section, p.typeName]), [['xdp_report', 'xdp', 'xdp']]);
});

privileged('loading checks every burrow.h struct and enum the BTF has', (t) => {
  const c = Collection.load(OBJ);
  t.teardown(() => c.close());
  t.deepEqual(c.layouts.structs.sort(), burrowStructs.map((s) => s.cName).sort());
  t.deepEqual(c.layouts.enums.sort(), burrowEnums.map((e) => e.cName).sort());
});

privileged('C reads each field where the codecs put it (xdp_report echoes them into the frame)', (t) => {
  const c = Collection.load(OBJ);
  t.teardown(() => c.close());
  const routes = c.map('routes', burrowRouteKey, burrowRoute);
  const peers = c.map('peers', burrowPeerKey, burrowPeer);
  const config = c.map('config', burrowConfigKey, burrowConfig);
  const stats = c.map('stats', burrowStatKey, perCpu(burrowStatValue));
  routes.set({ prefixlen: 16, addr: '10.244.0.0' }, { mode: 1, flags: 0x05, pool: 0x0102, remote: '192.168.7.8', vni: 0x00abcdef, vtep_mac: '66:11:22:33:44:55' });
  peers.set('10.0.9.9', { modes: 3, vni: 0x00123456 });
  config.set(0, {
    local_ip: '10.0.1.10', uplink_ifindex: 0x01020304, uplink_mac: '02:aa:bb:cc:dd:ee', vtep_mac: '66:0a:0b:0c:0d:0e',
    vxlan_port: 4789, ttl: 63, default_vni: 4096, uplink_mtu: 1500, flags: 0x80000001, mss_ipip: 0, mss_vxlan: 0, gro_ifindex: 0, tunnel_mac: '00:00:00:00:00:00',
  });
  const frame = ipv4Frame({ src: '10.0.9.9', dst: '10.244.3.4', payload: 58 });
  const r = c.program('xdp_report').run({ data: frame });
  t.is(r.retval, XdpAction.tx);
  const report = r.data.subarray(34);
  const expected = Buffer.concat([
    Buffer.from([192, 168, 7, 8]), Buffer.from([0x00, 0xab, 0xcd, 0xef]), Buffer.from([1, 0x05, 0x01, 0x02]),
    Buffer.from([0x66, 0x11, 0x22, 0x33, 0x44, 0x55]), Buffer.from([0x12, 0xb5, 63, 1, 3, 0]),
    Buffer.from([0x00, 0x12, 0x34, 0x56]), Buffer.from([10, 0, 1, 10]), Buffer.from([0, 0, 0x10, 0]),
    Buffer.from([0x05, 0xdc]), Buffer.from([1, 2, 3, 4]), Buffer.from([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]),
    Buffer.from([0x66, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e]), Buffer.from([0x80, 0, 0, 1]),
  ]);
  t.deepEqual(report, expected);
  t.deepEqual(sumStats(stats.get(BurrowStat.encap_ipip) ?? []), { packets: 1n, bytes: BigInt(frame.length) });
  t.deepEqual(sumStats(stats.get(BurrowStat.pass) ?? []), { packets: 0n, bytes: 0n });
  // No route for the destination: counted as pass, frame untouched.
  const other = ipv4Frame({ src: '10.0.9.9', dst: '172.16.0.1', payload: 58 });
  const r2 = c.program('xdp_report').run({ data: other });
  t.is(r2.retval, XdpAction.pass);
  t.deepEqual(r2.data, other);
  t.is(sumStats(stats.get(BurrowStat.pass) ?? []).packets, 1n);
});

privileged('a codec with a field in the wrong place refuses the load, naming struct, field and offsets', (t) => {
  const wrongRoute = struct('burrow_route', {
    mode: u8, flags: u8, pool: u16, vni: u32, remote: ipv4, vtep_mac: mac, _pad: pad(2),
  });
  const structs = burrowStructs.map((s) => (s.cName === 'burrow_route' ? wrongRoute : s));
  const e = t.throws(() => Collection.load(OBJ, { structChecks: structs }), { instanceOf: LayoutMismatchError });
  t.is(e.typeName, 'struct burrow_route');
  t.true(e instanceof BpfError, 'a library error like every other');
  t.is(e.op, 'checkLayouts');
  t.regex(e.message, new RegExp(`struct burrow_route in ${OBJ.replace(/[.]/g, '\\.')} does not match`));
  t.regex(e.message, /field 'remote': BTF offset 4, codec offset 8/);
  t.regex(e.message, /build the objects and the TypeScript from the same header: npm run build:bpf && npm run build/);
});

privileged('a counter list out of step with enum burrow_stat refuses the load', (t) => {
  const { pass: _pass, ...withoutPass } = burrowStatEnum.values;
  const stale = { ...burrowStatEnum, values: withoutPass };
  const e = t.throws(() => Collection.load(OBJ, { enumChecks: [stale] }), { instanceOf: LayoutMismatchError });
  t.regex(e.message, /enum burrow_stat .*\n.*BURROW_STAT_PASS' \(= 4\) is in the BTF but not in the codec/);
});

privileged('typed views must name the struct the map declares', (t) => {
  const c = Collection.load(OBJ);
  t.teardown(() => c.close());
  t.throws(() => c.map('routes', burrowRouteKey, burrowPeer), { instanceOf: ErrInvalid, message: /declares its value as struct burrow_route, not struct burrow_peer/ });
  const stale = struct('burrow_stat_value', { packets: u64, bytes: u32, _pad: pad(4) });
  t.throws(() => c.map('stats', burrowStatKey, perCpu(stale)), { instanceOf: LayoutMismatchError, message: /field 'bytes': BTF size 8, codec size 4/ });
  t.throws(() => c.map('nope', u32, u32), { instanceOf: ErrInvalid });
});

privileged('two loads with one pin root share the maps; the pins outlive both', (t) => {
  const dir = makePinDir();
  t.teardown(() => dir.cleanup());
  const a = Collection.load(OBJ, { pinRoot: dir.path });
  t.teardown(() => a.close());
  const b = Collection.load(OBJ, { pinRoot: dir.path });
  t.teardown(() => b.close());
  for (const name of ['routes', 'peers', 'config', 'stats']) {
    t.is(a.maps[name]?.info.id, b.maps[name]?.info.id, name);
    t.true(fs.existsSync(path.join(dir.path, name)));
  }
  t.false(fs.readdirSync(dir.path).some((f) => f.includes('rodata')), 'internal maps are not pinned');
  t.not(a.maps['burrow_m.rodata']?.info.id, b.maps['burrow_m.rodata']?.info.id);
  a.map('peers', burrowPeerKey, burrowPeer).set('10.0.0.5', { modes: 1, vni: 9 });
  t.deepEqual(b.map('peers', burrowPeerKey, burrowPeer).get('10.0.0.5'), { modes: 1, vni: 9 });
  const peersId = a.maps.peers?.info.id ?? -1;
  a.close();
  b.close();
  const reopened = BpfMap.openPinned(path.join(dir.path, 'peers'), burrowPeerKey, burrowPeer);
  t.teardown(() => reopened.close());
  t.is(reopened.info.id, peersId);
  t.deepEqual(reopened.get('10.0.0.5'), { modes: 1, vni: 9 });
});

privileged('a map pinned with another definition is refused with the difference', (t) => {
  const dir = makePinDir();
  t.teardown(() => dir.cleanup());
  const small = BpfMap.create({ type: 'hash', key: burrowPeerKey, value: burrowPeer, maxEntries: 8 });
  t.teardown(() => small.close());
  small.pin(path.join(dir.path, 'peers'));
  const e = t.throws(() => Collection.load(OBJ, { pinRoot: dir.path }), { instanceOf: ErrMapIncompatible });
  t.is(e.map, 'peers');
  t.deepEqual(e.differences, ['max entries 8, object wants 64']);
  t.notThrows(() => Collection.load(OBJ, { pinRoot: dir.path, maxEntries: { peers: 8 } }).close());
});

privileged('map replacements: the program uses the caller\'s map; incompatible ones are refused', (t) => {
  const routes = BpfMap.create({ type: 'lpm_trie', key: burrowRouteKey, value: burrowRoute, maxEntries: 1024, flags: MapFlag.noPrealloc, name: 'shared_routes' });
  t.teardown(() => routes.close());
  const c = Collection.load(OBJ, { mapReplacements: { routes } });
  t.teardown(() => c.close());
  t.is(c.maps.routes?.info.id, routes.info.id);
  t.true(c.program('xdp_report').info().mapIds.includes(routes.info.id));
  routes.set({ prefixlen: 32, addr: '10.244.9.9' }, { mode: 2, flags: 0, pool: 0, remote: '10.0.1.11', vni: 7, vtep_mac: '66:00:00:00:00:01' });
  c.map('config', burrowConfigKey, burrowConfig).set(0, {
    local_ip: '10.0.1.10', uplink_ifindex: 1, uplink_mac: '02:00:00:00:00:01', vtep_mac: '66:00:00:00:00:02',
    vxlan_port: 4789, ttl: 64, default_vni: 4096, uplink_mtu: 0, flags: 0, mss_ipip: 0, mss_vxlan: 0, gro_ifindex: 0, tunnel_mac: '00:00:00:00:00:00',
  });
  const r = c.program('xdp_report').run({ data: ipv4Frame({ src: '10.0.0.1', dst: '10.244.9.9', payload: 58 }) });
  t.is(r.retval, XdpAction.tx, 'the route written through the caller\'s map was found');
  const wrong = BpfMap.create({ type: 'hash', key: burrowRouteKey, value: burrowRoute, maxEntries: 1024 });
  t.teardown(() => wrong.close());
  const e = t.throws(() => Collection.load(OBJ, { mapReplacements: { routes: wrong } }), { instanceOf: ErrMapIncompatible });
  t.deepEqual(e.differences, ['type hash, object wants lpm_trie', 'flags 0x0, object wants 0x1']);
});

privileged('an object image in memory loads like a file', (t) => {
  const c = Collection.load(fs.readFileSync(OBJ));
  t.teardown(() => c.close());
  t.is(c.source, '<buffer>');
  t.deepEqual(Object.keys(c.programs), ['xdp_report']);
  t.is(c.layouts.structs.length, burrowStructs.length);
});
