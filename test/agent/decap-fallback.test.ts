// --decap-hook auto's fallback (src/agent/attach.ts ensureDecapAttachments, what agentd's attach
// runs): when agentd chose XDP and the kernel refuses native XDP on the uplink, decapsulation
// attaches at TC instead; XDP asked for by name fails. The refusal is the kernel's own: native
// XDP on a veth whose peer's MTU is over a page (9000 here) is refused with ERANGE for a program
// that does not take multi-buffer frames (xdp_decap). A 1500-byte veth takes it (control).
import type { ExecutionContext } from 'ava';

import { ensureDecapAttachments, linksDir, type AttachmentSpec } from '../../src/agent/attach.js';
import { loadDatapath, type Datapath } from '../../src/agent/datapath.js';
import type { DecapHook } from '../../src/agent/uplink.js';
import { BpfError, listAttached } from '../../src/bpf/index.js';
import { makePinDir } from '../helpers/bpffs.js';
import { addVeth, createNetns, type TestNetns } from '../helpers/netns.js';
import { privileged } from '../helpers/privileged.js';

function setup(t: ExecutionContext, uplinkMtu: number): { ns: TestNetns; dp: Datapath; dir: string; specsFor: (h: DecapHook) => AttachmentSpec[] } {
  const ns = createNetns();
  t.teardown(() => ns.destroy());
  const pins = makePinDir();
  t.teardown(() => pins.cleanup());
  addVeth(ns, 'eth0', 'eth0p');
  ns.ip('link', 'set', 'eth0', 'mtu', String(uplinkMtu));
  ns.ip('link', 'set', 'eth0p', 'mtu', String(uplinkMtu));
  addVeth(ns, 'tun0', 'tun0p');
  const dp = loadDatapath(pins.path, ['tc_encap', 'tc_decap', 'xdp_decap']);
  t.teardown(() => dp.close());
  const specsFor = (hook: DecapHook): AttachmentSpec[] => [
    { program: dp.programs.tc_encap, programName: 'tc_encap', iface: 'tun0', point: 'tcx-egress' },
    hook === 'xdp'
      ? { program: dp.programs.xdp_decap, programName: 'xdp_decap', iface: 'eth0', point: 'xdp' }
      : { program: dp.programs.tc_decap, programName: 'tc_decap', iface: 'eth0', point: 'tcx-ingress' },
  ];
  return { ns, dp, dir: linksDir(pins.path), specsFor };
}

const tcIngress = (ns: TestNetns, dev: string): string[] =>
  ns.run(() => ((a) => [...a.tcx.ingress, ...a.clsact.ingress].map((p) => p.name))(listAttached(dev)));

privileged.serial('decap hook auto: native XDP refused by the kernel (veth, peer MTU 9000) → tc_decap attached at TC ingress instead, the refusal reported', (t) => {
  const { ns, dir, specsFor } = setup(t, 9000);
  const refusals: unknown[] = [];
  const r = ns.run(() => ensureDecapAttachments(dir, specsFor, 'xdp', 'auto', (e) => refusals.push(e)));
  t.is(r.hook, 'tc');
  t.is(refusals.length, 1, 'the fallback was reported once');
  t.true(refusals[0] instanceof BpfError && refusals[0].code === 'ERANGE', `the kernel's refusal: ${String(refusals[0])}`);
  t.deepEqual(r.attachments.map((a) => [a.pin.split('/').pop(), a.iface, a.point]), [['tc_encap@tun0', 'tun0', 'tcx-egress'], ['tc_decap@eth0', 'eth0', 'tcx-ingress']]);
  t.is(ns.run(() => listAttached('eth0').xdp), null, 'no XDP program on the uplink');
  t.deepEqual(tcIngress(ns, 'eth0'), ['tc_decap']);
});

privileged.serial('decap hook xdp (asked for by name): the kernel\'s refusal is an error, no fallback', (t) => {
  const { ns, dir, specsFor } = setup(t, 9000);
  const refusals: unknown[] = [];
  const e = t.throws(() => ns.run(() => ensureDecapAttachments(dir, specsFor, 'xdp', 'xdp', (x) => refusals.push(x))));
  t.true(e instanceof BpfError && e.code === 'ERANGE', String(e));
  t.is(refusals.length, 0);
  t.deepEqual(tcIngress(ns, 'eth0'), [], 'tc_decap was not attached');
});

privileged.serial('decap hook auto on an uplink native XDP takes (veth, MTU 1500): xdp_decap attached, no fallback (control)', (t) => {
  const { ns, dp, dir, specsFor } = setup(t, 1500);
  const refusals: unknown[] = [];
  const r = ns.run(() => ensureDecapAttachments(dir, specsFor, 'xdp', 'auto', (e) => refusals.push(e)));
  t.is(r.hook, 'xdp');
  t.is(refusals.length, 0);
  t.is(ns.run(() => listAttached('eth0').xdp?.progId), dp.programs.xdp_decap.info().id);
  t.deepEqual(tcIngress(ns, 'eth0'), []);
});
