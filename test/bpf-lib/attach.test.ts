// Attaching to a veth inside a throwaway network namespace: XDP (link, pinnable; netlink
// fallback), TC (tcx links; clsact + cls_bpf fallback). Each case checks the kernel's own view
// (listAttached) after attach and after detach, and one sends real packets through the hooks.
import path from 'node:path';

import {
  Collection, ErrBusy, ErrNotSupported, FdLink, AttachType, attachTc, attachXdp, ifindexOf, listAttached, perCpu,
  struct, sumPerCpu, u32, u64, type AttachedPrograms,
} from '../../src/bpf/index.js';
import { makePinDir } from '../helpers/bpffs.js';
import { addVeth, createNetns, type TestNetns } from '../helpers/netns.js';
import { fixture } from '../helpers/paths.js';
import { privileged } from '../helpers/privileged.js';
import type { ExecutionContext } from 'ava';

let xdp: Collection;
let tc: Collection;
privileged.before(() => {
  xdp = Collection.load(fixture('lib_xdp'));
  tc = Collection.load(fixture('lib_tc'));
});
privileged.afterAlways(() => {
  xdp?.close();
  tc?.close();
});

/** A namespace with a veth pair bt0/bt1, both up; deleted after the test whatever happens. */
function vethNs(t: ExecutionContext): TestNetns {
  const ns = createNetns();
  t.teardown(() => ns.destroy());
  addVeth(ns, 'bt0', 'bt1');
  return ns;
}

function nothingAttached(a: AttachedPrograms): boolean {
  return a.xdp === null && !a.tcx.ingress.length && !a.tcx.egress.length && !a.clsact.ingress.length && !a.clsact.egress.length;
}

privileged.serial('xdp link: attached natively, listed, pinned, survives close, detached via the pin', (t) => {
  const ns = vethNs(t);
  const dir = makePinDir();
  t.teardown(() => dir.cleanup());
  const prog = xdp.program('xdp_pass');
  const pin = path.join(dir.path, 'xdp_link');
  ns.run(() => {
    t.true(nothingAttached(listAttached('bt0')));
    const link = attachXdp(prog, 'bt0');
    t.is(link.kind, 'xdp');
    t.like((link as FdLink).info(), { typeName: 'xdp', progId: prog.info().id, ifindex: ifindexOf('bt0') });
    t.deepEqual(listAttached('bt0').xdp, { progId: prog.info().id, name: 'xdp_pass', mode: 'native' });
    t.is(listAttached('bt1').xdp, null, 'only the interface asked for');
    link.pin(pin);
    link.close();
    t.is(listAttached('bt0').xdp?.progId, prog.info().id, 'the pin keeps the link (and the program) attached');
    const again = FdLink.openPinned(pin);
    t.is(again.kind, 'xdp');
    again.detach();
    t.is(listAttached('bt0').xdp, null);
    again.unpin();
    again.close();
  });
});

privileged.serial('xdp link: generic mode is reported as generic; closing an unpinned link detaches', (t) => {
  const ns = vethNs(t);
  ns.run(() => {
    const link = attachXdp(xdp.program('xdp_pass'), 'bt1', { mode: 'generic' });
    t.is(listAttached('bt1').xdp?.mode, 'generic');
    link.close();
    t.is(listAttached('bt1').xdp, null);
  });
});

privileged.serial('xdp netlink: attached without a link, blocks links (EBUSY), not pinnable, detached', (t) => {
  const ns = vethNs(t);
  ns.run(() => {
    const prog = xdp.program('xdp_pass');
    const nl = attachXdp(prog, 'bt0', { prefer: 'netlink' });
    t.is(nl.kind, 'xdp-netlink');
    t.is(listAttached('bt0').xdp?.progId, prog.info().id);
    t.throws(() => attachXdp(xdp.program('xdp_swap_macs'), 'bt0'), { instanceOf: ErrBusy });
    t.throws(() => attachXdp(xdp.program('xdp_swap_macs'), 'bt0', { prefer: 'netlink' }), { instanceOf: ErrBusy }, 'never replaces silently');
    t.throws(() => nl.pin('/nonexistent'), { instanceOf: ErrNotSupported });
    nl.close();
    t.is(listAttached('bt0').xdp?.progId, prog.info().id, 'netlink attachments outlive their handle');
    nl.detach();
    t.is(listAttached('bt0').xdp, null);
  });
});

privileged.serial('tcx: links append in order per direction, are listed with link ids, detach on close', (t) => {
  const ns = vethNs(t);
  ns.run(() => {
    const pass = tc.program('tc_pass');
    const count = tc.program('tc_count');
    const in1 = attachTc(pass, 'bt0', 'ingress') as FdLink;
    const in2 = attachTc(count, 'bt0', 'ingress') as FdLink;
    const out = attachTc(count, 'bt0', 'egress') as FdLink;
    t.is(in1.kind, 'tcx');
    t.like(in1.info(), { typeName: 'tcx', attachType: AttachType.tcx_ingress, ifindex: ifindexOf('bt0') });
    t.like(out.info(), { attachType: AttachType.tcx_egress });
    const a = listAttached('bt0');
    t.deepEqual(a.tcx.ingress, [
      { progId: pass.info().id, name: 'tc_pass', linkId: in1.info().id },
      { progId: count.info().id, name: 'tc_count', linkId: in2.info().id },
    ]);
    t.deepEqual(a.tcx.egress, [{ progId: count.info().id, name: 'tc_count', linkId: out.info().id }]);
    t.deepEqual(a.clsact, { ingress: [], egress: [] });
    in1.close();
    t.deepEqual(listAttached('bt0').tcx.ingress.map((p) => p.name), ['tc_count']);
    in2.detach();
    out.detach();
    t.true(nothingAttached(listAttached('bt0')));
    in2.close();
    out.close();
  });
});

privileged.serial('tcx: a pinned link stays attached and can be reopened and detached', (t) => {
  const ns = vethNs(t);
  const dir = makePinDir();
  t.teardown(() => dir.cleanup());
  const pin = path.join(dir.path, 'tcx_link');
  ns.run(() => {
    const link = attachTc(tc.program('tc_pass'), 'bt1', 'egress');
    link.pin(pin);
    link.close();
    t.deepEqual(listAttached('bt1').tcx.egress.map((p) => p.name), ['tc_pass']);
    const again = FdLink.openPinned(pin);
    t.like(again, { kind: 'tcx', ifindex: ifindexOf('bt1') });
    again.detach();
    again.unpin();
    again.close();
    t.true(nothingAttached(listAttached('bt1')));
  });
});

privileged.serial('clsact: cls_bpf filters in direct-action mode, listed with handle and priority, detached', (t) => {
  const ns = vethNs(t);
  ns.run(() => {
    const count = tc.program('tc_count');
    const ing = attachTc(count, 'bt0', 'ingress', { prefer: 'clsact', priority: 7 });
    const eg = attachTc(tc.program('tc_pass'), 'bt0', 'egress', { prefer: 'clsact' });
    t.like(ing, { kind: 'clsact', direction: 'ingress', priority: 7 });
    const a = listAttached('bt0');
    t.deepEqual(a.tcx, { ingress: [], egress: [] });
    t.is(a.clsact.ingress.length, 1);
    t.like(a.clsact.ingress[0], { progId: count.info().id, name: 'tc_count', priority: 7, directAction: true });
    t.like(a.clsact.egress[0], { name: 'tc_pass', directAction: true });
    t.is(a.clsact.ingress[0]?.handle, (ing as { handle?: number }).handle);
    t.throws(() => ing.pin('/nonexistent'), { instanceOf: ErrNotSupported });
    ing.detach();
    eg.detach();
    t.true(nothingAttached(listAttached('bt0')));
  });
});

const counter = struct('counter', { packets: u64, bytes: u64 });

privileged.serial('real packets: tcx ingress counts pings; XDP drop then stops them', (t) => {
  const a = createNetns();
  t.teardown(() => a.destroy());
  const b = createNetns();
  t.teardown(() => b.destroy());
  addVeth(a, 'bta', 'btb', b);
  a.ip('addr', 'add', '10.199.0.1/30', 'dev', 'bta');
  b.ip('addr', 'add', '10.199.0.2/30', 'dev', 'btb');
  const c = Collection.load(fixture('lib_tc'));
  t.teardown(() => c.close());
  const counts = c.map('tc_counts', u32, perCpu(counter));
  const link = a.run(() => attachTc(c.program('tc_count'), 'bta', 'ingress'));
  t.teardown(() => link.close());
  b.exec('ping', '-c', '3', '-i', '0.2', '-W', '2', '10.199.0.1');
  const seen = sumPerCpu(counts.get(0) ?? []);
  t.true(seen.packets >= 3n, `tc_count saw ${seen.packets} packets`);
  t.true(seen.bytes >= 3n * 98n, 'each echo request is at least 98 bytes on the wire');

  const x = Collection.load(fixture('lib_xdp'));
  t.teardown(() => x.close());
  const drop = a.run(() => attachXdp(x.program('xdp_count_drop'), 'bta'));
  t.teardown(() => drop.close());
  t.throws(() => b.exec('ping', '-c', '2', '-i', '0.2', '-W', '1', '10.199.0.1'), undefined, 'XDP drops the pings');
  const hits = x.maps.xdp_hits?.withCodecs(u32, u64).get(0) ?? 0n;
  t.true(hits >= 2n, `xdp_count_drop saw ${hits} frames`);
});
