// What is attached to an interface, from the kernel's point of view (not from our handles): the
// XDP program and its mode, the tcx chains, and the cls_bpf filters of a clsact qdisc.
import { AttachType, XdpAttachedMode } from './constants.js';
import { ErrNotExist, nativeCall } from './errors.js';
import { haveTcx } from './features.js';
import { addon, type TcPoint } from './native.js';
import { ifindexOf } from './netns.js';

export interface AttachedProgram {
  progId: number;
  /** The kernel's name (at most 15 characters); '' if the program vanished meanwhile. */
  name: string;
}

export interface AttachedTcx extends AttachedProgram {
  linkId: number;
}

export interface AttachedClsact extends AttachedProgram {
  handle: number;
  priority: number;
  /** The filter's own label (tc's "name"), usually the object file and section. */
  filterName: string | undefined;
  directAction: boolean;
}

export interface AttachedPrograms {
  ifindex: number;
  xdp: (AttachedProgram & { mode: string }) | null;
  tcx: { ingress: AttachedTcx[]; egress: AttachedTcx[] };
  clsact: { ingress: AttachedClsact[]; egress: AttachedClsact[] };
}

function progName(id: number): string {
  const n = addon();
  let fd: number;
  try {
    fd = nativeCall(() => n.fdById('prog', id));
  } catch (e) {
    if (e instanceof ErrNotExist) return '';
    throw e;
  }
  try {
    return nativeCall(() => n.progInfo(fd)).name;
  } finally {
    n.closeFd(fd);
  }
}

function tcx(ifindex: number, point: TcPoint): AttachedTcx[] {
  if (!haveTcx()) return []; // the probe, not an errno: a kernel without tcx has no tcx chains
  const type = point === 'ingress' ? AttachType.tcx_ingress : AttachType.tcx_egress;
  const q = nativeCall(() => addon().progQuery(ifindex, type));
  return q.progIds.map((progId, i) => ({ progId, name: progName(progId), linkId: q.linkIds[i] ?? 0 }));
}

function clsact(ifindex: number, point: TcPoint): AttachedClsact[] {
  // No clsact qdisc: the filter dump is empty.
  const filters = nativeCall(() => addon().tcList(ifindex, point));
  return filters.map((f) => ({
    progId: f.progId,
    name: progName(f.progId),
    handle: f.handle,
    priority: f.priority,
    filterName: f.name,
    directAction: f.directAction ?? false,
  }));
}

/** Lists in the current network namespace (see withNetns). */
export function listAttached(iface: string | number): AttachedPrograms {
  const ifindex = ifindexOf(iface);
  const x = nativeCall(() => addon().xdpQuery(ifindex));
  // In "multi" mode (native and generic at once) progId is 0 and the per-mode ids are set.
  const xdpId = x.progId || x.drvProgId || x.skbProgId || x.hwProgId;
  const mode = XdpAttachedMode[x.mode as keyof typeof XdpAttachedMode] ?? `unknown(${x.mode})`;
  return {
    ifindex,
    xdp: xdpId ? { progId: xdpId, name: progName(xdpId), mode } : null,
    tcx: { ingress: tcx(ifindex, 'ingress'), egress: tcx(ifindex, 'egress') },
    clsact: { ingress: clsact(ifindex, 'ingress'), egress: clsact(ifindex, 'egress') },
  };
}
