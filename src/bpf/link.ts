// Attaching programs to interfaces. Preferred: bpf_links (XDP link, tcx link), which belong to an
// fd, can be pinned, and detach when the last reference goes. Fallbacks for kernels without them:
// XDP through netlink and TC through a clsact qdisc with a cls_bpf filter (tcx came in 6.6; whether
// this kernel has it is probed once, haveTcx). Those attachments outlive the process and are not
// objects bpffs can pin, so their Link objects detach explicitly and "pin" a record instead: a
// symlink whose target names the attachment (docs/kernels.md, "Recorded clsact attachments"),
// which openLinkPin reads back like a pinned link.
import fs from 'node:fs';

import { AttachType, LinkType, nameOf, ProgType, XdpFlag } from './constants.js';
import { BpfError, ErrClosed, ErrExist, ErrNotExist, invalid, nativeCall } from './errors.js';
import { addon, type TcPoint } from './native.js';
import { haveTcx, haveXdpLink } from './features.js';
import { ifindexOf, ifnameOf } from './netns.js';
import { removePin } from './pin.js';
import type { Program } from './program.js';

export type LinkKind = 'xdp' | 'tcx' | 'xdp-netlink' | 'clsact';
export type TcDirection = TcPoint;

export type LinkHook = 'xdp' | TcDirection;

/** Where an attachment is now, from the kernel's point of view. */
export interface LinkState {
  /** The interface it is attached to; 0 once detached, or gone with its interface. */
  ifindex: number;
  progId: number;
  hook: LinkHook;
  /** The bpf_link's id; 0 for netlink attachments (xdp-netlink, clsact). */
  linkId: number;
}

export interface Link {
  readonly kind: LinkKind;
  readonly ifindex: number;
  readonly progId: number;
  /**
   * bpf_links: pins the link, which keeps it attached after this process exits. xdp-netlink and
   * clsact (attached until detached anyway): writes a record at `path` (a symlink naming the
   * attachment) that openLinkPin reads back. Either fails with EEXIST when `path` exists.
   */
  pin(path: string): void;
  /** Removes the pin (or record) this handle made or was opened from. */
  unpin(): void;
  /** Removes the program from the hook now. */
  detach(): void;
  /**
   * Runs `prog` at this attachment from now on, in one step: no moment without a program, the
   * same place in the hook's order, the same pin (a record is rewritten to name `prog`). xdp and
   * tcx: BPF_LINK_UPDATE; xdp-netlink: XDP_FLAGS_REPLACE; clsact: the filter at the same handle
   * and priority replaced. With `expected`, refused when the attachment no longer runs it
   * (xdp-netlink and clsact: when it no longer runs this handle's program either).
   */
  update(prog: Program, expected?: Program): void;
  /** Releases this handle. An unpinned bpf_link detaches; netlink attachments stay. */
  close(): void;
  state(): LinkState;
  readonly pinPath: string | undefined;
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
    private runs: number,
  ) {}

  /** The fd, or ErrClosed once close() ran (the number may be another object's by now). */
  private open(): number {
    if (this.closed) throw ErrClosed.of('EBADF', `${this.kind} link`, `${this.kind} link on ifindex ${this.ifindex} is closed`);
    return this.fd;
  }

  /** The program this handle attached or last updated to (state() asks the kernel). */
  get progId(): number {
    return this.runs;
  }

  static openPinned(path: string): FdLink {
    const fd = nativeCall(() => addon().objGet(path));
    const i = nativeCall(() => addon().linkInfo(fd));
    const kind = i.type === LinkType.xdp ? 'xdp' : i.type === LinkType.tcx ? 'tcx' : undefined;
    if (!kind) {
      addon().closeFd(fd);
      throw invalid('openLinkPin', `${path} is a ${nameOf(LinkType, i.type)} link, not an XDP or tcx link`);
    }
    const link = new FdLink(fd, kind, i.ifindex ?? 0, i.progId);
    link.pinnedAt = path;
    return link;
  }

  get pinPath(): string | undefined {
    return this.pinnedAt;
  }

  state(): LinkState {
    const i = this.info();
    const hook: LinkHook = this.kind === 'xdp' ? 'xdp' : i.attachType === AttachType.tcx_egress ? 'egress' : 'ingress';
    return { ifindex: i.ifindex ?? 0, progId: i.progId, hook, linkId: i.id };
  }

  info(): LinkInfo {
    const i = nativeCall(() => addon().linkInfo(this.open()));
    return { type: i.type, typeName: nameOf(LinkType, i.type), id: i.id, progId: i.progId, ifindex: i.ifindex, attachType: i.attachType };
  }

  pin(path: string): void {
    nativeCall(() => addon().objPin(this.open(), path));
    this.pinnedAt = path;
  }

  unpin(): void {
    this.pinnedAt = removePin(this.pinnedAt);
  }

  detach(): void {
    nativeCall(() => addon().linkDetach(this.open()));
  }

  /**
   * BPF_LINK_UPDATE: the link runs `prog` from now on, in one step: the same link (id, pin), no
   * moment without a program. With `expected`, the kernel refuses when the link no longer runs it.
   */
  update(prog: Program, expected?: Program): void {
    checkProgType(prog, this.kind === 'xdp' ? 'xdp' : 'tc', 'Link.update');
    nativeCall(() => addon().linkUpdate(this.open(), prog.fd, expected?.fd), `${this.kind} link`);
    this.runs = prog.info().id;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    nativeCall(() => addon().closeFd(this.fd));
  }
}

// ---- records: how xdp-netlink and clsact attachments are "pinned" --------------------------------

const RECORD_PREFIX = 'burrow-link:';

function writeRecord(path: string, kind: LinkKind, fields: Record<string, string | number>): void {
  const body = Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(',');
  fs.symlinkSync(`${RECORD_PREFIX}${kind}:${body}`, path);
}

/** The record at `path`, or undefined when `path` is not a symlink holding one. */
function readRecord(path: string): { kind: string; fields: Map<string, string> } | undefined {
  let target: string;
  try {
    target = fs.readlinkSync(path);
  } catch {
    return undefined;
  }
  if (!target.startsWith(RECORD_PREFIX)) return undefined;
  const rest = target.slice(RECORD_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon < 0) return undefined;
  const fields = new Map<string, string>();
  for (const kv of rest.slice(colon + 1).split(',')) {
    const eq = kv.indexOf('=');
    if (eq > 0) fields.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return { kind: rest.slice(0, colon), fields };
}

function recordNumber(path: string, fields: Map<string, string>, key: string): number {
  const v = fields.get(key);
  const n = v === undefined ? NaN : Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw invalid('openLinkPin', `${path}: the link record has no valid ${key}`);
  return n;
}

/**
 * The program running at this clsact filter, or 0 when there is no such filter. Read from the
 * filter dump, which is empty without a qdisc or a device (a query for one filter answers EINVAL
 * when the qdisc has no filter at all, an errno that says nothing certain).
 */
function clsactProgAt(ifindex: number, direction: TcDirection, handle: number, priority: number): number {
  const f = nativeCall(() => addon().tcList(ifindex, direction)).find((x) => x.handle === handle && x.priority === priority);
  return f?.progId ?? 0;
}

/** The program XDP runs on `ifindex` in the mode of `flags` (0: whichever mode). */
function xdpProgAt(ifindex: number, flags: number): number {
  let q;
  try {
    q = nativeCall(() => addon().xdpQuery(ifindex));
  } catch (e) {
    if (e instanceof ErrNotExist) return 0; // the device is gone
    throw e;
  }
  if (flags & XdpFlag.skbMode) return q.skbProgId || (q.progId === q.skbProgId ? q.progId : 0);
  if (flags & XdpFlag.drvMode) return q.drvProgId || (q.progId === q.drvProgId ? q.progId : 0);
  return q.progId || q.drvProgId || q.skbProgId;
}

/** A record-backed Link: attached until detached; pin() writes a record. */
abstract class RecordedLink {
  protected recordAt: string | undefined;

  get pinPath(): string | undefined {
    return this.recordAt;
  }

  protected abstract recordFields(): Record<string, string | number>;
  abstract readonly kind: LinkKind;

  pin(path: string): void {
    writeRecord(path, this.kind, this.recordFields());
    this.recordAt = path;
  }

  unpin(): void {
    this.recordAt = removePin(this.recordAt);
  }

  /** After an update: the record names what runs now (written aside, renamed over the old one). */
  protected rewriteRecord(): void {
    if (this.recordAt === undefined) return;
    const tmp = `${this.recordAt}~new`;
    fs.rmSync(tmp, { force: true });
    writeRecord(tmp, this.kind, this.recordFields());
    fs.renameSync(tmp, this.recordAt);
  }

  close(): void {}
}

/** XDP attached through netlink: stays until detached, even after this process exits. */
export class XdpNetlinkLink extends RecordedLink implements Link {
  readonly kind = 'xdp-netlink';
  constructor(
    readonly ifindex: number,
    private runs: number,
    private readonly flags: number,
  ) {
    super();
  }
  get progId(): number {
    return this.runs;
  }
  protected recordFields(): Record<string, string | number> {
    return { ifindex: this.ifindex, flags: this.flags, prog: this.progId };
  }
  static fromRecord(path: string, fields: Map<string, string>): XdpNetlinkLink {
    const link = new XdpNetlinkLink(recordNumber(path, fields, 'ifindex'), recordNumber(path, fields, 'prog'), recordNumber(path, fields, 'flags'));
    link.recordAt = path;
    return link;
  }
  state(): LinkState {
    const attached = xdpProgAt(this.ifindex, this.flags) === this.progId;
    return { ifindex: attached ? this.ifindex : 0, progId: this.progId, hook: 'xdp', linkId: 0 };
  }
  /**
   * Netlink with XDP_FLAGS_REPLACE and the expected old program (`expected`, else ours): the
   * device runs `prog` from now on, in one step; refused (EEXIST) when that program is no longer
   * the one there.
   */
  update(prog: Program, expected?: Program): void {
    checkProgType(prog, 'xdp', 'Link.update');
    const old = expected ? undefined : nativeCall(() => addon().fdById('prog', this.progId));
    try {
      nativeCall(() => addon().xdpAttach(this.ifindex, prog.fd, this.flags & (XdpFlag.skbMode | XdpFlag.drvMode), expected?.fd ?? old), 'xdp-netlink update');
    } finally {
      if (old !== undefined) addon().closeFd(old);
    }
    this.runs = prog.info().id;
    this.rewriteRecord();
  }
  detach(): void {
    // Only our program: if someone replaced it, the kernel refuses instead of detaching theirs.
    const fd = nativeCall(() => addon().fdById('prog', this.progId));
    try {
      nativeCall(() => addon().xdpDetach(this.ifindex, this.flags & (XdpFlag.skbMode | XdpFlag.drvMode), fd));
    } finally {
      addon().closeFd(fd);
    }
  }
}

/** A cls_bpf filter on a clsact qdisc: stays until detached. */
export class ClsactLink extends RecordedLink implements Link {
  readonly kind = 'clsact';
  constructor(
    readonly ifindex: number,
    private runs: number,
    readonly direction: TcDirection,
    readonly handle: number,
    readonly priority: number,
  ) {
    super();
  }
  get progId(): number {
    return this.runs;
  }
  protected recordFields(): Record<string, string | number> {
    return { ifindex: this.ifindex, direction: this.direction, handle: this.handle, priority: this.priority, prog: this.progId };
  }
  static fromRecord(path: string, fields: Map<string, string>): ClsactLink {
    const direction = fields.get('direction');
    if (direction !== 'ingress' && direction !== 'egress') throw invalid('openLinkPin', `${path}: the link record has no valid direction`);
    const link = new ClsactLink(
      recordNumber(path, fields, 'ifindex'),
      recordNumber(path, fields, 'prog'),
      direction,
      recordNumber(path, fields, 'handle'),
      recordNumber(path, fields, 'priority'),
    );
    link.recordAt = path;
    return link;
  }
  /** Attached while the filter at our handle and priority still runs our program. */
  state(): LinkState {
    const attached = clsactProgAt(this.ifindex, this.direction, this.handle, this.priority) === this.progId;
    return { ifindex: attached ? this.ifindex : 0, progId: this.progId, hook: this.direction, linkId: 0 };
  }
  /** Throws ErrNotExist unless the filter at our handle and priority runs `progId`. */
  private expectRunning(progId: number, op: string): void {
    if (clsactProgAt(this.ifindex, this.direction, this.handle, this.priority) === progId) return;
    throw ErrNotExist.of('ENOENT', op, `no clsact filter of program ${progId} at ${this.direction} handle ${this.handle} priority ${this.priority} of ifindex ${this.ifindex}`);
  }
  detach(): void {
    // Only our filter: another program at the same handle and priority is someone else's.
    this.expectRunning(this.progId, 'tc detach');
    nativeCall(() => addon().tcDetach(this.ifindex, this.direction, this.handle, this.priority));
  }
  /**
   * The cls_bpf filter at our handle and priority replaced (tc's "replace"): the kernel swaps the
   * filter's program in one step. Only a filter that runs `expected` (else ours) is replaced;
   * netlink has no compare-and-swap, so this is checked just before.
   */
  update(prog: Program, expected?: Program): void {
    checkProgType(prog, 'tc', 'Link.update');
    this.expectRunning(expected?.info().id ?? this.progId, 'tc update');
    const r = nativeCall(() =>
      addon().tcAttach(this.ifindex, this.direction, prog.fd, { handle: this.handle, priority: this.priority, replace: true }), 'clsact update');
    this.runs = r.progId;
    this.rewriteRecord();
  }
}

/**
 * Opens what `pin` holds: a pinned bpf_link (XDP, tcx) or a record written by an xdp-netlink or
 * clsact Link's pin(). Throws when it is neither (ENOENT when nothing is there).
 */
export function openLinkPin(pin: string): Link {
  const st = fs.lstatSync(pin);
  if (st.isSymbolicLink()) {
    const r = readRecord(pin);
    if (r?.kind === 'clsact') return ClsactLink.fromRecord(pin, r.fields);
    if (r?.kind === 'xdp-netlink') return XdpNetlinkLink.fromRecord(pin, r.fields);
    throw invalid('openLinkPin', `${pin} is a symlink but not a link record`);
  }
  return FdLink.openPinned(pin);
}

// ---- arguments, checked before the syscall -----------------------------------------------------

const hookProgTypes: Record<'xdp' | 'tc', readonly number[]> = { xdp: [ProgType.xdp], tc: [ProgType.sched_cls, ProgType.sched_act] };

/** The kernel would answer a program of another type with a bare EINVAL; this says which. */
function checkProgType(prog: Program, hook: 'xdp' | 'tc', op: string): void {
  if (hookProgTypes[hook].includes(prog.type)) return;
  const want = hook === 'xdp' ? 'xdp' : 'sched_cls (SEC("tc"))';
  throw BpfError.of('EINVAL', op, `${op}: program '${prog.name}' is of type ${nameOf(ProgType, prog.type)}; the ${hook === 'xdp' ? 'XDP' : 'TC'} hook runs ${want} programs`);
}

/** The ifindex of `iface`, which must exist in this network namespace (ErrNotExist otherwise). */
function existingIfindex(iface: string | number, op: string): number {
  if (typeof iface === 'string') {
    try {
      return ifindexOf(iface);
    } catch (e) {
      if (e instanceof BpfError) throw ErrNotExist.of('ENODEV', op, `${op}: no interface '${iface}' in this network namespace`);
      throw e;
    }
  }
  const ifindex = ifindexOf(iface);
  try {
    ifnameOf(ifindex);
  } catch (e) {
    if (e instanceof BpfError) throw ErrNotExist.of('ENODEV', op, `${op}: no interface with ifindex ${ifindex} in this network namespace`);
    throw e;
  }
  return ifindex;
}

/** How attachTc attaches on this kernel by default: 'tcx', or 'clsact' without tcx. */
export function tcAttachKind(): 'tcx' | 'clsact' {
  return haveTcx() ? 'tcx' : 'clsact';
}

export interface XdpAttachOptions {
  /** 'native' (driver), 'generic' (skb), or the kernel's choice (native when the driver has it). */
  mode?: 'native' | 'generic';
  /** 'link' (default) uses netlink when the kernel has no XDP links (haveXdpLink). */
  prefer?: 'link' | 'netlink';
}

/** Attaches in the current network namespace (see withNetns). */
export function attachXdp(prog: Program, iface: string | number, opts: XdpAttachOptions = {}): Link {
  checkProgType(prog, 'xdp', 'attachXdp');
  const ifindex = existingIfindex(iface, 'attachXdp');
  const flags = opts.mode === 'native' ? XdpFlag.drvMode : opts.mode === 'generic' ? XdpFlag.skbMode : 0;
  const progId = prog.info().id;
  if (opts.prefer !== 'netlink' && haveXdpLink()) {
    const fd = nativeCall(() => addon().linkCreate(prog.fd, ifindex, AttachType.xdp, flags));
    return new FdLink(fd, 'xdp', ifindex, progId);
  }
  // UPDATE_IF_NOEXIST: never silently replace a program someone else attached (EBUSY instead).
  nativeCall(() => addon().xdpAttach(ifindex, prog.fd, flags | XdpFlag.updateIfNoexist));
  return new XdpNetlinkLink(ifindex, progId, flags);
}

export interface TcAttachOptions {
  /** 'tcx' (default) uses clsact when the kernel has no tcx (haveTcx). */
  prefer?: 'tcx' | 'clsact';
  /** clsact only: filter priority and handle (0: the kernel picks). */
  priority?: number;
  handle?: number;
}

/** Attaches in the current network namespace (see withNetns). */
export function attachTc(prog: Program, iface: string | number, direction: TcDirection, opts: TcAttachOptions = {}): Link {
  if (direction !== 'ingress' && direction !== 'egress') throw BpfError.of('EINVAL', 'attachTc', `attachTc: direction must be 'ingress' or 'egress', not '${String(direction)}'`);
  checkProgType(prog, 'tc', 'attachTc');
  const ifindex = existingIfindex(iface, 'attachTc');
  const progId = prog.info().id;
  if (opts.prefer !== 'clsact' && haveTcx()) {
    const type = direction === 'ingress' ? AttachType.tcx_ingress : AttachType.tcx_egress;
    const fd = nativeCall(() => addon().linkCreate(prog.fd, ifindex, type, 0));
    return new FdLink(fd, 'tcx', ifindex, progId);
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
