// Link.update swaps the program of a live attachment in one step: pings flow from namespace b to a
// through a veth while the test swaps a's program back and forth as fast as it can, and every
// ping must come through (tcx: the swapped program sits in front of a program that drops
// everything, so a packet that finds no program in the swapped slot is lost) and, for XDP, every
// echo request must have been counted by one of the two programs (a frame in a gap passes
// uncounted). Real kernel objects, real packets. The probe must say what the kernel has (tcx from
// 6.6); on a kernel without it the swap runs on the clsact fallback's one cls_bpf filter (the
// matrix's 6.1).
// The recorded kinds (clsact, netlink XDP) update in place too and rewrite their records; attach
// refuses a program of the wrong type or a missing interface before any syscall.
import { execFile } from 'node:child_process';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { promisify } from 'node:util';

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  BpfError, ClsactLink, Collection, ErrNotExist, attachTc, attachXdp, haveBatchApi, haveTcx, listAttached, openLinkPin, u32, u64,
  type Link, type Program,
} from '../../src/bpf/index.js';
import { makePinDir } from '../helpers/bpffs.js';
import { addVeth, createNetns, type TestNetns } from '../helpers/netns.js';
import { fixture } from '../helpers/paths.js';
import { privileged } from '../helpers/privileged.js';
import type { ExecutionContext } from 'ava';

const PINGS = 300;

/** a (bta, 10.199.1.1) and b (btb, 10.199.1.2): static neighbours, no IPv6, so only pings cross. */
function pair(t: ExecutionContext): { a: TestNetns; b: TestNetns } {
  const a = createNetns();
  t.teardown(() => a.destroy());
  const b = createNetns();
  t.teardown(() => b.destroy());
  for (const ns of [a, b]) ns.exec('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  addVeth(a, 'bta', 'btb', b);
  a.ip('addr', 'add', '10.199.1.1/30', 'dev', 'bta');
  b.ip('addr', 'add', '10.199.1.2/30', 'dev', 'btb');
  const mac = (ns: TestNetns, dev: string) => (JSON.parse(ns.ip('-j', 'link', 'show', dev)) as { address: string }[])[0]!.address;
  a.ip('neigh', 'replace', '10.199.1.2', 'lladdr', mac(b, 'btb'), 'dev', 'bta', 'nud', 'permanent');
  b.ip('neigh', 'replace', '10.199.1.1', 'lladdr', mac(a, 'bta'), 'dev', 'btb', 'nud', 'permanent');
  return { a, b };
}

/**
 * Pings a from b PINGS times, 2 ms apart, while swapping `link` between `progs` (each update
 * names the program it replaces). Returns what ping counted and how many swaps ran meanwhile.
 */
async function pingWhileSwapping(b: TestNetns, link: Pick<Link, 'update'>, progs: [Program, Program]): Promise<{ transmitted: number; received: number; swaps: number }> {
  let done = false;
  const run = promisify(execFile)('ip', ['netns', 'exec', b.name, 'ping', '-q', '-c', String(PINGS), '-i', '0.002', '-W', '1', '10.199.1.1'], { encoding: 'utf8' })
    .then((r) => r.stdout, (e: { stdout?: string }) => e.stdout ?? '')
    .finally(() => {
      done = true;
    });
  let swaps = 0;
  while (!done) {
    link.update(progs[(swaps + 1) % 2]!, progs[swaps % 2]!);
    swaps++;
    await yieldToLoop();
  }
  const out = await run;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (!m) throw new Error(`ping printed no summary: ${out}`);
  return { transmitted: Number(m[1]), received: Number(m[2]), swaps };
}

/** Whether the running kernel is at least major.minor (uname -r). */
function kernelAtLeast(major: number, minor: number): boolean {
  const [ma = 0, mi = 0] = os.release().split(/[.-]/).map(Number);
  return ma > major || (ma === major && mi >= minor);
}
const TCX = kernelAtLeast(6, 6);

privileged.serial('probes: tcx exactly when the kernel is 6.6 or later; the map batch commands (5.6+)', (t) => {
  t.is(haveTcx(), TCX, `kernel ${os.release()}: tcx came in 6.6`);
  t.true(haveBatchApi(), 'the batch commands came in 5.6');
});

privileged.serial('TC link update under traffic (tcx, or clsact without it): every ping passes the swapped slot, in front of a drop-all program; same link, same order', async (t) => {
  const { a, b } = pair(t);
  const c = Collection.load(fixture('lib_tc'));
  t.teardown(() => c.close());
  const [pass, count, drop] = [c.program('tc_pass'), c.program('tc_count'), c.program('tc_drop')];
  const link = a.run(() => attachTc(pass, 'bta', 'ingress'));
  t.teardown(() => link.close());
  t.is(link.kind, TCX ? 'tcx' : 'clsact');
  if (!TCX) {
    // The clsact fallback: a cls_bpf filter in front of a drop-all filter one priority after it (a
    // filter answering TC_ACT_OK ends the walk). Its handle and priority name it in its network
    // namespace, so it is updated from there (a tcx link is its fd, anywhere).
    const cl = link as ClsactLink;
    const tail = a.run(() => attachTc(drop, 'bta', 'ingress', { priority: cl.priority + 1 })) as ClsactLink;
    t.teardown(() => a.run(() => tail.close()));
    const r = await pingWhileSwapping(b, { update: (p, e) => a.run(() => link.update(p, e)) }, [pass, count]);
    t.true(r.swaps > 1, `${r.swaps} swaps ran during the pings`);
    t.is(r.transmitted, PINGS);
    t.is(r.received, r.transmitted, `${r.transmitted - r.received} pings lost over ${r.swaps} swaps`);
    const last = r.swaps % 2 === 0 ? pass : count;
    t.deepEqual(a.run(() => listAttached('bta')).clsact.ingress.map((f) => [f.name, f.handle, f.priority]), [[last.name, cl.handle, cl.priority], ['tc_drop', tail.handle, cl.priority + 1]], 'the same filter, still in front of tc_drop');
    t.throws(() => a.run(() => link.update(count, r.swaps % 2 === 0 ? count : pass)), { instanceOf: ErrNotExist }, 'refused when the filter no longer runs the expected program');
    return;
  }
  const tail = a.run(() => attachTc(drop, 'bta', 'ingress'));
  t.teardown(() => tail.close());
  const linkId = link.state().linkId;

  const r = await pingWhileSwapping(b, link, [pass, count]);
  t.true(r.swaps > 1, `${r.swaps} swaps ran during the pings`);
  t.is(r.transmitted, PINGS);
  t.is(r.received, r.transmitted, `${r.transmitted - r.received} pings lost over ${r.swaps} swaps`);
  const last = r.swaps % 2 === 0 ? pass : count;
  t.deepEqual(link.state(), { ifindex: link.ifindex, progId: last.info().id, hook: 'ingress', linkId }, 'the same link runs the last program');
  t.is(link.progId, last.info().id);
  t.deepEqual(a.run(() => listAttached('bta')).tcx.ingress.map((p) => p.name), [last.name, 'tc_drop'], 'still in front of tc_drop');
  t.throws(() => link.update(count, r.swaps % 2 === 0 ? count : pass), { code: 'EPERM' }, 'refused when the link no longer runs the expected program');
});

privileged.serial('xdp link update under traffic: every echo request is counted by one of the two programs, none lost', async (t) => {
  const { a, b } = pair(t);
  const c = Collection.load(fixture('lib_xdp'));
  t.teardown(() => c.close());
  const hits = c.map('xdp_hits', u32, u64);
  const progs: [Program, Program] = [c.program('xdp_count_pass'), c.program('xdp_count_pass_too')];
  const link = a.run(() => attachXdp(progs[0], 'bta', { mode: 'native' }));
  t.teardown(() => link.close());
  t.is(link.kind, 'xdp');
  const linkId = link.state().linkId;

  const r = await pingWhileSwapping(b, link, progs);
  t.true(r.swaps > 1, `${r.swaps} swaps ran during the pings`);
  t.is(r.received, PINGS, `${PINGS - r.received} pings lost over ${r.swaps} swaps`);
  t.is(hits.get(0), BigInt(PINGS), 'every echo request ran one of the programs');
  t.is(link.state().linkId, linkId, 'the same link');
  t.is(a.run(() => listAttached('bta')).xdp?.progId, progs[r.swaps % 2]!.info().id);
});

privileged.serial('clsact and netlink XDP update in place: same handle and priority, the record rewritten; a stale expectation is refused', (t) => {
  const { a } = pair(t);
  const dir = makePinDir();
  t.teardown(() => dir.cleanup());
  const tc = Collection.load(fixture('lib_tc'));
  t.teardown(() => tc.close());
  const xdp = Collection.load(fixture('lib_xdp'));
  t.teardown(() => xdp.close());
  const [pass, count] = [tc.program('tc_pass'), tc.program('tc_count')];
  a.run(() => {
    const rec = path.join(dir.path, 'tc_rec');
    const link = attachTc(pass, 'bta', 'ingress', { prefer: 'clsact' }) as ClsactLink;
    t.teardown(() => a.run(() => listAttached('bta').clsact.ingress.length && link.detach()));
    link.pin(rec);
    link.update(count, pass);
    t.deepEqual(listAttached('bta').clsact.ingress.map((f) => [f.name, f.handle, f.priority]), [['tc_count', link.handle, link.priority]], 'one filter, same place, new program');
    t.like(openLinkPin(rec), { kind: 'clsact', progId: count.info().id, handle: link.handle, priority: link.priority });
    t.false(fs.existsSync(`${rec}~new`));
    t.throws(() => link.update(pass, pass), { instanceOf: ErrNotExist }, 'the filter no longer runs tc_pass');
    t.is(listAttached('bta').clsact.ingress[0]?.name, 'tc_count', 'unchanged after the refusal');
    link.detach();

    const xrec = path.join(dir.path, 'xdp_rec');
    const [p0, p1] = [xdp.program('xdp_count_pass'), xdp.program('xdp_count_pass_too')];
    const nl = attachXdp(p0, 'bta', { prefer: 'netlink' });
    t.teardown(() => a.run(() => listAttached('bta').xdp && nl.detach()));
    nl.pin(xrec);
    nl.update(p1);
    t.is(listAttached('bta').xdp?.progId, p1.info().id);
    t.like(openLinkPin(xrec), { kind: 'xdp-netlink', progId: p1.info().id });
    t.throws(() => nl.update(p0, p0), { code: 'EEXIST' }, 'XDP_FLAGS_REPLACE against a program no longer there');
    t.is(listAttached('bta').xdp?.progId, p1.info().id, 'unchanged after the refusal');
    nl.detach();
    t.is(listAttached('bta').xdp, null);
  });
});

privileged.serial('attach checks its arguments first: a program of the wrong type, an interface that is not there', (t) => {
  const { a } = pair(t);
  const tc = Collection.load(fixture('lib_tc'));
  t.teardown(() => tc.close());
  const xdp = Collection.load(fixture('lib_xdp'));
  t.teardown(() => xdp.close());
  a.run(() => {
    const e1 = t.throws(() => attachXdp(tc.program('tc_pass'), 'bta'), { instanceOf: BpfError });
    t.like(e1, { code: 'EINVAL', op: 'attachXdp' });
    t.regex(e1!.message, /program 'tc_pass' is of type sched_cls; the XDP hook runs xdp programs/);
    const e2 = t.throws(() => attachTc(xdp.program('xdp_pass'), 'bta', 'ingress'), { instanceOf: BpfError });
    t.regex(e2!.message, /program 'xdp_pass' is of type xdp; the TC hook runs sched_cls/);
    const e3 = t.throws(() => attachXdp(xdp.program('xdp_pass'), 'nosuch0'), { instanceOf: ErrNotExist });
    t.regex(e3!.message, /no interface 'nosuch0' in this network namespace/);
    const e4 = t.throws(() => attachTc(tc.program('tc_pass'), 999_999, 'egress'), { instanceOf: ErrNotExist });
    t.like(e4, { code: 'ENODEV', errno: 19, op: 'attachTc' });
    const link = attachTc(tc.program('tc_pass'), 'bta', 'ingress');
    t.teardown(() => link.close());
    t.throws(() => link.update(xdp.program('xdp_pass')), { instanceOf: BpfError, message: /the TC hook runs sched_cls/ });
    const listed = listAttached('bta');
    t.is(listed.xdp, null, 'nothing attached by the refused calls');
    t.deepEqual([...listed.tcx.ingress, ...listed.clsact.ingress].map((p) => p.name), ['tc_pass']);
  });
});
