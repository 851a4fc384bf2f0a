/**
 * Attaching the datapath programs as pinned bpf_links under `<pinRoot>/links/`, one pin per
 * attachment (`tc_encap@burrow0`, `tc_decap@eth0`, `xdp_decap@eth0`). Pinned links keep the
 * datapath forwarding when agentd exits or is killed; a restarted agentd adopts a pinned link
 * when it still sits on the same interface and runs the same code (same program tag) and does
 * not touch it. Otherwise the program is swapped in place, in one step, by Link.update (XDP and
 * tcx bpf_links: BPF_LINK_UPDATE; netlink XDP: XDP_FLAGS_REPLACE; a clsact filter: replaced at
 * its handle and priority; docs/operations.md, "Upgrades"): nothing is detached before its
 * replacement runs. Pins for attachments no longer wanted (another decap hook, another uplink)
 * are detached and removed. Synchronous: it acts in the calling thread's netns.
 *
 * On a kernel without tcx (before 6.6) the TC programs are cls_bpf filters on a clsact qdisc, and
 * the pin is a record of the filter (src/bpf/link.ts; docs/kernels.md, "Recorded clsact
 * attachments"): adoption, replacement and removal work the same way through it.
 */
import fs from 'node:fs';
import path from 'node:path';

import { addon } from '../bpf/native.js';
import type { DecapHook, DecapHookChoice } from './uplink.js';
import { Program, attachTc, attachXdp, ifindexOf, openLinkPin, type Link, type LinkHook, type LinkKind } from '../bpf/index.js';

/** How TC programs attach on this kernel (probed once): 'tcx', or 'clsact' before 6.6. */
export { tcAttachKind } from '../bpf/index.js';

export type AttachPoint = 'xdp' | 'tcx-ingress' | 'tcx-egress';

export interface AttachmentSpec {
  program: Program;
  /** The program's name (tc_encap, tc_decap, xdp_decap). */
  programName: string;
  iface: string;
  point: AttachPoint;
}

export type AttachAction = 'adopted' | 'attached' | 'replaced';

export interface AttachmentResult {
  pin: string;
  action: AttachAction;
  iface: string;
  point: AttachPoint;
  /** xdp or tcx (bpf_links); xdp-netlink or clsact (recorded) on kernels without those links. */
  kind: LinkKind;
  progId: number;
  /** 0 for the recorded kinds. */
  linkId: number;
}

export function linksDir(pinRoot: string): string {
  return path.join(pinRoot, 'links');
}

/** The pin's file name: `<program>@<iface>` (bpffs names may not contain '.'). */
export function attachmentPinName(spec: Pick<AttachmentSpec, 'programName' | 'iface'>): string {
  return `${spec.programName}@${spec.iface.replace(/\./g, '_')}`;
}

const hookOf: Record<AttachPoint, LinkHook> = { xdp: 'xdp', 'tcx-ingress': 'ingress', 'tcx-egress': 'egress' };

export interface EnsureOptions {
  /** 'auto' (default): tcx when the kernel has it, else clsact; 'clsact' always (tests use it). */
  tc?: 'auto' | 'clsact';
}

function attach(spec: AttachmentSpec, opts: EnsureOptions): Link {
  if (spec.point === 'xdp') return attachXdp(spec.program, spec.iface, { mode: 'native' });
  return attachTc(spec.program, spec.iface, spec.point === 'tcx-ingress' ? 'ingress' : 'egress', opts.tc === 'clsact' ? { prefer: 'clsact' } : {});
}

function openPinnedLink(pin: string): Link | undefined {
  if (!fs.lstatSync(pin, { throwIfNoEntry: false })) return undefined;
  try {
    return openLinkPin(pin);
  } catch {
    fs.rmSync(pin, { force: true }); // not a link (or record) we can use: drop the pin
    return undefined;
  }
}

function result(pin: string, spec: AttachmentSpec, action: AttachAction, link: Link): AttachmentResult {
  const st = link.state();
  return { pin, action, iface: spec.iface, point: spec.point, kind: link.kind, progId: st.progId, linkId: st.linkId };
}

function ensureOne(dir: string, spec: AttachmentSpec, opts: EnsureOptions): AttachmentResult {
  const pin = path.join(dir, attachmentPinName(spec));
  const ifindex = ifindexOf(spec.iface);
  const old = openPinnedLink(pin);
  try {
    if (old) {
      const st = old.state();
      if (st.ifindex === ifindex && st.hook === hookOf[spec.point]) {
        if (sameCodeAndMaps(st.progId, spec.program)) return result(pin, spec, 'adopted', old);
        // In place, every kind (docs/operations.md, "Upgrades"): the same attachment runs the new
        // program from one packet to the next, its pin or record unchanged in name. When the swap
        // is refused (the attachment no longer runs the program we saw), it throws and nothing
        // changes: XDP has one slot per device, so there is no other way without a gap.
        const oldProg = Program.fromId(st.progId);
        try {
          old.update(spec.program, oldProg);
        } finally {
          oldProg.close();
        }
        return result(pin, spec, 'replaced', old);
      }
      // The old link sits on a device that is gone or on another one.
      if (st.ifindex) old.detach();
      old.unpin();
    }
    const link = attach(spec, opts);
    try {
      try {
        link.pin(pin);
      } catch (e) {
        link.detach(); // a recorded kind stays attached without its handle: never leave it unrecorded
        throw e;
      }
      return result(pin, spec, old ? 'replaced' : 'attached', link);
    } finally {
      link.close();
    }
  } finally {
    old?.close();
  }
}

/** Ids of the shared (pinned) maps a program uses; internal maps (.rodata, .bss: a '.' in the name) are per load. */
function sharedMapIds(prog: Program): string {
  const ids: number[] = [];
  for (const id of prog.info().mapIds) {
    let fd: number;
    try {
      fd = addon().fdById('map', id);
    } catch {
      continue;
    }
    try {
      if (!addon().mapInfo(fd).name.includes('.')) ids.push(id);
    } finally {
      addon().closeFd(fd);
    }
  }
  return ids.sort((x, y) => x - y).join(',');
}

/**
 * Whether the program running at a pinned link can stay: the same code (program tag) using the
 * same maps. The tag alone is not enough: it is computed with map references blanked, so after a
 * map migration the old program has the new one's tag but still uses the old map.
 */
function sameCodeAndMaps(progId: number, want: Program): boolean {
  let prog: Program;
  try {
    prog = Program.fromId(progId);
  } catch {
    return false;
  }
  try {
    return prog.info().tag === want.info().tag && sharedMapIds(prog) === sharedMapIds(want);
  } finally {
    prog.close();
  }
}

/**
 * Makes the links under `dir` be exactly `specs`: adopts, attaches or replaces each, then detaches
 * and unpins every other link pinned there. Returns what happened to each spec and the removed pins.
 */
export function ensureAttachments(
  dir: string,
  specs: readonly AttachmentSpec[],
  opts: EnsureOptions = {},
): { attachments: AttachmentResult[]; removed: string[] } {
  fs.mkdirSync(dir, { recursive: true });
  const attachments = specs.map((s) => ensureOne(dir, s, opts));
  const wanted = new Set(attachments.map((a) => path.basename(a.pin)));
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (wanted.has(name)) continue;
    removed.push(name);
    detachPinned(path.join(dir, name));
  }
  return { attachments, removed };
}

/**
 * ensureAttachments for the decap hook `hook` (specsFor gives the attachments with that hook).
 * When agentd chose XDP itself (`requested` 'auto') and the kernel refuses it (a driver without
 * native XDP, an MTU its XDP cannot take), decapsulation falls back to TC: onFallback hears why.
 * An XDP decap asked for by name (`requested` 'xdp') fails instead.
 */
export function ensureDecapAttachments(
  dir: string,
  specsFor: (hook: DecapHook) => AttachmentSpec[],
  hook: DecapHook,
  requested: DecapHookChoice,
  onFallback: (err: unknown) => void,
  opts: EnsureOptions = {},
): { hook: DecapHook; attachments: AttachmentResult[]; removed: string[] } {
  try {
    return { hook, ...ensureAttachments(dir, specsFor(hook), opts) };
  } catch (e) {
    if (hook !== 'xdp' || requested !== 'auto') throw e;
    onFallback(e);
    return { hook: 'tc', ...ensureAttachments(dir, specsFor('tc'), opts) };
  }
}

/** Detaches the link pinned (or recorded) at `pin`, if it is one, and removes the pin. */
export function detachPinned(pin: string): void {
  const link = openPinnedLink(pin);
  if (!link) return;
  try {
    if (link.state().ifindex) link.detach();
  } finally {
    link.unpin();
    link.close();
  }
}

/** Detaches and unpins every link under `dir`; returns the pin names. */
export function detachAll(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  for (const name of names) detachPinned(path.join(dir, name));
  return names;
}
