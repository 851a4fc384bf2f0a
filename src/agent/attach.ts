/**
 * Attaching the datapath programs as pinned bpf_links under `<pinRoot>/links/`, one pin per
 * attachment (`tc_encap@burrow0`, `tc_decap@eth0`, `xdp_decap@eth0`). Pinned links keep the
 * datapath forwarding when agentd exits or is killed; a restarted agentd adopts a pinned link
 * when it still sits on the same interface and runs the same code (same program tag) and does
 * not touch it. Otherwise the link is replaced make-before-break where the hook allows (tcx runs
 * several programs: the new one is added, then the old one removed; XDP has one slot per device,
 * so there the old link goes first). Pins for attachments no longer wanted (another decap hook,
 * another uplink) are detached and removed. Synchronous: it acts in the calling thread's netns.
 */
import fs from 'node:fs';
import path from 'node:path';

import { AttachType, FdLink, Program, attachTc, attachXdp, ifindexOf, type Link } from '../bpf/index.js';

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
  progId: number;
  linkId: number;
}

export function linksDir(pinRoot: string): string {
  return path.join(pinRoot, 'links');
}

/** The pin's file name: `<program>@<iface>` (bpffs names may not contain '.'). */
export function attachmentPinName(spec: Pick<AttachmentSpec, 'programName' | 'iface'>): string {
  return `${spec.programName}@${spec.iface.replace(/\./g, '_')}`;
}

const attachTypeOf: Record<AttachPoint, number> = {
  xdp: AttachType.xdp,
  'tcx-ingress': AttachType.tcx_ingress,
  'tcx-egress': AttachType.tcx_egress,
};

function tagOfProgId(id: number): string | undefined {
  let prog: Program;
  try {
    prog = Program.fromId(id);
  } catch {
    return undefined;
  }
  try {
    return prog.info().tag;
  } finally {
    prog.close();
  }
}

function attach(spec: AttachmentSpec): Link {
  if (spec.point === 'xdp') return attachXdp(spec.program, spec.iface, { mode: 'native' });
  return attachTc(spec.program, spec.iface, spec.point === 'tcx-ingress' ? 'ingress' : 'egress');
}

function openPinnedLink(pin: string): FdLink | undefined {
  if (!fs.existsSync(pin)) return undefined;
  try {
    return FdLink.openPinned(pin);
  } catch {
    fs.rmSync(pin, { force: true }); // not a link we can use: drop the pin
    return undefined;
  }
}

function result(pin: string, spec: AttachmentSpec, action: AttachAction, link: FdLink): AttachmentResult {
  const info = link.info();
  return { pin, action, iface: spec.iface, point: spec.point, progId: info.progId, linkId: info.id };
}

function ensureOne(dir: string, spec: AttachmentSpec): AttachmentResult {
  const pin = path.join(dir, attachmentPinName(spec));
  const ifindex = ifindexOf(spec.iface);
  const old = openPinnedLink(pin);
  try {
    if (old) {
      const info = old.info();
      // XDP links report no attach type: their link type says it all.
      const samePoint = spec.point === 'xdp' ? old.kind === 'xdp' : info.attachType === attachTypeOf[spec.point];
      const sameHook = info.ifindex === ifindex && samePoint;
      if (sameHook && tagOfProgId(info.progId) === spec.program.info().tag) return result(pin, spec, 'adopted', old);
      if (sameHook && spec.point !== 'xdp') {
        const fresh = attach(spec) as FdLink;
        const tmp = `${pin}~new`;
        fs.rmSync(tmp, { force: true });
        fresh.pin(tmp);
        old.detach();
        old.unpin();
        fs.renameSync(tmp, pin);
        try {
          return result(pin, spec, 'replaced', fresh);
        } finally {
          fresh.close();
        }
      }
      // XDP (one program per device), or the old link sits on a device that is gone or another one.
      if (info.ifindex) old.detach();
      old.unpin();
    }
    const link = attach(spec) as FdLink;
    try {
      link.pin(pin);
      return result(pin, spec, old ? 'replaced' : 'attached', link);
    } finally {
      link.close();
    }
  } finally {
    old?.close();
  }
}

/**
 * Makes the links under `dir` be exactly `specs`: adopts, attaches or replaces each, then detaches
 * and unpins every other link pinned there. Returns what happened to each spec and the removed pins.
 */
export function ensureAttachments(dir: string, specs: readonly AttachmentSpec[]): { attachments: AttachmentResult[]; removed: string[] } {
  fs.mkdirSync(dir, { recursive: true });
  const attachments = specs.map((s) => ensureOne(dir, s));
  const wanted = new Set(attachments.map((a) => path.basename(a.pin)));
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (wanted.has(name)) continue;
    removed.push(name);
    detachPinned(path.join(dir, name));
  }
  return { attachments, removed };
}

/** Detaches the link pinned at `pin` (if it is one) and removes the pin. */
export function detachPinned(pin: string): void {
  const link = openPinnedLink(pin);
  if (!link) return;
  try {
    if (link.info().ifindex) link.detach();
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
