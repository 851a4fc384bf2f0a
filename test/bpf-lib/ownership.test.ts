// Who owns an fd, and what a closed object does: a Collection owns its maps, its typed views
// (Collection.map, withCodecs) do not; a closed map or view throws ErrClosed instead of reaching a
// reused fd; one unpin for maps, programs and links; a CollectionSpec is loaded, once; every
// error the library raises itself is a BpfError with a code, errno and op. Real kernel objects.
import fs from 'node:fs';
import path from 'node:path';

import {
  BpfError, BpfMap, Collection, CollectionSpec, ErrClosed, ErrInvalid, attachXdp, encode, openLinkPin, perCpu,
  struct, u32, u64, u8,
} from '../../src/bpf/index.js';
import { makePinDir } from '../helpers/bpffs.js';
import { addVeth, createNetns } from '../helpers/netns.js';
import { fixture } from '../helpers/paths.js';
import { privileged } from '../helpers/privileged.js';

const counter = struct('counter', { packets: u64, bytes: u64 });

privileged.serial('a view does not own the fd: closing it leaves the collection\'s map open; closing the collection closes it for every view', (t) => {
  const c = Collection.load(fixture('lib_tc'));
  t.teardown(() => c.close());
  const view = c.map('tc_counts', u32, perCpu(counter));
  const raw = view.withCodecs(u32, perCpu(counter));
  view.close();
  t.true(view.closed);
  t.false(c.maps.tc_counts!.closed, 'the collection\'s map is still open');
  t.is(c.maps.tc_counts!.entriesBatch().length, 4, 'and readable');
  t.is(raw.get(1)?.length, view.value.size / 16, 'a second view of the same map still works');
  const e = t.throws(() => view.get(0), { instanceOf: ErrClosed });
  t.like(e, { code: 'EBADF', errno: 9, op: "map 'tc_counts'" });
  t.regex(e!.message, /this view; the map stays open/);
  c.close();
  t.throws(() => raw.get(0), { instanceOf: ErrClosed, message: /map 'tc_counts' is closed$/ });
  t.throws(() => c.map('tc_counts', u32, perCpu(counter)), { instanceOf: ErrClosed }, 'no new views of a closed map');
  t.throws(() => c.program('tc_pass').fd, { instanceOf: ErrClosed });
});

privileged.serial('a closed map throws ErrClosed, never touching the map that reused its fd number', (t) => {
  const a = BpfMap.create({ type: 'hash', key: u32, value: u32, maxEntries: 4, name: 'own_a' });
  const fd = a.fd;
  a.close();
  a.close(); // twice is fine
  const b = BpfMap.create({ type: 'hash', key: u32, value: u32, maxEntries: 4, name: 'own_b' });
  t.teardown(() => b.close());
  t.is(b.fd, fd, 'the kernel handed the lowest free fd to the new map');
  b.set(1, 11);
  t.throws(() => a.get(1), { instanceOf: ErrClosed, message: /map 'own_a' is closed/ });
  t.throws(() => a.set(1, 99), { instanceOf: ErrClosed });
  t.throws(() => a.delete(1), { instanceOf: ErrClosed });
  t.throws(() => a.entriesBatch(), { instanceOf: ErrClosed });
  t.throws(() => a.fd, { instanceOf: ErrClosed });
  t.is(b.get(1), 11, 'the other map is untouched');
});

privileged.serial('a closed bpf_link handle throws ErrClosed for every operation', (t) => {
  const ns = createNetns();
  t.teardown(() => ns.destroy());
  addVeth(ns, 'ow0', 'ow1');
  const x = Collection.load(fixture('lib_xdp'));
  t.teardown(() => x.close());
  const link = ns.run(() => attachXdp(x.program('xdp_pass'), 'ow0'));
  link.close();
  t.throws(() => link.state(), { instanceOf: ErrClosed, message: /xdp link on ifindex \d+ is closed/ });
  t.throws(() => link.detach(), { instanceOf: ErrClosed });
  t.throws(() => link.update(x.program('xdp_count_pass')), { instanceOf: ErrClosed });
  t.throws(() => link.pin('/nonexistent/pin'), { instanceOf: ErrClosed });
});

privileged.serial('one unpin for maps, programs and links: the pin goes, twice is fine, the object stays while held', (t) => {
  const dir = makePinDir();
  t.teardown(() => dir.cleanup());
  const ns = createNetns();
  t.teardown(() => ns.destroy());
  addVeth(ns, 'ow0', 'ow1');
  const x = Collection.load(fixture('lib_xdp'));
  t.teardown(() => x.close());
  const map = x.maps.xdp_hits!;
  const prog = x.program('xdp_pass');
  const link = ns.run(() => attachXdp(prog, 'ow0'));
  t.teardown(() => link.close());
  const pins = ['map', 'prog', 'link'].map((n) => path.join(dir.path, n));
  map.pin(pins[0]!);
  prog.pin(pins[1]!);
  link.pin(pins[2]!);
  for (const o of [map, prog, link]) {
    o.unpin();
    o.unpin();
    t.is(o.pinPath, undefined);
  }
  t.deepEqual(pins.filter((p) => fs.existsSync(p)), [], 'every pin removed');
  t.is(link.state().ifindex, link.ifindex, 'the link is still attached: only its pin went');
  t.is(map.entriesBatch().length, 1, 'the map is still open');
  // A record (a netlink attachment's pin) goes the same way.
  const rec = path.join(dir.path, 'rec');
  link.close();
  const nl = ns.run(() => attachXdp(prog, 'ow0', { prefer: 'netlink' }));
  t.teardown(() => ns.run(() => nl.state().ifindex && nl.detach()));
  nl.pin(rec);
  const again = openLinkPin(rec);
  again.unpin();
  t.false(fs.existsSync(rec));
});

privileged.serial('a CollectionSpec is inspected, then loaded once; afterwards it still lists, but its BTF questions and a second load throw ErrClosed', (t) => {
  const spec = CollectionSpec.open(fixture('lib_tc'));
  t.deepEqual(spec.programs.map((p) => p.name).sort(), ['tc_count', 'tc_drop', 'tc_pass']);
  t.is(spec.map('tc_counts').typeName, 'percpu_array');
  t.is(spec.btfStruct('counter')?.size, 16);
  const c = Collection.fromSpec(spec, { maxEntries: { tc_counts: 2 } });
  t.teardown(() => c.close());
  t.is(c.maps.tc_counts!.info.maxEntries, 2, 'load options apply');
  t.is(c.program('tc_pass').run({ data: Buffer.alloc(64) }).retval, 0, 'the loaded program runs');
  t.true(spec.closed);
  t.is(spec.map('tc_counts').name, 'tc_counts', 'the lists still answer');
  t.throws(() => spec.btfStruct('counter'), { instanceOf: ErrClosed });
  t.throws(() => Collection.fromSpec(spec), { instanceOf: ErrClosed, message: /already loaded or closed/ });
});

privileged.serial('errors the library raises itself are BpfErrors with a code, an errno and the operation', (t) => {
  const c = Collection.load(fixture('lib_tc'));
  t.teardown(() => c.close());
  const cases: [string, () => unknown, string][] = [
    ['a codec value out of range', () => encode(u8, 256), 'codec'],
    ['a map the object does not have', () => c.map('nope', u32, u32), 'Collection'],
    ['a codec of the wrong size', () => c.maps.tc_counts!.withCodecs(u8, u8), 'BpfMap'],
    ['a map type that does not exist', () => BpfMap.create({ type: 'nope' as 'hash', key: u32, value: u32, maxEntries: 1 }), 'BpfMap'],
  ];
  for (const [what, fn, op] of cases) {
    const e = t.throws(fn, { instanceOf: ErrInvalid }, what);
    t.true(e instanceof BpfError, what);
    t.like(e, { code: 'EINVAL', errno: 22, op }, what);
  }
});
