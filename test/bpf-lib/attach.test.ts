// Attaching to a veth inside a throwaway network namespace: XDP (link, pinnable; netlink
// fallback), TC (tcx links; clsact + cls_bpf fallback on kernels without tcx, before 6.6). Each
// case checks the kernel's own view (listAttached) after attach and after detach, and one sends
// real packets through the hooks. The TC cases assert what this kernel should do by the probe's
// answer (haveTcx), and the probes themselves are checked against a real attach attempt.
import fs from 'node:fs';
import path from 'node:path';

import {
  ErrInvalid,
  ClsactLink, Collection, ErrBusy, ErrExist, ErrNotExist, FdLink, AttachType, XdpNetlinkLink, attachTc, attachXdp,
  haveTcx, haveXdpLink, ifindexOf, listAttached, openLinkPin, perCpu, struct, sumPerCpu, tcAttachKind, u32, u64,
  type AttachedPrograms,
} from '../../src/bpf/index.js';
import { addon } from '../../src/bpf/native.js';
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

privileged.serial('xdp netlink: attached without a link, blocks links (EBUSY), recorded instead of pinned, detached through the record', (t) => {
  const ns = vethNs(t);
  const dir = makePinDir();
  t.teardown(() => dir.cleanup());
  const rec = path.join(dir.path, 'xdp_record');
  ns.run(() => {
    const prog = xdp.program('xdp_pass');
    const nl = attachXdp(prog, 'bt0', { prefer: 'netlink' });
    t.is(nl.kind, 'xdp-netlink');
    t.is(listAttached('bt0').xdp?.progId, prog.info().id);
    t.throws(() => attachXdp(xdp.program('xdp_swap_macs'), 'bt0'), { instanceOf: ErrBusy });
    t.throws(() => attachXdp(xdp.program('xdp_swap_macs'), 'bt0', { prefer: 'netlink' }), { instanceOf: ErrBusy }, 'never replaces silently');
    nl.pin(rec);
    t.true(fs.lstatSync(rec).isSymbolicLink(), 'a record, not a bpffs pin');
    t.throws(() => nl.pin(rec), { code: 'EEXIST' });
    nl.close();
    t.is(listAttached('bt0').xdp?.progId, prog.info().id, 'netlink attachments outlive their handle');
    const again = openLinkPin(rec);
    t.true(again instanceof XdpNetlinkLink);
    t.deepEqual(again.state(), { ifindex: ifindexOf('bt0'), progId: prog.info().id, hook: 'xdp', linkId: 0 });
    again.detach();
    t.is(listAttached('bt0').xdp, null);
    t.is(again.state().ifindex, 0, 'the record now names nothing attached');
    again.unpin();
    t.false(fs.existsSync(rec));
  });
});

privileged.serial('feature probes: haveTcx and haveXdpLink agree with a real link attempt on this kernel', (t) => {
  const ns = vethNs(t);
  ns.run(() => {
    const ifindex = ifindexOf('bt0');
    const tryLink = (fd: number, type: number): boolean => {
      try {
        addon().closeFd(addon().linkCreate(fd, ifindex, type, 0));
        return true;
      } catch (e) {
        t.like(e, { code: 'EINVAL' }, 'a kernel without the link type refuses it with EINVAL');
        return false;
      }
    };
    t.is(tryLink(tc.program('tc_pass').fd, AttachType.tcx_ingress), haveTcx(), 'tcx link');
    t.is(tryLink(xdp.program('xdp_pass').fd, AttachType.xdp), haveXdpLink(), 'XDP link');
    t.is(tcAttachKind(), haveTcx() ? 'tcx' : 'clsact');
    t.true(nothingAttached(listAttached('bt0')), 'closing the links detached them');
  });
});

privileged.serial('tc attach: tcx links append in order per direction and detach on close; without tcx, clsact filters go in front and stay until detached', (t) => {
  const ns = vethNs(t);
  ns.run(() => {
    const pass = tc.program('tc_pass');
    const count = tc.program('tc_count');
    const in1 = attachTc(pass, 'bt0', 'ingress');
    const in2 = attachTc(count, 'bt0', 'ingress');
    const out = attachTc(count, 'bt0', 'egress');
    t.is(in1.kind, tcAttachKind());
    if (haveTcx()) {
      t.true(in1 instanceof FdLink);
      t.like((in1 as FdLink).info(), { typeName: 'tcx', attachType: AttachType.tcx_ingress, ifindex: ifindexOf('bt0') });
      t.like((out as FdLink).info(), { attachType: AttachType.tcx_egress });
      const a = listAttached('bt0');
      t.deepEqual(a.tcx.ingress, [
        { progId: pass.info().id, name: 'tc_pass', linkId: in1.state().linkId },
        { progId: count.info().id, name: 'tc_count', linkId: in2.state().linkId },
      ]);
      t.deepEqual(a.tcx.egress, [{ progId: count.info().id, name: 'tc_count', linkId: out.state().linkId }]);
      t.deepEqual(a.clsact, { ingress: [], egress: [] });
      in1.close();
      t.deepEqual(listAttached('bt0').tcx.ingress.map((p) => p.name), ['tc_count']);
    } else {
      t.true(in1 instanceof ClsactLink && in2 instanceof ClsactLink && out instanceof ClsactLink);
      const [c1, c2, co] = [in1, in2, out] as ClsactLink[];
      t.like(c1, { direction: 'ingress', ifindex: ifindexOf('bt0'), progId: pass.info().id });
      t.like(co, { direction: 'egress' });
      // The kernel numbers a filter added without a priority one below the chain's first: the
      // newer filter runs first.
      t.true(c2!.priority < c1!.priority, `priorities ${c2!.priority} < ${c1!.priority}`);
      const a = listAttached('bt0');
      t.deepEqual(a.tcx, { ingress: [], egress: [] });
      t.deepEqual(a.clsact.ingress.map((f) => [f.name, f.priority, f.handle, f.directAction]), [
        ['tc_count', c2!.priority, c2!.handle, true],
        ['tc_pass', c1!.priority, c1!.handle, true],
      ]);
      t.deepEqual(a.clsact.egress.map((f) => [f.name, f.progId]), [['tc_count', count.info().id]]);
      t.deepEqual(in1.state(), { ifindex: ifindexOf('bt0'), progId: pass.info().id, hook: 'ingress', linkId: 0 });
      in1.close();
      t.is(listAttached('bt0').clsact.ingress.length, 2, 'closing a clsact handle leaves the filter');
      in1.detach();
      t.deepEqual(listAttached('bt0').clsact.ingress.map((p) => p.name), ['tc_count']);
      t.is(in1.state().ifindex, 0);
      t.throws(() => in1.detach(), { instanceOf: ErrNotExist }, 'a filter that is gone is not detached twice');
    }
    in2.detach();
    out.detach();
    t.true(nothingAttached(listAttached('bt0')));
    in2.close();
    out.close();
  });
});

privileged.serial('tc pin: a pinned tcx link, or without tcx a clsact record, stays attached, reopens, detaches', (t) => {
  const ns = vethNs(t);
  const dir = makePinDir();
  t.teardown(() => dir.cleanup());
  const pin = path.join(dir.path, 'tc_link');
  ns.run(() => {
    const prog = tc.program('tc_pass');
    const link = attachTc(prog, 'bt1', 'egress');
    link.pin(pin);
    t.is(link.pinPath, pin);
    t.is(fs.lstatSync(pin).isSymbolicLink(), !haveTcx(), haveTcx() ? 'a bpffs pin' : 'a record');
    link.close();
    const listed = listAttached('bt1');
    t.deepEqual((haveTcx() ? listed.tcx.egress : listed.clsact.egress).map((p) => p.name), ['tc_pass']);
    const again = openLinkPin(pin);
    t.like(again, { kind: tcAttachKind(), ifindex: ifindexOf('bt1'), progId: prog.info().id });
    t.like(again.state(), { ifindex: ifindexOf('bt1'), progId: prog.info().id, hook: 'egress' });
    again.detach();
    again.unpin();
    again.close();
    t.false(fs.existsSync(pin));
    t.true(nothingAttached(listAttached('bt1')));
  });
});

privileged.serial('clsact records (any kernel): read back exactly, follow the kernel when the filter goes, never detach a filter that is not ours', (t) => {
  const ns = vethNs(t);
  const dir = makePinDir();
  t.teardown(() => dir.cleanup());
  const rec = path.join(dir.path, 'rec');
  ns.run(() => {
    const pass = tc.program('tc_pass');
    const link = attachTc(pass, 'bt0', 'ingress', { prefer: 'clsact', priority: 5, handle: 3 }) as ClsactLink;
    link.pin(rec);
    t.throws(() => link.pin(rec), { code: 'EEXIST' });
    const r = openLinkPin(rec) as ClsactLink;
    t.true(r instanceof ClsactLink);
    t.deepEqual([r.ifindex, r.direction, r.handle, r.priority, r.progId, r.pinPath], [ifindexOf('bt0'), 'ingress', 3, 5, pass.info().id, rec]);
    // Removed behind the record's back, then another program put at the same handle and priority.
    link.detach();
    t.is(r.state().ifindex, 0);
    const other = attachTc(tc.program('tc_count'), 'bt0', 'ingress', { prefer: 'clsact', priority: 5, handle: 3 });
    t.is(r.state().ifindex, 0, 'the filter there now runs another program');
    t.throws(() => r.detach(), { instanceOf: ErrNotExist });
    t.deepEqual(listAttached('bt0').clsact.ingress.map((f) => f.name), ['tc_count'], 'the other filter stays');
    other.detach();
    r.unpin();
    t.false(fs.existsSync(rec));
    fs.symlinkSync('somewhere/else', rec);
    t.throws(() => openLinkPin(rec), { instanceOf: ErrInvalid }, 'a symlink that is no record');
    fs.rmSync(rec);
    t.throws(() => openLinkPin(rec), { code: 'ENOENT' });
    t.true(nothingAttached(listAttached('bt0')));
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
    t.throws(() => ing.pin('/nonexistent/dir/rec'), { code: 'ENOENT' }, 'a record needs its directory');
    t.throws(() => attachTc(count, 'bt0', 'ingress', { prefer: 'clsact', priority: 7, handle: (ing as ClsactLink).handle }), { instanceOf: ErrExist });
    ing.detach();
    eg.detach();
    t.true(nothingAttached(listAttached('bt0')));
  });
});

const counter = struct('counter', { packets: u64, bytes: u64 });

privileged.serial('real packets: TC ingress (tcx, or clsact without it) counts pings; XDP drop then stops them', (t) => {
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
  t.is(link.kind, tcAttachKind());
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
