// Attaching programs to interfaces. Preferred: bpf_links (XDP link, tcx link), which belong to an
// fd, can be pinned, and detach when the last reference goes. Fallbacks for kernels without them:
// XDP through netlink and TC through a clsact qdisc with a cls_bpf filter; those attachments
// outlive the process, so their Link objects detach explicitly and cannot be pinned.
import fs from 'node:fs';

import { AttachType, LinkType, nameOf, XdpFlag } from './constants.js';
import { BpfError, ErrExist, ErrNotSupported, nativeCall } from './errors.js';
import { addon, type NativeError, type TcPoint } from './native.js';
import { ifindexOf } from './netns.js';
import type { Program } from './program.js';

export type LinkKind = 'xdp' | 'tcx' | 'xdp-netlink' | 'clsact';
export type TcDirection = TcPoint;

export interface Link {
  readonly kind: LinkKind;
  readonly ifindex: number;
  readonly progId: number;
  /** Keeps the attachment after this process exits (bpf_link kinds only). */
  pin(path: string): void;
  unpin(): void;
  /** Removes the program from the hook now. */
  detach(): void;
  /** Releases this handle. An unpinned bpf_link detaches; netlink attachments stay. */
  close(): void;
}

export interface LinkInfo {
  type: number;
  typeName: string;
  id: number;
  progId: number;
  /** 0 once the interface is gone or the link was detached. */
  ifindex: number | undefined;
  attachType: number | undefined;
}

/** A bpf_link: XDP or tcx. */
export class FdLink implements Link {
  private pinnedAt: string | undefined;
  private closed = false;

  /** Takes ownership of `fd`. */
  constructor(
    readonly fd: number,
    readonly kind: 'xdp' | 'tcx',
    readonly ifindex: number,
    readonly progId: number,
  ) {}

  static openPinned(path: string): FdLink {
    const fd = nativeCall(() => addon().objGet(path));
    const i = nativeCall(() => addon().linkInfo(fd));
    const kind = i.type === LinkType.xdp ? 'xdp' : i.type === LinkType.tcx ? 'tcx' : undefined;
    if (!kind) {
      addon().closeFd(fd);
      throw new TypeError(`${path} is a ${nameOf(LinkType, i.type)} link, not an XDP or tcx link`);
    }
    const link = new FdLink(fd, kind, i.ifindex ?? 0, i.progId);
    link.pinnedAt = path;
    return link;
  }

  get pinPath(): string | undefined {
    return this.pinnedAt;
  }

  info(): LinkInfo {
    const i = nativeCall(() => addon().linkInfo(this.fd));
    return { type: i.type, typeName: nameOf(LinkType, i.type), id: i.id, progId: i.progId, ifindex: i.ifindex, attachType: i.attachType };
  }

  pin(path: string): void {
    nativeCall(() => addon().objPin(this.fd, path));
    this.pinnedAt = path;
  }

  unpin(): void {
    if (this.pinnedAt === undefined) return;
    fs.rmSync(this.pinnedAt, { force: true });
    this.pinnedAt = undefined;
  }

  detach(): void {
    nativeCall(() => addon().linkDetach(this.fd));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    nativeCall(() => addon().closeFd(this.fd));
  }
}

function notPinnable(kind: LinkKind): never {
  const e: NativeError = Object.assign(new Error(`a ${kind} attachment is not a bpf_link and cannot be pinned`), {
    code: 'EOPNOTSUPP',
    errno: 95,
    syscall: 'pin',
  });
  throw new ErrNotSupported(e);
}

/** XDP attached through netlink: stays until detached, even after this process exits. */
export class XdpNetlinkLink implements Link {
  readonly kind = 'xdp-netlink';
  constructor(
    readonly ifindex: number,
    readonly progId: number,
    private readonly flags: number,
  ) {}
  pin(): void {
    notPinnable(this.kind);
  }
  unpin(): void {}
  detach(): void {
    // Only our program: if someone replaced it, the kernel refuses instead of detaching theirs.
    const fd = nativeCall(() => addon().fdById('prog', this.progId));
    try {
      nativeCall(() => addon().xdpDetach(this.ifindex, this.flags & (XdpFlag.skbMode | XdpFlag.drvMode), fd));
    } finally {
      addon().closeFd(fd);
    }
  }
  close(): void {}
}

/** A cls_bpf filter on a clsact qdisc: stays until detached. */
export class ClsactLink implements Link {
  readonly kind = 'clsact';
  constructor(
    readonly ifindex: number,
    readonly progId: number,
    readonly direction: TcDirection,
    readonly handle: number,
    readonly priority: number,
  ) {}
  pin(): void {
    notPinnable(this.kind);
  }
  unpin(): void {}
  detach(): void {
    nativeCall(() => addon().tcDetach(this.ifindex, this.direction, this.handle, this.priority));
  }
  close(): void {}
}

/** Link creation failed because this kernel lacks the link type (not because of the request). */
function linkUnsupported(e: unknown): boolean {
  return e instanceof ErrNotSupported || (e instanceof BpfError && e.code === 'EINVAL');
}

export interface XdpAttachOptions {
  /** 'native' (driver), 'generic' (skb), or the kernel's choice (native when the driver has it). */
  mode?: 'native' | 'generic';
  /** 'link' (default) falls back to netlink only when XDP links are unsupported. */
  prefer?: 'link' | 'netlink';
}

/** Attaches in the current network namespace (see withNetns). */
export function attachXdp(prog: Program, iface: string | number, opts: XdpAttachOptions = {}): Link {
  const ifindex = ifindexOf(iface);
  const flags = opts.mode === 'native' ? XdpFlag.drvMode : opts.mode === 'generic' ? XdpFlag.skbMode : 0;
  const progId = prog.info().id;
  if (opts.prefer !== 'netlink') {
    try {
      const fd = nativeCall(() => addon().linkCreate(prog.fd, ifindex, AttachType.xdp, flags));
      return new FdLink(fd, 'xdp', ifindex, progId);
    } catch (e) {
      if (!linkUnsupported(e)) throw e;
    }
  }
  // UPDATE_IF_NOEXIST: never silently replace a program someone else attached (EBUSY instead).
  nativeCall(() => addon().xdpAttach(ifindex, prog.fd, flags | XdpFlag.updateIfNoexist));
  return new XdpNetlinkLink(ifindex, progId, flags);
}

export interface TcAttachOptions {
  /** 'tcx' (default) falls back to clsact only when tcx links are unsupported. */
  prefer?: 'tcx' | 'clsact';
  /** clsact only: filter priority and handle (0: the kernel picks). */
  priority?: number;
  handle?: number;
}

/** Attaches in the current network namespace (see withNetns). */
export function attachTc(prog: Program, iface: string | number, direction: TcDirection, opts: TcAttachOptions = {}): Link {
  if (direction !== 'ingress' && direction !== 'egress') throw new TypeError(`direction must be 'ingress' or 'egress'`);
  const ifindex = ifindexOf(iface);
  const progId = prog.info().id;
  if (opts.prefer !== 'clsact') {
    const type = direction === 'ingress' ? AttachType.tcx_ingress : AttachType.tcx_egress;
    try {
      const fd = nativeCall(() => addon().linkCreate(prog.fd, ifindex, type, 0));
      return new FdLink(fd, 'tcx', ifindex, progId);
    } catch (e) {
      if (!linkUnsupported(e)) throw e;
    }
  }
  try {
    nativeCall(() => addon().tcHookCreate(ifindex, direction));
  } catch (e) {
    if (!(e instanceof ErrExist)) throw e; // a clsact qdisc is already there: share it
  }
  const r = nativeCall(() =>
    addon().tcAttach(ifindex, direction, prog.fd, { handle: opts.handle ?? 0, priority: opts.priority ?? 0 }),
  );
  return new ClsactLink(ifindex, r.progId, direction, r.handle, r.priority);
}
