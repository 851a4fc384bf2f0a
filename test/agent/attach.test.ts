// src/agent/attach.ts against the kernel, in a throwaway namespace: the pins under <pinRoot>/links
// agentd keeps, with TC attached as clsact filters (what a kernel without tcx, before 6.6, gets:
// the filters are recorded, not pinned) and with this kernel's default. Restart adoption,
// in-place replacement (Link.update), removal of unwanted attachments, and `agentctl cleanup`;
// and the fallback taken on the probe's word alone (overrideFeature makes it answer "no tcx").
import fs from 'node:fs';
import path from 'node:path';

import type { ExecutionContext } from 'ava';

import { detachAll, ensureAttachments, linksDir, tcAttachKind, type AttachmentSpec, type EnsureOptions } from '../../src/agent/attach.js';
import { loadDatapath, objectPath, type Datapath } from '../../src/agent/datapath.js';
import { Collection, listAttached, overrideFeature, type AttachedPrograms } from '../../src/bpf/index.js';
import { agentctlJson } from '../helpers/agentctl.js';
import { makePinDir, type PinDir } from '../helpers/bpffs.js';
import { addVeth, createNetns, type TestNetns } from '../helpers/netns.js';
import { privileged } from '../helpers/privileged.js';

interface Setup {
  ns: TestNetns;
  pins: PinDir;
  dp: Datapath;
  dir: string;
}

function setup(t: ExecutionContext): Setup {
  const ns = createNetns();
  t.teardown(() => ns.destroy());
  const pins = makePinDir();
  t.teardown(() => pins.cleanup());
  addVeth(ns, 'eth0', 'eth0p');
  addVeth(ns, 'tun0', 'tun0p');
  const dp = loadDatapath(pins.path, ['tc_encap', 'tc_decap']);
  t.teardown(() => dp.close());
  return { ns, pins, dp, dir: linksDir(pins.path) };
}

function specs(dp: Datapath): AttachmentSpec[] {
  return [
    { program: dp.programs.tc_encap, programName: 'tc_encap', iface: 'tun0', point: 'tcx-egress' },
    { program: dp.programs.tc_decap, programName: 'tc_decap', iface: 'eth0', point: 'tcx-ingress' },
  ];
}

/** The TC programs on a device, by name, in the order the kernel runs them, whatever the kind. */
function tcNames(a: AttachedPrograms, dir: 'ingress' | 'egress'): string[] {
  return [...a.tcx[dir], ...a.clsact[dir]].map((p) => p.name);
}

for (const [title, opts] of [
  ['clsact (as without tcx)', { tc: 'clsact' }],
  ["this kernel's default (tcx when the probe finds it)", {}],
] as [string, EnsureOptions][]) {
  privileged.serial(`ensureAttachments, ${title}: attaches, adopts on a second run, replaces in place, removes what is no longer wanted`, (t) => {
    const { ns, dp, dir } = setup(t);
    const kind = opts.tc === 'clsact' ? 'clsact' : tcAttachKind();
    const noop = Collection.load(objectPath('noop'));
    t.teardown(() => noop.close());
    ns.run(() => {
      const first = ensureAttachments(dir, specs(dp), opts);
      t.deepEqual(first.attachments.map((a) => [path.basename(a.pin), a.action, a.kind]), [
        ['tc_encap@tun0', 'attached', kind],
        ['tc_decap@eth0', 'attached', kind],
      ]);
      t.deepEqual(first.removed, []);
      for (const a of first.attachments) t.is(fs.lstatSync(a.pin).isSymbolicLink(), kind === 'clsact', `${a.pin}: a record only for clsact`);
      t.deepEqual(tcNames(listAttached('tun0'), 'egress'), ['tc_encap']);
      t.deepEqual(tcNames(listAttached('eth0'), 'ingress'), ['tc_decap']);
      const attachedKind = listAttached('eth0')[kind === 'clsact' ? 'clsact' : 'tcx'].ingress;
      t.is(attachedKind.length, 1, `tc_decap is a ${kind} attachment`);

      // A restarted agentd: same programs (same tags), so nothing changes.
      const second = ensureAttachments(dir, specs(dp), opts);
      t.deepEqual(second.attachments.map((a) => a.action), ['adopted', 'adopted']);
      t.deepEqual(second.attachments.map((a) => a.progId), first.attachments.map((a) => a.progId));
      t.deepEqual(tcNames(listAttached('tun0'), 'egress'), ['tc_encap'], 'still one filter');

      // Other code at the pin (an older build): replaced in place, the same attachment (link id, or
      // clsact handle and priority) now running the new program, the old one gone.
      const where = () => {
        const a = listAttached('tun0');
        return kind === 'clsact' ? a.clsact.egress.map((f) => [f.handle, f.priority]) : a.tcx.egress.map((p) => p.linkId);
      };
      const before = where();
      const other = ensureAttachments(dir, [{ ...specs(dp)[0]!, program: noop.program('tc_noop') }, specs(dp)[1]!], opts);
      t.deepEqual(other.attachments.map((a) => a.action), ['replaced', 'adopted']);
      t.deepEqual(tcNames(listAttached('tun0'), 'egress'), ['tc_noop']);
      t.deepEqual(where(), before, 'the same attachment, updated');
      t.is(other.attachments[0]!.progId, noop.program('tc_noop').info().id, 'the result names the new program');
      t.deepEqual(fs.readdirSync(dir).sort(), ['tc_decap@eth0', 'tc_encap@tun0'], 'no temporary pins left');
      const back = ensureAttachments(dir, specs(dp), opts);
      t.deepEqual(back.attachments.map((a) => a.action), ['replaced', 'adopted']);
      t.deepEqual(tcNames(listAttached('tun0'), 'egress'), ['tc_encap']);

      // The filter removed behind agentd's back: the record names nothing; a new one is attached.
      if (kind === 'clsact') {
        const f = listAttached('eth0').clsact.ingress[0]!;
        fs.rmSync(path.join(dir, 'tc_decap@eth0'));
        const stale = ensureAttachments(dir, specs(dp).slice(0, 1), opts);
        t.deepEqual(stale.removed, [], 'the record was gone: nothing to remove');
        t.deepEqual(tcNames(listAttached('eth0'), 'ingress'), ['tc_decap'], 'an unrecorded filter is left alone');
        ns.exec('tc', 'filter', 'del', 'dev', 'eth0', 'ingress', 'pref', String(f.priority));
      }
      const fewer = ensureAttachments(dir, specs(dp).slice(1), opts);
      t.deepEqual(fewer.removed, ['tc_encap@tun0']);
      t.deepEqual(fewer.attachments.map((a) => a.action), [kind === 'clsact' ? 'attached' : 'adopted']);
      t.deepEqual(tcNames(listAttached('tun0'), 'egress'), []);
      t.deepEqual(detachAll(dir), ['tc_decap@eth0']);
      t.deepEqual(tcNames(listAttached('eth0'), 'ingress'), []);
      t.deepEqual(fs.readdirSync(dir), []);
    });
  });
}

privileged.serial('agentctl cleanup detaches recorded clsact filters and removes their records; status lists them', async (t) => {
  const { ns, pins, dp, dir } = setup(t);
  ns.run(() => ensureAttachments(dir, specs(dp), { tc: 'clsact' }));
  const status = await agentctlJson<{ tcAttach: string; links: { pin: string; kind: string; ifindex: number }[]; devices: { name: string; attached: { hook: string; program: string }[] }[] }>(
    ['--pin-root', pins.path, 'status', '-o', 'json', '--dev', 'eth0'], { netns: ns.name },
  );
  t.is(status.tcAttach, tcAttachKind());
  t.deepEqual(status.links.map((l) => [path.basename(l.pin), l.kind, l.ifindex > 0]), [
    ['tc_decap@eth0', 'clsact', true],
    ['tc_encap@tun0', 'clsact', true],
  ]);
  t.like(status.devices.find((d) => d.name === 'eth0')?.attached, [{ hook: 'clsact-ingress', program: 'tc_decap' }]);
  const report = await agentctlJson<{ links: string[]; errors: string[] }>(['--pin-root', pins.path, 'cleanup', '-o', 'json'], { netns: ns.name });
  t.deepEqual(report.links.sort(), ['tc_decap@eth0', 'tc_encap@tun0']);
  t.deepEqual(report.errors, []);
  ns.run(() => {
    t.deepEqual(tcNames(listAttached('eth0'), 'ingress'), []);
    t.deepEqual(tcNames(listAttached('tun0'), 'egress'), []);
  });
  t.false(fs.existsSync(dir));
});

privileged.serial('no tcx by the probe (made to answer no; nothing forced): the default attaches clsact filters, records them, adopts them on restart; agentctl cleanup removes them', async (t) => {
  const { ns, pins, dp, dir } = setup(t);
  const restore = overrideFeature('tcx', false);
  t.teardown(restore);
  ns.run(() => {
    t.is(tcAttachKind(), 'clsact');
    const first = ensureAttachments(dir, specs(dp));
    t.deepEqual(first.attachments.map((a) => [path.basename(a.pin), a.action, a.kind, a.linkId]), [
      ['tc_encap@tun0', 'attached', 'clsact', 0],
      ['tc_decap@eth0', 'attached', 'clsact', 0],
    ]);
    for (const a of first.attachments) t.true(fs.lstatSync(a.pin).isSymbolicLink(), `${a.pin}: a record, not a bpffs pin`);
    const restart = ensureAttachments(dir, specs(dp));
    t.deepEqual(restart.attachments.map((a) => a.action), ['adopted', 'adopted']);
  });
  restore(); // listAttached below asks the real probe, so tcx chains are listed too
  ns.run(() => {
    const eth0 = listAttached('eth0');
    t.deepEqual(eth0.tcx.ingress, [], 'no tcx link: the probe\'s answer was followed');
    t.deepEqual(eth0.clsact.ingress.map((f) => f.name), ['tc_decap']);
    t.deepEqual(listAttached('tun0').clsact.egress.map((f) => f.name), ['tc_encap']);
  });
  const report = await agentctlJson<{ links: string[]; errors: string[] }>(['--pin-root', pins.path, 'cleanup', '-o', 'json'], { netns: ns.name });
  t.deepEqual(report.links.sort(), ['tc_decap@eth0', 'tc_encap@tun0']);
  t.deepEqual(report.errors, []);
  ns.run(() => {
    t.deepEqual(tcNames(listAttached('eth0'), 'ingress'), [], 'cleanup detached the recorded filters');
    t.deepEqual(tcNames(listAttached('tun0'), 'egress'), []);
  });
  t.false(fs.existsSync(dir));
});
